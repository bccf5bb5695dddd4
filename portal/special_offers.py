"""Special offers: proposed beyond the policy by staff, approved or rejected by the creditor.

The creditor's pages (``/portal/ofertas-especiais``) run on the tenant's session; the
proposal pages (``/propor/{handover_id}``) are agency pages, on a system-scope session
where the hand-over is found through ``agency_access.handover_for_agency`` (any other is
"not found"). Every form works as a plain POST; with htmx, a decision redraws its offer's
card and the proposal form previews the terms as they are typed.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts.service import AccountNotFound
from collection.agency.access import handover_for_agency
from collection.domain.offers import Offer
from collection.models import SpecialOfferStatus
from collection.negotiation import special_offers
from core.clock import Clock, local_today
from core.security import mask_email
from portal.auth import (
    client_ip,
    provide_agency_session,
    provide_principal,
    provide_tenant_session,
    requires,
    requires_agency,
)
from tenants.roles import Permission
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
BASE = "/portal/ofertas-especiais"
APPROVE = [requires(Permission.OFFERS_APPROVE)]
PROPOSE = [requires_agency(Permission.OFFERS_PROPOSE)]
TENANT_SESSION = {"session": Provide(provide_tenant_session)}
AGENCY_SESSION = {"session": Provide(provide_agency_session)}


def _clock(request: AnyRequest) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _htmx(request: AnyRequest) -> bool:
    return bool(request.headers.get("hx-request"))


class SpecialOffersController(Controller):
    path = BASE
    dependencies = {"principal": Provide(provide_principal)}

    # -- the creditor decides ------------------------------------------------------------------

    async def _list(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "portal/special_offers.html",
            status_code=status_code,
            context={
                "principal": principal,
                "pending": await special_offers.pending(session),
                "decided": await special_offers.decided(session),
                "today": local_today(_clock(request)),
                "errors": errors or {},
                "status_label": special_offers.status_label,
                "mask_email": mask_email,
            },
        )

    @get("/", name="portal.special_offers", guards=APPROVE, dependencies=TENANT_SESSION)
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return await self._list(request, session, principal)

    async def _decide(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        offer_id: uuid.UUID,
        approve: bool,
    ) -> Template | Redirect:
        form = await request.form()
        reason = str(form.get("reason", ""))[:500]
        decide = special_offers.approve if approve else special_offers.reject
        clock = _clock(request)
        error = ""
        try:
            await decide(
                session, offer_id, principal.actor(client_ip(request)), reason, clock.now()
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        except special_offers.SpecialOfferRefused as exc:
            error = exc.message
        # A refused approval may have closed the offer as expired: that is kept too.
        await session.commit()
        if _htmx(request):
            return Template(
                "portal/_special_offer.html",
                context={
                    "o": await special_offers.offer_line(session, offer_id),
                    "today": local_today(clock),
                    "error": error,
                    "status_label": special_offers.status_label,
                    "mask_email": mask_email,
                },
            )
        if error:
            return await self._list(
                request, session, principal, errors={str(offer_id): error}, status_code=400
            )
        return Redirect(BASE, status_code=303)

    @post(
        "/{offer_id:uuid}/aprovar",
        name="portal.special_offers.approve",
        guards=APPROVE,
        dependencies=TENANT_SESSION,
    )
    async def approve(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        offer_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        return await self._decide(request, session, principal, offer_id, approve=True)

    @post(
        "/{offer_id:uuid}/recusar",
        name="portal.special_offers.reject",
        guards=APPROVE,
        dependencies=TENANT_SESSION,
    )
    async def reject(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        offer_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        return await self._decide(request, session, principal, offer_id, approve=False)

    # -- agency staff propose ------------------------------------------------------------------

    async def _account(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        handover_id: uuid.UUID,
    ) -> special_offers.ProposalAccount:
        assert principal.agency is not None  # the guard and the session provider ensure it
        try:
            handover = await handover_for_agency(session, principal.agency.agency_id, handover_id)
            return await special_offers.account_for_proposal(
                session,
                special_offers.Account(handover.tenant_id, handover.debtor_id, handover.id),
                local_today(_clock(request)),
            )
        except (AccountNotFound, LookupError) as exc:
            raise NotFoundException() from exc

    def _proposal(
        self,
        principal: Principal,
        page: special_offers.ProposalAccount,
        form: special_offers.TermsForm,
        *,
        errors: dict[str, str] | None = None,
        preview: Offer | None = None,
        sent: bool = False,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "portal/special_offer_propose.html",
            status_code=status_code,
            context={
                "principal": principal,
                "page": page,
                "form": form,
                "errors": errors or {},
                "preview": preview,
                "sent": sent,
                "status_label": special_offers.status_label,
                "statuses": SpecialOfferStatus,
            },
        )

    @get(
        "/propor/{handover_id:uuid}",
        name="portal.special_offers.propose_page",
        guards=PROPOSE,
        dependencies=AGENCY_SESSION,
    )
    async def propose_page(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
        enviada: FromQuery[str] = "",
    ) -> Template:
        page = await self._account(request, session, principal, handover_id)
        form = special_offers.default_form(page, local_today(_clock(request)))
        return self._proposal(principal, page, form, sent=bool(enviada))

    async def _form(self, request: AnyRequest) -> special_offers.TermsForm:
        data = await request.form()
        return special_offers.TermsForm.from_form(
            {k: data.get(k) for k in data}, [str(d) for d in data.getall("debt", [])]
        )

    @post(
        "/propor/{handover_id:uuid}/previa",
        name="portal.special_offers.preview",
        guards=PROPOSE,
        dependencies=AGENCY_SESSION,
        status_code=200,
    )
    async def preview(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template:
        """The terms as the person would see them, for the form's live preview."""
        page = await self._account(request, session, principal, handover_id)
        form = await self._form(request)
        errors: dict[str, str] = {}
        offer = None
        try:
            offer = special_offers.preview(page, form, local_today(_clock(request)))
        except special_offers.TermsInvalid as exc:
            errors = exc.errors
        return Template(
            "portal/_special_offer_preview.html", context={"preview": offer, "errors": errors}
        )

    @post(
        "/propor/{handover_id:uuid}",
        name="portal.special_offers.propose",
        guards=PROPOSE,
        dependencies=AGENCY_SESSION,
        status_code=200,
    )
    async def propose(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        page = await self._account(request, session, principal, handover_id)
        form = await self._form(request)
        clock = _clock(request)
        action = (await request.form()).get("action", "send")
        try:
            if action == "preview":
                offer = special_offers.preview(page, form, local_today(clock))
                return self._proposal(principal, page, form, preview=offer)
            await special_offers.propose(
                session, page, form, principal.actor(client_ip(request)), clock.now()
            )
        except special_offers.TermsInvalid as exc:
            await session.rollback()
            return self._proposal(principal, page, form, errors=exc.errors, status_code=400)
        await session.commit()
        return Redirect(f"{BASE}/propor/{handover_id}?enviada=1", status_code=303)
