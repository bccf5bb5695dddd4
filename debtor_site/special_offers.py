"""The debtor sees and accepts the special offers the creditor approved.

An offer that is not this verified person's, or that the creditor has not approved, is
"not found"; an expired one says so; an accepted one leads to its agreement.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from collection.debtor.access import DebtorAccess, Person
from collection.domain.documents import format_cnpj
from collection.models import SpecialOfferStatus
from collection.negotiation import special_offers
from collection.negotiation.acceptance import REASONS
from core.clock import local_today
from core.errors import Refusal
from debtor_site.lookup import NO_STORE, PERSON, client_ip

AnyRequest = Request[Any, Any, Any]


def _unavailable(message: str | None, status_code: int = 409) -> Template:
    return Template(
        "site/offer_unavailable.html", status_code=status_code, context={"message": message}
    )


class SiteSpecialOffersController(Controller):
    path = "/ofertas-especiais"
    dependencies = PERSON
    cache_control = NO_STORE

    @get("/{offer_id:uuid}", name="site.special_offer")
    async def offer(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        offer_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        found = await special_offers.offer_of_person(
            access.db, person.cpf_hash, offer_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        offer, creditor = found
        if offer.status is SpecialOfferStatus.ACCEPTED and offer.agreement_id is not None:
            return Redirect(f"/acordos/{offer.agreement_id}")
        why = special_offers.unavailable(offer, local_today(access.clock))
        if why is not None:
            return _unavailable(why)
        try:
            terms = special_offers.disclosed(offer)
        except special_offers.SpecialOfferRefused as exc:
            return _unavailable(exc.message)
        return Template(
            "site/special_offer.html",
            context={
                "special": offer,
                "creditor": creditor,
                "cnpj": format_cnpj(creditor.cnpj),
                "offer": terms,
                "reasons": REASONS,
                "key": secrets.token_hex(16),
            },
        )

    @post("/{offer_id:uuid}/aceitar", name="site.special_offer.accept")
    async def accept(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        offer_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        key = str(form.get("key", ""))
        if len(key) < 16:
            return _unavailable(None, 400)
        try:
            agreement_id = await special_offers.accept(
                access.db,
                offer_id,
                person.cpf_hash,
                key,
                today=local_today(access.clock),
                ip=client_ip(request),
                tenants=person.tenants,
                reason=str(form.get("reason", "")),
                reason_text=str(form.get("reason_text", "")),
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        except Refusal as exc:  # not approved, expired, or its debts taken meanwhile
            return _unavailable(exc.message)
        return Redirect(f"/acordos/{agreement_id}")
