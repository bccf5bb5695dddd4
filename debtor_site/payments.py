"""Paying an agreement: Pix code, boleto line or card form, and a page that updates itself
when the gateway confirms the payment (by webhook)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import segno
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from collection.debtor.access import DebtorAccess, Person
from collection.domain import boleto
from collection.models import Agreement, PaymentMethod, PaymentPurpose, PaymentStatus
from collection.negotiation.acceptance import agreement_of_person
from collection.payments import due_charges
from collection.payments.boleto_pdf import boleto_pdf
from collection.payments.service import (
    PayerAddress,
    PaymentGateway,
    PaymentUnavailable,
    next_installment,
    payer_address_of,
    payment_of_person,
    payoff_of,
    start_payment,
)
from core.clock import local_today
from core.i18n import gettext as _
from core.security import content_security_policy
from debtor_site.lookup import NO_STORE, PERSON
from integrations.gateways import local_of

AnyRequest = Request[Any, Any, Any]
_STATES = {"AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA"}
_STATES |= {"PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"}


def gateway_of(request: AnyRequest) -> PaymentGateway | None:
    gateway: PaymentGateway | None = request.app.state.gateway
    return gateway


def _wants_json(request: AnyRequest) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _unavailable(request: AnyRequest, message: str, status: int = 409) -> Response[Any]:
    if _wants_json(request):
        return Response({"message": message}, status_code=status)
    return Template(
        "site/payment_unavailable.html", status_code=status, context={"message": message}
    )


def _address_errors(form: dict[str, str]) -> tuple[PayerAddress | None, dict[str, str]]:
    errors: dict[str, str] = {}
    line1 = form.get("endereco", "").strip()[:200]
    city = form.get("cidade", "").strip()[:100]
    state = form.get("uf", "").strip().upper()
    postal = "".join(c for c in form.get("cep", "") if c.isdigit())
    if len(line1) < 5:
        errors["endereco"] = _("Type the street, number and district.")
    if len(city) < 2:
        errors["cidade"] = _("Type the city.")
    if state not in _STATES:
        errors["uf"] = _("Choose the state.")
    if len(postal) != 8:
        errors["cep"] = _("Type the 8 digits of the CEP.")
    if errors:
        return None, errors
    return PayerAddress(line1, city, state, postal), errors


class PaymentsController(Controller):
    path = "/acordos/{agreement_id:uuid}"
    dependencies = PERSON
    cache_control = NO_STORE

    @post("/pagamentos", name="site.pay")
    async def pay(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Start a payment by Pix, boleto or card; a retried request finds the same one."""
        gateway = gateway_of(request)
        if gateway is None:
            return _unavailable(request, _("Payments are not available at the moment."), 503)
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            method = PaymentMethod(form.get("method", ""))
        except ValueError:
            return _unavailable(request, _("Choose Pix, boleto or card."), 400)
        if method not in gateway.methods:
            return _unavailable(request, _("This way of paying is not available here."), 400)
        key = form.get("key", "")
        if len(key) < 16:
            return _unavailable(request, _("Reload the page and try again."), 400)
        purpose = PaymentPurpose.PAYOFF if form.get("purpose") == "payoff" else None
        address = None
        if method == PaymentMethod.BOLETO:
            address, errors = _address_errors(form)
            if address is None:
                return await self._boleto_form(
                    request, person, access, agreement_id, form, errors, payoff=bool(purpose)
                )
        try:
            started = await start_payment(
                access.db,
                gateway,
                person.cpf_hash,
                agreement_id,
                method,
                key=key,
                now=access.clock.now(),
                tenants=person.tenants,
                card_method=form.get("payment_method", "")[:80],
                address=address,
                purpose=purpose or PaymentPurpose.INSTALLMENT,
            )
        except PaymentUnavailable as exc:
            return _unavailable(request, exc.message)
        url = f"/acordos/{agreement_id}/pagamentos/{started.payment.id}"
        if _wants_json(request):
            failed = started.payment.status == PaymentStatus.FAILED
            return Response(
                {
                    "url": url,
                    "client_secret": started.client_secret,
                    "message": started.payment.failure if failed else "",
                },
                status_code=402 if failed else 200,
            )
        return Redirect(url)

    @get("/pagar/boleto", name="site.pay_boleto")
    async def boleto(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        quitar: FromQuery[str] = "",
    ) -> Response[Any]:
        """The boleto needs the payer's address: confirm the one on file or type it
        (``?quitar=1``: the boleto of the early payoff)."""
        address = await payer_address_of(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        form = {}
        if address is not None:
            form = {
                "endereco": address.line1,
                "cidade": address.city,
                "uf": address.state,
                "cep": address.postal_code,
            }
        return await self._boleto_form(
            request, person, access, agreement_id, form, {}, payoff=quitar == "1"
        )

    async def _boleto_form(
        self,
        request: AnyRequest,
        person: Person,
        access: DebtorAccess,
        agreement_id: uuid.UUID,
        form: dict[str, str],
        errors: dict[str, str],
        *,
        payoff: bool = False,
    ) -> Response[Any]:
        found = await agreement_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        agreement, tenant, _name = found
        return Template(
            "site/pay_boleto.html",
            status_code=400 if errors else 200,
            context={
                "agreement": agreement,
                "tenant": tenant,
                "due": _due(agreement, access, payoff=payoff),
                "payoff_mode": payoff,
                "form": form,
                "errors": errors,
                "states": sorted(_STATES),
                "key": secrets.token_hex(16),
            },
        )

    @get("/pagar/cartao", name="site.pay_card")
    async def card(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        quitar: FromQuery[str] = "",
    ) -> Response[Any]:
        """The card form: the card number goes from the browser straight to the gateway
        (``?quitar=1``: for the early payoff)."""
        gateway = gateway_of(request)
        found = await agreement_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        if gateway is None:
            return _unavailable(request, _("Payments are not available at the moment."), 503)
        agreement, tenant, _name = found
        payments = request.app.state.settings.payments
        origins = (payments.js_origin,) if payments.test_gateway else _STRIPE_ORIGINS
        return Template(
            "site/pay_card.html",
            context={
                "agreement": agreement,
                "tenant": tenant,
                "due": _due(agreement, access, payoff=quitar == "1"),
                "payoff_mode": quitar == "1",
                "key": secrets.token_hex(16),
                "publishable_key": payments.publishable_key,
                "js_url": payments.js_url,
                "test_gateway": gateway.test_mode,
            },
            headers={
                "content-security-policy": content_security_policy(
                    scripts=origins, connect=origins, frames=origins
                )
            },
        )

    @get("/pagamentos/{payment_id:uuid}", name="site.payment")
    async def payment(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        payment_id: FromPath[uuid.UUID],
    ) -> Template:
        """The payment page; for htmx, its status box alone (polled until settled)."""
        found = await payment_of_person(
            access.db, person.cpf_hash, agreement_id, payment_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        payment, agreement = found
        if request.headers.get("hx-request"):
            return Template(
                "site/_payment_status.html",
                context={"payment": payment, "agreement": agreement},
                headers={"cache-control": "no-store"},
            )
        gateway = gateway_of(request)
        local = local_of(gateway)
        return Template(
            "site/payment.html",
            context={
                "payment": payment,
                "agreement": agreement,
                "test_gateway": gateway is not None and gateway.test_mode,
                "pix_qr": pix_qr(payment.pix_code) if payment.pix_code else "",
                "due_terms": due_charges.itemised(payment),
                # Development only: the local provider's "the bank paid" button.
                "can_simulate": local is not None and local.owns(payment.provider_id or ""),
            },
        )

    @post("/pagamentos/{payment_id:uuid}/simular", name="site.payment_simulate")
    async def simulate(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        payment_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """Development only: the local test provider pays the code and posts its signed
        webhook to this app, which confirms the payment as it would a real one."""
        local = local_of(gateway_of(request))
        found = await payment_of_person(
            access.db, person.cpf_hash, agreement_id, payment_id, tenants=person.tenants
        )
        if local is None or found is None or not local.owns(found[0].provider_id or ""):
            raise NotFoundException()
        await local.simulate_payment(found[0].provider_id or "")
        return Redirect(f"/acordos/{agreement_id}/pagamentos/{payment_id}")

    @get("/pagamentos/{payment_id:uuid}/boleto.pdf", name="site.boleto_pdf")
    async def boleto_file(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        payment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The boleto as a PDF, to save or print."""
        found = await payment_of_person(
            access.db, person.cpf_hash, agreement_id, payment_id, tenants=person.tenants
        )
        creditor = await agreement_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None or creditor is None or not found[0].boleto_line:
            raise NotFoundException()
        try:
            content = boleto_pdf(found[0], creditor[1], creditor[2])
        except boleto.InvalidBoleto:
            raise NotFoundException() from None
        return Response(
            content,
            media_type="application/pdf",
            headers={
                "content-disposition": 'attachment; filename="boleto.pdf"',
                "cache-control": "no-store",
            },
        )

    @get("/pagamentos/{payment_id:uuid}/boleto", name="site.boleto_print")
    async def boleto_print(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        payment_id: FromPath[uuid.UUID],
    ) -> Template:
        """The boleto to print or save as PDF: the line, its bar code, who pays whom."""
        found = await payment_of_person(
            access.db, person.cpf_hash, agreement_id, payment_id, tenants=person.tenants
        )
        if found is None or not found[0].boleto_line:
            raise NotFoundException()
        payment, agreement = found
        try:
            code = boleto.barcode_of_line(payment.boleto_line)
        except boleto.InvalidBoleto:
            raise NotFoundException() from None
        creditor = await agreement_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        assert creditor is not None  # the payment was found through the same agreement
        _agreement, tenant, name = creditor
        bars = boleto.itf_bars(code)
        return Template(
            "site/boleto_print.html",
            context={
                "payment": payment,
                "agreement": agreement,
                "tenant": tenant,
                "payer": name,
                "line": boleto.format_line("".join(c for c in payment.boleto_line if c.isdigit())),
                "bars": bars,
                "bars_width": bars[-1][0] + bars[-1][1],
            },
        )


def _due(agreement: Agreement, access: DebtorAccess, *, payoff: bool) -> tuple[int, int] | None:
    """What the payment page charges: the next installment, or the payoff of today."""
    due = next_installment(agreement)
    if not payoff or due is None:
        return due
    amount = payoff_of(agreement, local_today(access.clock))
    return None if amount is None else (due[0], amount)


def pix_qr(code: str) -> str:
    """The Pix code as an inline SVG QR code (no image request, no script)."""
    qr = segno.make(code, error="m")
    return str(qr.svg_inline(scale=5, light="#fff", title="QR Code Pix", svgclass="pix-qr"))


_STRIPE_ORIGINS = ("https://js.stripe.com", "https://api.stripe.com", "https://hooks.stripe.com")
