"""Paying an agreement through the payment gateway, and applying what the gateway says.

The gateway is a port (``PaymentGateway``); the Stripe adapter lives in ``integrations``.
Starting a payment writes the ``Payment`` row first and only then calls the gateway with
the row's idempotency key, so a retried request or a crash between the two never
charges twice: the retry reaches the same gateway object. Only a gateway event (a
verified webhook) counts a payment: each event is stored once by its id in the same
transaction that applies it, so a repeated delivery changes nothing, and events that
arrive out of order still give one payment (a refund seen before its success settles it
first; a success seen after a refund is ignored).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import structlog
from sqlalchemy import func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.debtor.page import policy_of
from collection.domain import valuation as v
from collection.domain.agreements import Agreement as Terms
from collection.domain.agreements import AgreementStatus, Installment, PaymentReceipt
from collection.domain.due_charge import DueCharge, from_record, to_record
from collection.domain.errors import AgreementError, IllegalTransition, ValuationError
from collection.escalation import name_clearing
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Contact,
    ContactKind,
    Debt,
    Debtor,
    DebtStatus,
    GatewayEvent,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
)
from collection.paperwork import papers as paperwork
from collection.payments.due_charges import due_charge_of, settle_due
from collection.webhooks import outbound as outbound_webhooks
from core.clock import SAO_PAULO
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from core.tasks import enqueue_after_commit
from tenants.models import Tenant
from tenants.services import audit
from tenants.services.audit import Actor

log = structlog.get_logger("quita.payments")

GATEWAY = Actor(None, "gateway de pagamento", "", None)
CALENDAR = Actor(None, "calendário do acordo", "", None)


# -- the port -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayerAddress:
    line1: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """What the gateway needs to create one charge, in centavos."""

    payment_id: uuid.UUID
    tenant_id: uuid.UUID
    agreement_id: uuid.UUID
    installment: int
    method: PaymentMethod
    amount: int
    account: str  # the creditor's connected account
    idempotency_key: str
    payer_name: str
    payer_cpf: str
    payer_email: str = ""
    payer_address: PayerAddress | None = None
    card_method: str = ""  # the card's payment-method id from the gateway's browser script
    creditor_name: str = ""  # who receives (a Pix code names them)
    creditor_address: str = ""
    provider: str = "stripe"  # the creditor's choice for this method (see ``provider_for``)
    pix_key: str = ""  # the creditor's chave at its Pix PSP
    due_on: date | None = None  # the installment's due date
    due_charge: DueCharge | None = None  # a Pix with a due date (cobv), at a Pix PSP


@dataclass(frozen=True, slots=True)
class Charge:
    """The gateway's answer: its id and what to show the person."""

    provider_id: str
    status: str  # the gateway's own word: requires_action, processing, succeeded, ...
    pix_code: str = ""
    boleto_line: str = ""
    voucher_url: str = ""
    expires_at: datetime | None = None
    client_secret: str = ""  # for the card's 3-D Secure step in the browser; never stored
    failure: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """A verified gateway event, reduced to what Quita uses."""

    event_id: str
    type: str
    account: str
    payment_intent: str
    occurred_at: datetime
    amount: int = 0  # refunded or disputed amount, in centavos
    outcome: str = ""  # dispute outcome ("won", "lost") or failure message
    payload: dict[str, Any] = field(default_factory=dict)
    # The gateway makes every payment on the creditor's connected account, so the event
    # must name that account; False only for a local test gateway without accounts.
    connected: bool = True
    # "psp": ``account`` is the creditor's Pix key at its PSP, not a Stripe account.
    provider: str = "stripe"


