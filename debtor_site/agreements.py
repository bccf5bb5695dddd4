"""Choosing an offer, accepting it (exactly once) and seeing the agreement."""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from collection.agency.casework import note_visit
from collection.debtor.access import DebtorAccess, Person
from collection.debtor.page import CreditorView, debts_of_person
from collection.domain.affordability import choose_affordable
from collection.domain.agreements import AgreementStatus
from collection.domain.money import InvalidAmount, parse_brl
from collection.escalation.name_clearing import name_statuses
from collection.negotiation.acceptance import (
    REASONS,
    OfferUnavailable,
    Presented,
    accept,
    agreement_of_person,
    offer_for,
)
from collection.negotiation.commitments import commitments
from collection.negotiation.plan_requests import (
    ProposalInvalid,
    ProposalRefused,
    proposal_of_person,
    read_proposal,
    send_proposal,
)
from collection.paperwork import papers as paperwork
from collection.payments.service import (
    PaymentGateway,
    methods_for,
    next_installment,
    payments_of_agreement,
    payoff_of,
)
from core.clock import local_today
from core.i18n import gettext as _
from debtor_site.lookup import NO_STORE, PERSON, client_ip

AnyRequest = Request[Any, Any, Any]


class AgreementsController(Controller):
    path = "/"
    dependencies = PERSON
    cache_control = NO_STORE

    @get("/ofertas/{tenant_id:uuid}/{code:str}", name="site.offer")
    async def offer(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        tenant_id: FromPath[uuid.UUID],
        code: FromPath[str],
        renda: FromQuery[str] = "",
    ) -> Template | Redirect:
        """One offer to review and accept; ``renda`` (centavos) is the income the person
        told on the budget page, carried to the acceptance."""
        income = int(renda) if renda.isdigit() and len(renda) <= 12 else None
        try:
            creditor, offer = await offer_for(
                access.db,
                person.cpf_hash,
                tenant_id,
                code[:30],
                local_today(access.clock),
                tenants=person.tenants,
            )
        except OfferUnavailable as exc:
            return Template(
                "site/offer_unavailable.html", status_code=409, context={"message": exc.message}
            )
        # The creditor sees on the account that the person looked at its offer.
        await note_visit(
            access.db,
            person.cpf_hash,
            "offer_seen",
            {"code": offer.code},
            now=access.clock.now(),
            tenant_id=tenant_id,
        )
        return Template(
            "site/offer.html",
            context={
                "creditor": creditor,
                "offer": offer,
                "reasons": REASONS,
                "key": secrets.token_hex(16),
                "income": income,
            },
        )

    @post("/ofertas/{tenant_id:uuid}/{code:str}/aceitar", name="site.accept")
    async def accept_offer(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        tenant_id: FromPath[uuid.UUID],
        code: FromPath[str],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            presented = Presented(
                code=code[:30],
                total=int(str(form.get("total", ""))),
                valid_until=date.fromisoformat(str(form.get("valid_until"))),
            )
            key = str(form.get("key", ""))
            if len(key) < 16:
                raise ValueError("idempotency key")
            told = str(form.get("income", "")).strip()
            income = int(told) if told else None
            if income is not None and income < 0:
                raise ValueError("income")
        except ValueError:
            return Template(
                "site/offer_unavailable.html", status_code=400, context={"message": None}
            )
        try:
            agreement_id = await accept(
                access.db,
                person.cpf_hash,
                tenant_id,
                presented,
                key=key,
                reason=str(form.get("reason", "")),
                reason_text=str(form.get("reason_text", "")),
                on=local_today(access.clock),
                now=access.clock.now(),
                ip=client_ip(request),
                tenants=person.tenants,
                income=income,
            )
        except OfferUnavailable as exc:
            return Template(
                "site/offer_unavailable.html", status_code=409, context={"message": exc.message}
            )
        return Redirect(f"/acordos/{agreement_id}")

    async def _creditor(
        self, access: DebtorAccess, person: Person, tenant_id: uuid.UUID
    ) -> CreditorView:
        today = local_today(access.clock)
        creditor = next(
            (
                c
                for c in await debts_of_person(
                    access.db, person.cpf_hash, today, tenants=person.tenants
                )
                if c.tenant_id == tenant_id
            ),
            None,
        )
        if creditor is None:
            raise NotFoundException()
        return creditor

    @get("/plano", name="site.fit")
    async def fit(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        credor: FromQuery[uuid.UUID],
        valor: FromQuery[str] = "",
        renda: FromQuery[str] = "",
    ) -> Template | Redirect:
        """The plan that fits what the person says they can pay a month (and their income):
        always one of the offers the debts page lists; when none fits, a proposal form."""
        creditor = await self._creditor(access, person, credor)
        errors: dict[str, str] = {}
        budget = income = None
        try:
            budget = parse_brl(valor)
        except InvalidAmount:
            errors["valor"] = _("Type an amount, for example 150,00.")
        if renda.strip():
            try:
                income = parse_brl(renda)
            except InvalidAmount:
                errors["renda"] = _("Type an amount, for example 2.500,00.")
        result = None
        if not errors and budget is not None:
            held = await commitments(access.db, person.cpf_hash, person.tenants)
            result = choose_affordable(creditor.offers, budget, income, held.monthly)
        proposal = {"valor_mensal": valor, "meses": ""}
        if result is not None and result.smallest is not None:
            proposal["meses"] = str(result.smallest.payment_count)
        return Template(
            "site/fit.html",
            status_code=400 if errors else 200,
            context={
                "creditor": creditor,
                "result": result,
                "errors": errors,
                "valor": valor,
                "renda": renda,
                "income": income,
                "proposal": proposal,
                "proposal_errors": {},
            },
        )

    @post("/plano/proposta", name="site.fit.propose")
    async def propose(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
    ) -> Template | Redirect:
        """The person's own proposal, sent to the creditor's queue as a request."""
        form = await request.form()
        try:
            tenant_id = uuid.UUID(str(form.get("credor", "")))
        except ValueError as exc:
            raise NotFoundException() from exc
        creditor = await self._creditor(access, person, tenant_id)
        typed = {
            "valor_mensal": str(form.get("valor_mensal", ""))[:30],
            "meses": str(form.get("meses", ""))[:10],
        }
        refusal = ""
        errors: dict[str, str] = {}
        try:
            proposal = read_proposal(typed["valor_mensal"], typed["meses"])
            sent = await send_proposal(
                access.db,
                person.cpf_hash,
                tenant_id,
                proposal,
                on=local_today(access.clock),
                now=access.clock.now(),
                ip=client_ip(request),
                tenants=person.tenants,
            )
        except ProposalInvalid as exc:
            errors = exc.errors
        except ProposalRefused as exc:
            refusal = exc.message
        if errors or refusal:
            return Template(
                "site/fit.html",
                status_code=400 if errors else 409,
                context={
                    "creditor": creditor,
                    "result": None,
                    "errors": {},
                    "valor": typed["valor_mensal"],
                    "renda": "",
                    "proposal": typed,
                    "proposal_errors": errors or {"valor_mensal": refusal},
                },
            )
        # Post/redirect/get: reloading the confirmation never sends the proposal again.
        return Redirect(f"/plano/proposta/{sent.id}", status_code=303)

    @get("/plano/proposta/{offer_id:uuid}", name="site.fit.proposal")
    async def proposal(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        offer_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """The confirmation of a proposal the person sent: a request, not an agreement."""
        sent = await proposal_of_person(
            access.db, person.cpf_hash, offer_id, tenants=person.tenants
        )
        if sent is None:
            raise NotFoundException()
        return Template("site/proposal_sent.html", context={"sent": sent})

    @get("/acordos/{agreement_id:uuid}", name="site.agreement")
    async def agreement(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        found = await agreement_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        agreement, tenant, _name = found
        due = next_installment(agreement)
        payoff = payoff_of(agreement, local_today(access.clock))
        remaining = sum(i.amount - i.paid - i.waived for i in agreement.installments)
        gateway: PaymentGateway | None = request.app.state.gateway
        return Template(
            "site/agreement.html",
            context={
                "agreement": agreement,
                "tenant": tenant,
                "papers": await paperwork.agreement_papers(access.db, agreement, tenant),
                "due": due if AgreementStatus(agreement.status).is_open else None,
                "payments": await payments_of_agreement(access.db, agreement.id),
                "names": await name_statuses(access.db, agreement.id),
                "can_pay": bool(methods_for(gateway, tenant)),
                "methods": [m.value for m in methods_for(gateway, tenant)],
                "test_gateway": gateway is not None and gateway.test_mode,
                "key": secrets.token_hex(16),
                # Early payoff (CDC art. 52 §2): all that remains, at present value.
                "payoff": payoff,
                "remaining": remaining,
                "payoff_key": secrets.token_hex(16),
            },
        )

    @get("/acordos/{agreement_id:uuid}/termo.pdf", name="site.agreement_pdf")
    async def agreement_terms(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
    ) -> Response[bytes] | Redirect:
        found = await agreement_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        agreement, tenant, _name = found
        return Response(
            await paperwork.terms_document(access.db, agreement, tenant),
            media_type="application/pdf",
            headers={
                "content-disposition": 'attachment; filename="termo-de-acordo.pdf"',
                "cache-control": "no-store",
            },
        )
