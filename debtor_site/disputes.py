"""The person's disputes: each with its protocol number, status and the creditor's
answer (issue 25 item 4)."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from collection.debtor.access import DebtorAccess, Person
from collection.debtor.disputes import disputes_of_person
from debtor_site.lookup import NO_STORE, PERSON


class SiteDisputesController(Controller):
    path = "/contestacoes"
    dependencies = PERSON
    cache_control = NO_STORE

    @get("/", name="site.disputes")
    async def index(
        self, person: NamedDependency[Person], access: NamedDependency[DebtorAccess]
    ) -> Template:
        found = await disputes_of_person(access.db, person.cpf_hash, tenants=person.tenants)
        return Template("site/disputes.html", context={"disputes": found})

    @get("/{dispute_id:uuid}", name="site.dispute_status")
    async def show(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        dispute_id: FromPath[uuid.UUID],
        nova: FromQuery[str] = "",
    ) -> Template:
        found = await disputes_of_person(access.db, person.cpf_hash, tenants=person.tenants)
        for dispute, tenant in found:
            if dispute.id == dispute_id:
                return Template(
                    "site/dispute_status.html",
                    context={"dispute": dispute, "tenant": tenant, "new": bool(nova)},
                )
        raise NotFoundException()