class InvalidNotice(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


class GatewayError(Refusal):
    """The gateway refused or could not be reached; ``message`` is for the person."""


class PaymentGateway(Protocol):
    test_mode: bool
    methods: tuple[PaymentMethod, ...]  # what this gateway can take
    providers: frozenset[str]  # whose charges it makes: "stripe" (or its local fakes), "psp"

    async def charge(self, request: ChargeRequest) -> Charge: ...

    def verify(self, payload: bytes, signature: str) -> Notice: ...

    async def lookup(self, provider_id: str, account: str) -> Notice | None:
        """The payment's current state as a notice (None: nothing to apply yet)."""
        ...


# -- starting a payment -------------------------------------------------------------------


class PaymentUnavailable(Refusal):
    """This payment cannot be started; ``message`` says why, for the person."""


PSP = "psp"  # a Pix PSP speaking the Banco Central's Pix API
STRIPE = "stripe"


def provider_for(tenant: Tenant, method: PaymentMethod) -> str:
    """Who takes this creditor's payments by ``method``: its Pix PSP for Pix when it chose
    one (and gave its key there), Stripe for everything else."""
    if method == PaymentMethod.PIX and tenant.pix_provider == PSP and tenant.pix_key:
        return PSP
    return STRIPE


def takes_payments(
    tenant: Tenant, method: PaymentMethod, gateway: PaymentGateway | None = None
) -> bool:
    """True when the creditor has an account for ``method`` with its chosen provider (and
    ``gateway``, when given, reaches that provider)."""
    provider = provider_for(tenant, method)
    if gateway is not None and provider not in gateway.providers:
        return False
    return provider == PSP or bool(tenant.stripe_account)


def methods_for(gateway: PaymentGateway | None, tenant: Tenant) -> list[PaymentMethod]:
    """The ways this creditor's debtors can pay here, Pix first."""
    if gateway is None:
        return []
    return [m for m in gateway.methods if takes_payments(tenant, m, gateway)]


@dataclass(frozen=True, slots=True)
class Started:
    payment: Payment
    client_secret: str = ""


def next_installment(agreement: Agreement) -> tuple[int, int] | None:
    """The oldest installment still open (number, amount owed), or None."""
    for item in sorted(agreement.installments, key=lambda i: i.number):
        if item.amount - item.paid - item.waived > 0:
            return item.number, item.amount - item.paid - item.waived
    return None


def payoff_of(agreement: Agreement, on: date) -> int | None:
    """What settles the whole agreement on ``on`` (CDC art. 52 §2: the present value of
    what remains at the plan's rate), or None when it is not open."""
    if not AgreementStatus(agreement.status).is_open:
        return None
    try:
        return _terms_of(agreement).payoff_amount(on)
    except AgreementError:
        return None


async def _payer(session: AsyncSession, debtor: Debtor) -> tuple[str, PayerAddress | None]:
    email = await session.scalar(
        select(Contact.value)
        .where(
            Contact.debtor_id == debtor.id,
            Contact.kind == ContactKind.EMAIL,
            Contact.not_mine_at.is_(None),
        )
        .order_by(Contact.created_at)
        .limit(1)
    )
    return email or "", _address(debtor)


def _address(debtor: Debtor) -> PayerAddress | None:
    if debtor.address and debtor.city and debtor.state and debtor.zip_code:
        return PayerAddress(debtor.address, debtor.city, debtor.state, debtor.zip_code)
    return None


async def payer_address_of(
    db: Database, cpf_hash: str, agreement_id: uuid.UUID, *, tenants: Collection[uuid.UUID]
) -> PayerAddress | None:
    """The address on file with the creditor of this agreement (one of the proven
    ``tenants``), when it is complete."""
    async with db.session(Scope.system()) as session:
        debtor = await session.scalar(
            select(Debtor)
            .join(Agreement, Agreement.debtor_id == Debtor.id)
            .where(
                Agreement.id == agreement_id,
                Debtor.cpf_hash == cpf_hash,
                Agreement.tenant_id.in_(list(tenants)),
            )
        )
        return None if debtor is None else _address(debtor)


async def start_payment(
    db: Database,
    gateway: PaymentGateway,
    cpf_hash: str,
    agreement_id: uuid.UUID,
    method: PaymentMethod,
    *,
    key: str,
    now: datetime,
    tenants: Collection[uuid.UUID],
    card_method: str = "",
    address: PayerAddress | None = None,
    purpose: PaymentPurpose = PaymentPurpose.INSTALLMENT,
) -> Started:
    """Start (or find again) the payment of the agreement's next open installment, or of
    everything that remains at present value (``purpose`` PAYOFF, priced for today); the
    agreement must be at one of ``tenants`` (the creditors the person proved)."""
    idempotency_key = f"pay-{key[:64]}"
    async with db.session(Scope.system()) as session:
        row = (
            await session.execute(
                select(Agreement, Tenant, Debtor)
                .join(Debtor, Debtor.id == Agreement.debtor_id)
                .join(Tenant, Tenant.id == Agreement.tenant_id)
                .where(
                    Agreement.id == agreement_id,
                    Debtor.cpf_hash == cpf_hash,
                    Agreement.tenant_id.in_(list(tenants)),
                )
                .options(selectinload(Agreement.installments))
            )
        ).first()
        if row is None:
            raise PaymentUnavailable(_("This agreement was not found."))
        agreement, tenant, debtor = row
        payment = await session.scalar(
            select(Payment).where(Payment.idempotency_key == idempotency_key)
        )
        if payment is not None and payment.agreement_id != agreement.id:
            raise PaymentUnavailable(_("This payment was not found."))
        if payment is None:
            if not AgreementStatus(agreement.status).is_open:
                raise PaymentUnavailable(_("This agreement is not waiting for payments."))
            if not takes_payments(tenant, method, gateway):
                raise PaymentUnavailable(
                    _("This creditor does not take payments here yet. Contact the creditor.")
                )
            due, quoted_on = _what_is_due(agreement, purpose, now)
            reusable = await _reusable(session, agreement.id, due, method, now, purpose)
            if reusable is not None:
                return Started(reusable)
            payment = Payment(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                agreement_id=agreement.id,
                installment_number=due[0],
                purpose=purpose,
                quoted_on=quoted_on,
                method=method,
                amount=due[1],
                idempotency_key=idempotency_key,
            )
            if provider_for(tenant, method) == PSP and purpose is PaymentPurpose.INSTALLMENT:
                today = now.astimezone(SAO_PAULO).date()
                terms = due_charge_of(agreement, tenant, due[0], today)
                payment.due_charge = to_record(terms) if terms else None
            session.add(payment)
            try:
                await session.commit()
            except IntegrityError:  # the same key, from a request running at this moment
                await session.rollback()
                payment = await session.scalar(
                    select(Payment).where(Payment.idempotency_key == idempotency_key)
                )
                if payment is None:  # pragma: no cover
                    raise
        if payment.provider_id is not None and not (
            payment.method == PaymentMethod.CARD and payment.status == PaymentStatus.PENDING
        ):
            return Started(payment)
        email, on_file = await _payer(session, debtor)
        request = ChargeRequest(
            payment_id=payment.id,
            tenant_id=tenant.id,
            agreement_id=agreement.id,
            installment=payment.installment_number,
            method=payment.method,
            amount=payment.amount,
            account=tenant.stripe_account,
            idempotency_key=payment.idempotency_key,
            payer_name=debtor.name,
            payer_cpf=debtor.cpf,
            payer_email=email,
            payer_address=address or on_file,
            card_method=card_method,
            creditor_name=tenant.legal_name or tenant.name,
            creditor_address=tenant.address,
            provider=provider_for(tenant, payment.method),
            pix_key=tenant.pix_key,
            due_on=_due_on(agreement, payment.installment_number),
            due_charge=from_record(payment.due_charge) if payment.due_charge else None,
        )
        try:
            charge = await gateway.charge(request)
        except GatewayError as exc:
            payment.status = PaymentStatus.FAILED
            payment.failure = exc.message[:300]
            await session.commit()
            raise PaymentUnavailable(exc.message) from exc
        payment.provider_id = charge.provider_id or None
        payment.pix_code = charge.pix_code
        payment.boleto_line = charge.boleto_line
        payment.voucher_url = charge.voucher_url
        payment.expires_at = charge.expires_at
        if charge.failure and payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
            payment.failure = charge.failure[:300]
        await session.commit()
        return Started(payment, charge.client_secret)


def _due_on(agreement: Agreement, number: int) -> date | None:
    return next((i.due_date for i in agreement.installments if i.number == number), None)


def _what_is_due(
    agreement: Agreement, purpose: PaymentPurpose, now: datetime
) -> tuple[tuple[int, int], date | None]:
    """(installment number, amount) to charge, and the day a payoff is priced for."""
    due = next_installment(agreement)
    if due is None:  # pragma: no cover - an open agreement has an open installment
        raise PaymentUnavailable(_("This agreement is not waiting for payments."))
    if purpose is not PaymentPurpose.PAYOFF:
        return due, None
    today = now.astimezone(SAO_PAULO).date()
    payoff = payoff_of(agreement, today)
    if not payoff:
        raise PaymentUnavailable(_("This agreement is not waiting for payments."))
    return (due[0], payoff), today


async def _reusable(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    due: tuple[int, int],
    method: PaymentMethod,
    now: datetime,
    purpose: PaymentPurpose = PaymentPurpose.INSTALLMENT,
) -> Payment | None:
    """A Pix code or boleto already issued for this installment (or payoff) and still
    valid."""
    if method == PaymentMethod.CARD:
        return None
    found: Payment | None = await session.scalar(
        select(Payment)
        .where(
            Payment.agreement_id == agreement_id,
            Payment.installment_number == due[0],
            Payment.purpose == purpose,
            Payment.method == method,
            Payment.amount == due[1],
            Payment.status == PaymentStatus.PENDING,
            Payment.provider_id.is_not(None),
            Payment.expires_at > now + timedelta(minutes=10),
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    return found


async def payment_of_person(
    db: Database,
    cpf_hash: str,
    agreement_id: uuid.UUID,
    payment_id: uuid.UUID,
    *,
    tenants: Collection[uuid.UUID],
) -> tuple[Payment, Agreement] | None:
    """A payment of one of this person's agreements at the proven ``tenants``, or None
    (a tampered id gets None)."""
    async with db.session(Scope.system()) as session:
        row = (
            await session.execute(
                select(Payment, Agreement)
                .join(Agreement, Agreement.id == Payment.agreement_id)
                .join(Debtor, Debtor.id == Agreement.debtor_id)
                .where(
                    Payment.id == payment_id,
                    Agreement.id == agreement_id,
                    Debtor.cpf_hash == cpf_hash,
                    Agreement.tenant_id.in_(list(tenants)),
                )
            )
        ).first()
        return None if row is None else (row[0], row[1])


async def payments_of_agreement(db: Database, agreement_id: uuid.UUID) -> list[Payment]:
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(
            select(Payment)
            .where(Payment.agreement_id == agreement_id)
            .order_by(Payment.created_at.desc())
        )
        return list(rows)


# -- applying gateway events --------------------------------------------------------------


APPLY_EVENT = "payments.apply"  # the actor that applies a stored event


def _stored(notice: Notice, now: datetime) -> GatewayEvent:
    return GatewayEvent(
        provider_event_id=notice.event_id,
        type=notice.type,
        account=notice.account,
        object_id=notice.payment_intent,
        occurred_at=notice.occurred_at,
        received_at=now,
        payload={
            **notice.payload,
            "notice": {
                "amount": notice.amount,
                "outcome": notice.outcome,
                "connected": notice.connected,
                "provider": notice.provider,
            },
        },
        outcome="",
    )


def _notice_of(event: GatewayEvent) -> Notice:
    kept = event.payload.get("notice", {})
    return Notice(
        event_id=event.provider_event_id,
        type=event.type,
        account=event.account,
        payment_intent=event.object_id,
        occurred_at=event.occurred_at,
        amount=int(kept.get("amount", 0)),
        outcome=str(kept.get("outcome", "")),
        connected=bool(kept.get("connected", True)),
        provider=str(kept.get("provider", STRIPE)),
    )


async def receive_notice(db: Database, notice: Notice, now: datetime) -> str:
    """Store a verified webhook event once and hand it to a worker; "received" or
    "duplicate". The webhook answers at once; applying it is the worker's job, retried
    until done, and the sweeper re-sends any event left unapplied."""
    async with db.session(Scope.system()) as session:
        event = _stored(notice, now)
        event.id = uuid.uuid4()
        values = {c.key: getattr(event, c.key) for c in GatewayEvent.__table__.columns}
        dialect = postgresql if db.is_postgres else sqlite
        inserted = await session.scalar(
            dialect.insert(GatewayEvent)
            .values(values)
            .on_conflict_do_nothing(index_elements=["provider_event_id"])
            .returning(GatewayEvent.id)
        )
        if inserted is None:  # stored before (or by a delivery running at this moment)
            return "duplicate"
        enqueue_after_commit(session, APPLY_EVENT, str(inserted))
        await session.commit()
        return "received"


async def apply_event(db: Database, event_id: uuid.UUID) -> str:
    """Apply a stored event exactly once; returns its outcome (also when applied before)."""
    async with db.session(Scope.system()) as session:
        event = await session.scalar(
            select(GatewayEvent).where(GatewayEvent.id == event_id).with_for_update()
        )
        if event is None:
            return "missing"
        if event.outcome:
            return event.outcome
        event.outcome = await _apply(session, _notice_of(event))
        await session.commit()
        return event.outcome


async def unapplied_events(db: Database, received_before: datetime) -> list[uuid.UUID]:
    """Events stored but not applied yet (a lost job, a worker that died)."""
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(
            select(GatewayEvent.id)
            .where(GatewayEvent.outcome == "", GatewayEvent.received_at < received_before)
            .order_by(GatewayEvent.received_at)
            .limit(1000)
        )
        return list(rows)


async def apply_notice(db: Database, notice: Notice, now: datetime) -> str:
    """Store the event once and apply it at once (reconciliation); returns what happened.

    The event and its effects commit together: a failure rolls both back.
    """
    async with db.session(Scope.system()) as session:
        known = await session.scalar(
            select(GatewayEvent.id).where(GatewayEvent.provider_event_id == notice.event_id)
        )
        if known is not None:
            return "duplicate"
        event = _stored(notice, now)
        session.add(event)
        event.outcome = await _apply(session, notice)
        try:
            await session.commit()
        except IntegrityError:  # the same event, delivered twice at the same moment
            await session.rollback()
            return "duplicate"
        return event.outcome


async def _apply(session: AsyncSession, notice: Notice) -> str:
    if not notice.payment_intent:
        return "ignored"
    payment = await session.scalar(
        select(Payment).where(Payment.provider_id == notice.payment_intent).with_for_update()
    )
    if payment is None:
        return "unknown_payment"
    if notice.connected or notice.account:
        # Connect: the event must come from the creditor's own account; an event that
        # names no account is not one of them.
        column = Tenant.pix_key if notice.provider == PSP else Tenant.stripe_account
        account = await session.scalar(select(column).where(Tenant.id == payment.tenant_id))
        if not notice.account or account != notice.account:
            return "account_mismatch"
    on = notice.occurred_at.astimezone(SAO_PAULO).date()
    kind = notice.type
    if kind == "payment_intent.succeeded":
        return await _succeed(session, payment, on, notice.amount)
    if kind == "payment_intent.processing":
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.PROCESSING
            return "processing"
        return "stale"
    if kind in ("payment_intent.payment_failed", "payment_intent.canceled"):
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
            canceled = kind.endswith("canceled")
            payment.status = PaymentStatus.CANCELED if canceled else PaymentStatus.FAILED
            payment.failure = notice.outcome[:300]
            return payment.status.value
        return "stale"
    if kind == "charge.refunded":
        await _succeed(session, payment, on)  # a refund proves the payment happened
        # The gateway reports the running total refunded: reverse only what is new.
        if notice.amount and notice.amount <= payment.refunded:
            return "stale"
        fresh = notice.amount - payment.refunded if notice.amount else 0
        return await _reverse(session, payment, fresh, on, PaymentStatus.REFUNDED)
    if kind == "charge.dispute.created":
        await _succeed(session, payment, on)
        return await _reverse(session, payment, payment.amount, on, PaymentStatus.DISPUTED)
    if kind == "charge.dispute.closed":
        if payment.status == PaymentStatus.DISPUTED and notice.outcome == "won":
            payment.status = PaymentStatus.PENDING  # counts again, as a new receipt
            return await _succeed(session, payment, on)
        return "dispute_closed"
    return "ignored"


async def _agreement_terms(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement:
    agreement = await session.scalar(
        select(Agreement)
        .where(Agreement.id == agreement_id)
        .options(selectinload(Agreement.installments))
        .with_for_update()
    )
    assert agreement is not None  # the foreign key guarantees it
    return agreement


def _terms_of(agreement: Agreement) -> Terms:
    return Terms(
        [
            Installment(i.number, i.due_date, i.amount, paid=i.paid, waived=i.waived)
            for i in sorted(agreement.installments, key=lambda i: i.number)
        ],
        Decimal(agreement.monthly_rate),
        agreement.grace_days,
        agreement.accepted_on,
        status=AgreementStatus(agreement.status),
        credit=agreement.credit,
        last_event_on=agreement.last_event_on,
    )


async def _store_terms(
    session: AsyncSession,
    agreement: Agreement,
    terms: Terms,
    before: AgreementStatus,
    on: date,
    actor: Actor = GATEWAY,
) -> None:
    stored = {i.number: i for i in terms.installments}
    for item in agreement.installments:
        item.paid = stored[item.number].paid
        item.waived = stored[item.number].waived
    agreement.status = terms.status.value
    agreement.credit = terms.credit
    agreement.last_event_on = terms.last_event_on
    if terms.status is before:
        if not terms.status.is_open and terms.status is not AgreementStatus.PAID:
            await settle_debts(session, agreement.id, on)  # money moved after it ended
        return
    debt_status = {
        AgreementStatus.PAID: DebtStatus.PAID,
        AgreementStatus.BROKEN: DebtStatus.OPEN,
        AgreementStatus.CANCELLED: DebtStatus.OPEN,
    }.get(terms.status, DebtStatus.IN_AGREEMENT)
    debt_ids = select(AgreementDebt.debt_id).where(AgreementDebt.agreement_id == agreement.id)
    await session.execute(
        update(Debt)
        .where(Debt.id.in_(debt_ids))
        .values(status=debt_status)
        .execution_options(synchronize_session=False)
    )
    await settle_debts(session, agreement.id, on)
    change = next((c for c in reversed(terms.history) if c.target is terms.status), None)
    reason = change.reason if change else ""
    if terms.status is AgreementStatus.BROKEN and change is not None:
        agreement.broken_on = change.on
    if terms.status is AgreementStatus.BROKEN:
        await outbound_webhooks.emit(
            session,
            agreement.tenant_id,
            outbound_webhooks.AGREEMENT_BROKEN,
            {
                "agreement_id": str(agreement.id),
                "debtor_id": str(agreement.debtor_id),
                "contracts": await outbound_webhooks.contracts_of(session, agreement.id),
                "broken_on": agreement.broken_on.isoformat() if agreement.broken_on else None,
                "reason": reason,
                "total": agreement.total,
                "paid": sum(i.paid for i in terms.installments),
            },
        )
    audit.record(
        session,
        actor,
        "agreement.status",
        tenant_id=agreement.tenant_id,
        target=str(agreement.id),
        details={"from": before.value, "to": terms.status.value, "reason": reason},
    )


_ENDED = (AgreementStatus.BROKEN.value, AgreementStatus.CANCELLED.value)
_HOLDING = [s.value for s in AgreementStatus if s.is_open] + [AgreementStatus.PAID.value]


def _shares(received: int, weights: list[int]) -> list[int]:
    """``received`` split in proportion to ``weights`` (largest remainder, the earlier
    debts first on a tie), summing exactly to ``received``."""
    total = sum(weights)
    if total <= 0:
        return [received] + [0] * (len(weights) - 1)
    floors = [received * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda k: (-(received * weights[k] % total), k))
    for k in order[: received - sum(floors)]:
        floors[k] += 1
    return floors


def debt_valuation(debt: Debt, tenant: Tenant, on: date) -> v.Valuation | None:
    """The debt valued on ``on`` by the tenant's policy, net of the money received
    against it; None when a charge cannot be computed (a rate table is missing)."""
    items = tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items if i.amount > 0)
    if not items:
        return None
    try:
        return v.valuate(
            v.Debt(reference=debt.contract, items=items, paid=debt.paid),
            on,
            terms=policy_of(tenant).charges,
        )
    except ValuationError:
        return None


async def settle_debts(session: AsyncSession, agreement_id: uuid.UUID, on: date) -> None:
    """Carry what the debtor paid into agreements that ended (broken or cancelled) over
    to their debts, so that it reduces what is still owed.

    For each debt of the agreement, ``paid`` is recomputed from every ended agreement
    that covered it: what each received (installments paid plus the credit kept after it
    ended), split among its debts in proportion to their original amounts. So a refund
    or chargeback of such money takes exactly that back off. A debt no agreement holds
    any more that the money now covers on ``on`` is paid, and what exceeds its balance is
    ``to_refund``, shown to the creditor to give back; one that is no longer covered
    (a payment reversed) is open again.
    """
    debt_ids = list(
        await session.scalars(
            select(AgreementDebt.debt_id).where(AgreementDebt.agreement_id == agreement_id)
        )
    )
    if not debt_ids:
        return
    links = (
        await session.execute(
            select(AgreementDebt.agreement_id, AgreementDebt.debt_id, Agreement.status)
            .join(Agreement, Agreement.id == AgreementDebt.agreement_id)
            .where(
                AgreementDebt.agreement_id.in_(
                    select(AgreementDebt.agreement_id).where(AgreementDebt.debt_id.in_(debt_ids))
                )
            )
        )
    ).all()
    ended = {a for a, _d, status in links if status in _ENDED}
    held = {d for _a, d, status in links if status in _HOLDING}
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for linked, member, _status in links:
        if linked in ended:
            members.setdefault(linked, []).append(member)
    every_debt = {d for ds in members.values() for d in ds} | set(debt_ids)
    debts = {
        d.id: d
        for d in await session.scalars(
            select(Debt)
            .where(Debt.id.in_(every_debt))
            .options(selectinload(Debt.items))
            .execution_options(populate_existing=True)
            .with_for_update()
        )
    }
    received: dict[uuid.UUID, int] = {}
    if ended:
        rows = await session.execute(
            select(
                Agreement.id,
                Agreement.credit,
                func.coalesce(func.sum(AgreementInstallment.paid), 0),
            )
            .outerjoin(AgreementInstallment, AgreementInstallment.agreement_id == Agreement.id)
            .where(Agreement.id.in_(ended))
            .group_by(Agreement.id, Agreement.credit)
        )
        for agreement, credit, paid in rows.all():
            covered = sorted(
                members[agreement], key=lambda d: (debts[d].due_date, debts[d].contract)
            )
            weights = [debts[d].original_amount for d in covered]
            shares = _shares(int(credit) + int(paid), weights)
            for member, share in zip(covered, shares, strict=True):
                received[member] = received.get(member, 0) + share
    tenant: Tenant | None = None
    for debt_id in debt_ids:
        debt = debts[debt_id]
        debt.paid = received.get(debt_id, 0)
        if debt_id in held or debt.status not in (DebtStatus.OPEN, DebtStatus.PAID):
            continue
        if tenant is None:
            tenant = await session.get_one(Tenant, debt.tenant_id)
        valuation = debt_valuation(debt, tenant, on) if debt.paid else None
        if valuation is not None and valuation.total == 0:
            debt.status = DebtStatus.PAID
            debt.to_refund = valuation.to_refund
        else:
            debt.status = DebtStatus.OPEN
            debt.to_refund = 0


def _effective(on: date, agreement: Agreement) -> date:
    """Events may arrive late or out of order; the agreement's time only moves forward."""
    last = agreement.last_event_on or agreement.accepted_on
    return max(on, last)


async def _succeed(session: AsyncSession, payment: Payment, on: date, paid: int = 0) -> str:
    if payment.status not in (
        PaymentStatus.PENDING,
        PaymentStatus.PROCESSING,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELED,
    ):
        return "stale"
    agreement = await _agreement_terms(session, payment.agreement_id)
    terms = _terms_of(agreement)
    before = terms.status
    on = _effective(on, agreement)
    # A payment counted again after a chargeback it won counts without what was refunded.
    receipt = _receive(terms, payment, on, paid)
    payment.status = PaymentStatus.SUCCEEDED
    payment.paid_on = on
    payment.failure = ""
    payment.applied = [[number, part] for number, part in receipt.applied]
    payment.applied_credit = receipt.credit
    payment.waived = [[number, part] for number, part in receipt.waived]
    await _store_terms(session, agreement, terms, before, on)
    # A listed name is cleared within minutes, by a job once this commits.
    await name_clearing.after_payment(session, agreement.id)
    # The person's receipt, and the declaração de quitação when this settled it all.
    await paperwork.payment_confirmed(
        session,
        agreement,
        payment,
        settled=terms.status is AgreementStatus.PAID and before is not AgreementStatus.PAID,
    )
    audit.record(
        session,
        GATEWAY,
        "payment.received",
        tenant_id=agreement.tenant_id,
        target=str(agreement.id),
        details={
            "payment": str(payment.id),
            "method": payment.method.value,
            "amount": payment.amount,
            "installment": payment.installment_number,
        },
    )
    await outbound_webhooks.emit(
        session,
        agreement.tenant_id,
        outbound_webhooks.PAYMENT_RECEIVED,
        {
            "payment_id": str(payment.id),
            "agreement_id": str(agreement.id),
            "debtor_id": str(agreement.debtor_id),
            "contracts": await outbound_webhooks.contracts_of(session, agreement.id),
            "method": payment.method.value,
            "amount": payment.amount,
            "installment": payment.installment_number,
            "paid_on": on.isoformat(),
            "agreement_status": agreement.status,
        },
    )
    return "succeeded"


def _receive(terms: Terms, payment: Payment, on: date, paid: int = 0) -> PaymentReceipt:
    """Apply a confirmed payment: an early payoff settles everything at the amount quoted
    (CDC art. 52 §2); if the agreement changed since (it broke, or the quote no longer
    covers what remains) the money still counts, as an ordinary payment. A Pix with a
    due date settles with the amount the person's bank actually paid (``paid``)."""
    if payment.due_charge is not None and paid > 0 and not payment.refunded:
        return settle_due(terms, payment, paid, on)
    amount = payment.amount - payment.refunded
    if payment.purpose is PaymentPurpose.PAYOFF:
        try:
            return terms.pay_off(amount, on, priced_on=payment.quoted_on)
        except (IllegalTransition, AgreementError):
            log.warning("payoff.applied_as_payment", payment_id=str(payment.id))
    return terms.receive_payment(amount, on, payment.installment_number)


async def _reverse(
    session: AsyncSession, payment: Payment, amount: int, on: date, status: PaymentStatus
) -> str:
    """Take ``amount`` of a counted payment back off its agreement (credit first)."""
    if payment.status != PaymentStatus.SUCCEEDED:
        return "stale"
    counted = sum(part for _n, part in payment.applied) + payment.applied_credit
    amount = min(amount or counted, counted)
    if amount <= 0:
        return "stale"
    credit = min(amount, payment.applied_credit)
    left = amount - credit
    parts: list[tuple[int, int]] = []
    remaining: list[list[int]] = []
    for number, part in reversed(payment.applied):
        take = min(left, part)
        left -= take
        if take:
            parts.append((number, take))
        if part - take:
            remaining.insert(0, [number, part - take])
    agreement = await _agreement_terms(session, payment.agreement_id)
    terms = _terms_of(agreement)
    before = terms.status
    on = _effective(on, agreement)
    reason = "estorno" if status == PaymentStatus.REFUNDED else "contestação do pagamento"
    # A reversed payoff gives its discount back (it was for paying everything), once.
    waived = tuple((number, part) for number, part in payment.waived)
    receipt = PaymentReceipt(amount, on, tuple(parts), credit, before, waived)
    terms.reverse_payment(receipt, on, reason)
    payment.applied = remaining
    payment.applied_credit -= credit
    payment.waived = []
    if status == PaymentStatus.REFUNDED:
        payment.refunded += amount
    if amount == counted:
        payment.status = status
    await _store_terms(session, agreement, terms, before, on)
    audit.record(
        session,
        GATEWAY,
        "payment.reversed",
        tenant_id=agreement.tenant_id,
        target=str(agreement.id),
        details={"payment": str(payment.id), "amount": amount, "why": status.value},
    )
    return status.value if amount == counted else "partially_" + status.value


async def advance_agreements(db: Database, on: date, *, tenant_id: uuid.UUID | None = None) -> int:
    """Bring every open agreement with an overdue installment up to ``on`` (late, broken);
    returns how many changed state. Idempotent: a second run finds nothing to change.
    An agreement whose stored terms cannot be read is logged and skipped: one bad row
    must not stop the calendar of every other agreement."""
    async with db.session(Scope.system()) as session:
        query = (
            select(Agreement.id)
            .distinct()
            .join(AgreementInstallment, AgreementInstallment.agreement_id == Agreement.id)
            .where(
                Agreement.status.in_([s.value for s in AgreementStatus if s.is_open]),
                AgreementInstallment.due_date < on,
                AgreementInstallment.paid < AgreementInstallment.amount,
            )
        )
        if tenant_id is not None:
            query = query.where(Agreement.tenant_id == tenant_id)
        ids = list(await session.scalars(query))
    changed = 0
    for agreement_id in ids:  # few: only agreements with an installment overdue
        async with db.session(Scope.system()) as session:
            agreement = await _agreement_terms(session, agreement_id)
            try:
                terms = _terms_of(agreement)
            except AgreementError:
                log.warning("agreements.unreadable", agreement_id=str(agreement_id), exc_info=True)
                continue
            before = terms.status
            if not before.is_open:
                continue
            terms.advance(_effective(on, agreement))
            await _store_terms(session, agreement, terms, before, on, CALENDAR)
            await session.commit()
            changed += terms.status is not before
    return changed


# -- reconciliation and codes issued ahead ----------------------------------------------

RECONCILE_WINDOW = timedelta(days=7)
CODES_AHEAD_DAYS = 3


async def reconcile(
    db: Database, gateway: PaymentGateway, now: datetime, *, tenant_id: uuid.UUID | None = None
) -> dict[str, int]:
    """Ask the gateway how every recent unsettled payment stands and apply what a missed
    or delayed webhook would have said. Each finding goes through ``apply_notice`` under
    an id of its own, so running twice (or the late webhook arriving) counts nothing
    twice."""
    async with db.session(Scope.system()) as session:
        rows = (
            await session.execute(
                select(Payment.provider_id, Tenant.stripe_account)
                .join(Tenant, Tenant.id == Payment.tenant_id)
                .where(
                    Payment.provider_id.is_not(None),
                    Payment.status.in_(
                        [PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED]
                    ),
                    Payment.created_at >= now - RECONCILE_WINDOW,
                    Payment.tenant_id == tenant_id if tenant_id else true(),
                )
            )
        ).all()
    outcomes: dict[str, int] = {}
    for provider_id, account in rows:
        assert provider_id is not None
        try:
            notice = await gateway.lookup(provider_id, account)
        except GatewayError:
            outcomes["unreachable"] = outcomes.get("unreachable", 0) + 1
            continue
        if notice is None:
            continue
        outcome = await apply_notice(db, notice, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


async def issue_codes(
    db: Database,
    gateway: PaymentGateway,
    on: date,
    now: datetime,
    *,
    tenant_id: uuid.UUID | None = None,
) -> int:
    """Issue the Pix code of each agreement installment falling due in the next few days,
    so the reminders can carry it: once a day at most (the key is the installment's and
    the day's), and only when no code issued before is still valid."""
    if PaymentMethod.PIX not in gateway.methods:
        return 0
    async with db.session(Scope.system()) as session:
        rows = (
            await session.execute(
                select(
                    Agreement.id, Debtor.cpf_hash, AgreementInstallment.number, Agreement.tenant_id
                )
                .join(AgreementInstallment, AgreementInstallment.agreement_id == Agreement.id)
                .join(Debtor, Debtor.id == Agreement.debtor_id)
                .join(Tenant, Tenant.id == Agreement.tenant_id)
                .where(
                    Agreement.status.in_([s.value for s in AgreementStatus if s.is_open]),
                    (Tenant.stripe_account != "")
                    | ((Tenant.pix_provider == PSP) & (Tenant.pix_key != "")),
                    AgreementInstallment.paid < AgreementInstallment.amount,
                    AgreementInstallment.due_date.between(
                        on, on + timedelta(days=CODES_AHEAD_DAYS)
                    ),
                    Agreement.tenant_id == tenant_id if tenant_id else true(),
                )
            )
        ).all()
    issued = 0
    for agreement_id, cpf_hash, number, agreement_tenant in rows:
        try:
            started = await start_payment(
                db,
                gateway,
                cpf_hash,
                agreement_id,
                PaymentMethod.PIX,
                key=f"auto-{agreement_id}-{number}-{on.isoformat()}",
                now=now,
                tenants=(agreement_tenant,),
            )
        except PaymentUnavailable:
            continue
        issued += started.payment.installment_number == number
    return issued


async def pending_pix(session: AsyncSession, agreement_id: uuid.UUID, now: datetime) -> str:
    """The valid Pix copy-and-paste code already issued for the agreement, or ""."""
    code = await session.scalar(
        select(Payment.pix_code)
        .where(
            Payment.agreement_id == agreement_id,
            Payment.method == PaymentMethod.PIX,
            Payment.status == PaymentStatus.PENDING,
            Payment.expires_at > now,
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    return code or ""
