"""Contesting a debt and reporting a contact that is not the person's."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from collection.services.debtor_access import DebtorAccess
from collection.services.disputes import (
    KINDS,
    DisputeError,
    debt_of_person,
    open_dispute,
    report_not_mine,
)
from debtor_site.agreements import verified

AnyRequest = Request[Any, Any, Any]


class RightsController(Controller):
    path = "/"

    @get("/contestar/{debt_id:uuid}", name="site.dispute_page")
    async def dispute_page(
        self, request: AnyRequest, debt_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        person = await verified(request)
        if person is None:
            return Redirect("/?expirou=1")
        access: DebtorAccess = request.app.state.debtor_access
        debt = await debt_of_person(access.db, person.cpf_hash, debt_id)
        if debt is None:
            raise NotFoundException()
        return Template("site/dispute.html", context={"debt": debt, "kinds": KINDS, "errors": {}})

    @post("/contestar/{debt_id:uuid}", name="site.dispute")
    async def dispute(
        self, request: AnyRequest, debt_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        person = await verified(request)
        if person is None:
            return Redirect("/?expirou=1")
        access: DebtorAccess = request.app.state.debtor_access
        form = await request.form()
        try:
            await open_dispute(
                access.db,
                person.cpf_hash,
                debt_id,
                str(form.get("kind", "")),
                str(form.get("text", "")),
                ip=request.client.host if request.client else "",
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        except DisputeError as exc:
            debt = await debt_of_person(access.db, person.cpf_hash, debt_id)
            return Template(
                "site/dispute.html",
                status_code=400,
                context={"debt": debt, "kinds": KINDS, "errors": {"kind": exc.message}},
            )
        return Redirect("/minhas-dividas?contestada=1")

    @post("/contatos/{contact_id:uuid}/nao-e-meu", name="site.not_mine")
    async def not_mine(self, request: AnyRequest, contact_id: FromPath[uuid.UUID]) -> Redirect:
        person = await verified(request)
        if person is None:
            return Redirect("/?expirou=1")
        access: DebtorAccess = request.app.state.debtor_access
        try:
            await report_not_mine(
                access.db,
                person.cpf_hash,
                contact_id,
                now=access.clock.now(),
                ip=request.client.host if request.client else "",
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        return Redirect("/minhas-dividas?contato=1")
