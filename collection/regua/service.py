"""The régua de cobrança: planning messages from the database, checking the contact rules,
and delivering them through the channels.

Planning is set-based: for each active step, one ``INSERT … SELECT`` writes the messages
due today (and the few days before, if planning missed a day) into the ``messages``
outbox, unique per (step, debt or installment), so running it twice, or on two
machines, plans each message once. The rules that can be checked in bulk then mark
messages ``blocked`` with the rule's name (prescribed, disputed, no contact of the
debtor's own for the channel, opted out, "not mine", WhatsApp without opt-in) and set
when each may go out (the hours of the debtor's state). Delivery claims due messages in
batches with a lease, checks the rules again at the last moment (an opt-out or a payment
since planning counts at once), applies the frequency cap across creditors, renders the
text, sends, and records the outcome; a failure retries with backoff, then ends
``failed``. A worker killed mid-batch leaves claimed messages whose lease expires; the
next dispatch takes them again.

Staff may also write to a person (``plan_message``: an agent on an account): such a
message is one more row of the same outbox (no step, keyed ``m:<uuid>``), decided by the
same rules when it is written and again by the same dispatcher when it goes out. Agents'
phone calls (case entries of kind ``call``) count in the frequency cap with the messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Date,
    String,
    Uuid,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.agency.access import handed_over_debtors
from collection.debtor.page import policy_of
from collection.domain import contact_rules as rules
from collection.domain import valuation as v
from collection.domain.business_days import add_years
from collection.domain.documents import format_cnpj
from collection.domain.money import format_brl
from collection.domain.offers import OfferKind, make_offers
from collection.models import (
    Agreement,
    AgreementInstallment,
    CaseEntry,
    CaseEntryKind,
    Channel,
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    DebtStatus,
    Dispute,
    Message,
    MessageStatus,
    ReminderAnchor,
    ReminderStep,
)
from collection.payments.service import pending_pix
from collection.regua import opt_out, whatsapp
from collection.regua.footer import MIN_ADDRESS, address_problem, footer_of
from core.db import Database, Scope, UTCDateTime
from tenants.models import Tenant

CATCH_UP_DAYS = 2  # a step missed by planning (scheduler down) still goes this late
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
OPEN_AGREEMENT = ("awaiting_first_payment", "active", "late")
ADHOC = "m:"  # subject key prefix of a message written by staff, not planned by a step
DEBT_ANCHORS = (ReminderAnchor.DEBT_DUE, ReminderAnchor.DEBT_ENTERED)


# -- the channel port -------------------------------------------------------------------


class ChannelError(Exception):
    """A channel refused a message; ``retryable`` tells whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Channels(Protocol):
    async def send(
        self,
        channel: Channel,
        to: str,
        subject: str,
        body: str,
        reference: str,
        *,
        unsubscribe_url: str = "",
        content_sid: str = "",
        content_variables: str = "",
    ) -> str:
        """Send one message; returns the provider's id. Raises ChannelError.
        ``unsubscribe_url`` is the signed one-click opt-out (e-mail headers, RFC 8058);
        ``content_sid`` and ``content_variables`` send a WhatsApp approved template
        (Twilio's Content API) instead of ``body``'s free text."""
        ...


# -- planning ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanResult:
    planned: int
    blocked: int


def _new_id(dialect: str) -> object:
    if dialect == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))


async def plan(db: Database, on: date, now: datetime) -> PlanResult:
    """Plan the messages due on ``on`` for every tenant whose régua is switched on."""
    async with db.session(Scope.system()) as session:
        result = await plan_in(session, on, now, only_enabled=True)
        await session.commit()
        return result


async def plan_in(
    session: AsyncSession,
    on: date,
    now: datetime,
    *,
    only_enabled: bool,
    tenant_id: uuid.UUID | None = None,
) -> PlanResult:
    """Plan inside an open transaction (the dry run rolls it back).

    One statement per step writes each message once, already decided: its contact, its
    status (``blocked`` with the rule's name, or ``planned``) and when it may go out.
    """
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    steps_query = (
        select(ReminderStep)
        .join(Tenant, Tenant.id == ReminderStep.tenant_id)
        .where(ReminderStep.is_active.is_(True), Tenant.is_active.is_(True))
    )
    if only_enabled:
        # Nothing goes in the name of a creditor without an address (CDC art. 42-A).
        steps_query = steps_query.where(
            Tenant.reminders_enabled.is_(True),
            func.length(func.trim(Tenant.address)) >= MIN_ADDRESS,
        )
    if tenant_id is not None:
        steps_query = steps_query.where(ReminderStep.tenant_id == tenant_id)
    steps = list(await session.scalars(steps_query))
    hours = _send_after_by_state(now)
    # A debt "enters late" when it comes after the day of the régua's first reminder.
    first_reminder: dict[uuid.UUID, int] = {}
    for step in steps:
        if step.anchor == ReminderAnchor.DEBT_DUE:
            known = first_reminder.get(step.tenant_id, step.offset_days)
            first_reminder[step.tenant_id] = min(known, step.offset_days)
    planned = blocked = 0
    for step in steps:
        latest, earliest = _window(step, on)
        if earliest > latest:
            continue  # planned already by an earlier run
        late_after = first_reminder.get(step.tenant_id, 0)
        statuses = await session.scalars(_plan_step(step, on, now, dialect, hours, late_after))
        for status in statuses:
            planned += 1
            blocked += status == MessageStatus.BLOCKED.value
        if step.planned_through is None or step.planned_through < on:
            step.planned_through = on
    await session.flush()
    return PlanResult(planned=planned, blocked=blocked)


_STATES = (
    *("AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA"),
    *("PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"),
)


def _send_after_by_state(now: datetime) -> Any:
    """``CASE debtors.state …``: the first moment each state's hours allow (Brazil has 27)."""
    default = rules.next_allowed(now, "")
    return case(
        *(
            (Debtor.state == uf, literal(rules.next_allowed(now, uf), UTCDateTime()))
            for uf in _STATES
        ),
        else_=literal(default, UTCDateTime()),
    )


def _window(step: ReminderStep, on: date) -> tuple[date, date]:
    """The anchor dates this run plans for: ``on``'s, and the days before it that no
    earlier run planned (up to the catch-up days); empty when ``on`` was planned."""
    latest = on - timedelta(days=step.offset_days)
    earliest = latest - timedelta(days=CATCH_UP_DAYS)
    if step.planned_through is not None:
        done = step.planned_through - timedelta(days=step.offset_days)
        earliest = max(earliest, done + timedelta(days=1))
    return latest, earliest


def _key(prefix: str, column: Any) -> Any:
    """What a message is about, as its uniqueness key: "d:<debt id>" and so on."""
    return literal(prefix) + cast(column, String)


def _found(
    step: ReminderStep,
    earliest: date,
    latest: date,
    contact: Any,
    hours: Any,
    late_after: int,
) -> Any:
    """What a step is about on the anchor dates ``earliest``…``latest``: the open debts
    due (or entered) then, the installments due, the agreements that broke."""
    if step.anchor in DEBT_ANCHORS:
        base = (
            select(
                _key("d:", Debt.id).label("key"),
                Debt.debtor_id.label("debtor_id"),
                Debt.id.label("debt_id"),
                literal(None, Uuid()).label("agreement_id"),
                literal(None, Uuid()).label("installment_id"),
                contact,
                hours.label("send_after"),
            )
            .join(Debtor, Debtor.id == Debt.debtor_id)
            .where(Debt.tenant_id == step.tenant_id, Debt.status == DebtStatus.OPEN)
        )
        if step.anchor == ReminderAnchor.DEBT_DUE:
            return base.where(Debt.due_date.between(earliest, latest))
        # Entered on one of the days, already past the régua's first reminder then.
        start = datetime.combine(earliest, time(), rules.SAO_PAULO)
        end = datetime.combine(latest + timedelta(days=1), time(), rules.SAO_PAULO)
        return base.where(
            Debt.created_at >= start,
            Debt.created_at < end,
            Debt.due_date < earliest - timedelta(days=late_after),
        )
    if step.anchor == ReminderAnchor.INSTALLMENT_DUE:
        return (
            select(
                _key("i:", AgreementInstallment.id).label("key"),
                Agreement.debtor_id.label("debtor_id"),
                literal(None, Uuid()).label("debt_id"),
                Agreement.id.label("agreement_id"),
                AgreementInstallment.id.label("installment_id"),
                contact,
                hours.label("send_after"),
            )
            .join(Agreement, Agreement.id == AgreementInstallment.agreement_id)
            .join(Debtor, Debtor.id == Agreement.debtor_id)
            .where(
                AgreementInstallment.tenant_id == step.tenant_id,
                Agreement.status.in_(OPEN_AGREEMENT),
                AgreementInstallment.paid < AgreementInstallment.amount,
                AgreementInstallment.due_date.between(earliest, latest),
            )
        )
    return (
        select(
            _key("a:", Agreement.id).label("key"),
            Agreement.debtor_id.label("debtor_id"),
            literal(None, Uuid()).label("debt_id"),
            Agreement.id.label("agreement_id"),
            literal(None, Uuid()).label("installment_id"),
            contact,
            hours.label("send_after"),
        )
        .join(Debtor, Debtor.id == Agreement.debtor_id)
        .where(
            Agreement.tenant_id == step.tenant_id,
            Agreement.status == "broken",
            Agreement.broken_on.between(earliest, latest),
        )
    )


def _plan_step(
    step: ReminderStep, on: date, now: datetime, dialect: str, hours: Any, late_after: int
) -> Any:
    """INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING status, for one step."""
    latest, earliest = _window(step, on)
    kind = ContactKind.EMAIL if step.channel == Channel.EMAIL else ContactKind.PHONE
    usable = [
        Contact.debtor_id == Debtor.id,
        Contact.kind == kind,
        Contact.opted_out_at.is_(None),
        Contact.not_mine_at.is_(None),
    ]
    if step.channel == Channel.WHATSAPP:
        usable.append(Contact.whatsapp_opt_in.is_(True))
    best_contact = (
        select(Contact.id).where(*usable).order_by(Contact.created_at).limit(1).scalar_subquery()
    )
    base = _found(step, earliest, latest, best_contact.label("contact_id"), hours, late_after)
    found = base.subquery("found")
    decided = select(found, _rule(step, found, on).label("rule")).subquery("decided")
    status = case(
        (decided.c.rule == literal(""), literal(MessageStatus.PLANNED.value)),
        else_=literal(MessageStatus.BLOCKED.value),
    )
    columns: list[Any] = [
        _new_id(dialect),
        literal(step.tenant_id, Uuid()),
        literal(now, UTCDateTime()),
        literal(step.id, Uuid()),
        decided.c.key,
        decided.c.debtor_id,
        decided.c.debt_id,
        decided.c.agreement_id,
        decided.c.installment_id,
        literal(step.channel.value),
        literal(on, Date()),
        decided.c.send_after,
        status,
        decided.c.rule,
        literal(0),
        literal(""),
        literal(""),
        literal(""),
        literal(""),
        decided.c.contact_id,
    ]
    # WHERE true: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
    source = select(*columns).where(true())
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(Message.__table__).from_select(_COLUMNS, source)  # type: ignore[arg-type]
    return statement.on_conflict_do_nothing(index_elements=["step_id", "subject_key"]).returning(
        Message.__table__.c.status
    )


_COLUMNS = [
    "id",
    "tenant_id",
    "created_at",
    "step_id",
    "subject_key",
    "debtor_id",
    "debt_id",
    "agreement_id",
    "installment_id",
    "channel",
    "planned_for",
    "send_after",
    "status",
    "rule",
    "attempts",
    "provider_id",
    "error",
    "subject",
    "body",
    "contact_id",
]


def _rule(step: ReminderStep, found: Any, on: date) -> Any:
    """The first contact rule that stops the message, by name; "" when none does."""
    cutoff = add_years(on, -5)
    kind = ContactKind.EMAIL if step.channel == Channel.EMAIL else ContactKind.PHONE
    of_kind = [Contact.debtor_id == found.c.debtor_id, Contact.kind == kind]
    whys: list[tuple[Any, Any]] = []
    if step.anchor in DEBT_ANCHORS:
        # Prescribed: every item five years past due (no active collection at all).
        whys.append(
            (
                ~exists().where(DebtItem.debt_id == found.c.debt_id, DebtItem.due_date > cutoff),
                literal("prescribed"),
            )
        )
        whys.append(
            (
                exists().where(Dispute.debt_id == found.c.debt_id, Dispute.status == "open"),
                literal("disputed"),
            )
        )
    else:
        # An agreement paid voluntarily on prescribed debts is never reminded or chased.
        whys.append(
            (
                exists().where(Agreement.id == found.c.agreement_id, Agreement.voluntary.is_(True)),
                literal("prescribed"),
            )
        )
    no_contact = found.c.contact_id.is_(None)
    if step.channel == Channel.WHATSAPP:
        whys.append(
            (
                and_(
                    no_contact,
                    exists().where(
                        *of_kind, Contact.not_mine_at.is_(None), Contact.opted_out_at.is_(None)
                    ),
                ),
                literal("no_whatsapp_opt_in"),
            )
        )
    # The person stopped this channel of this creditor (the link in a message).
    whys.append((opt_out.is_stopped(found.c.debtor_id, step.channel), literal("opted_out")))
    whys.append(
        (
            and_(no_contact, exists().where(*of_kind, Contact.not_mine_at.is_(None))),
            literal("opted_out"),
        )
    )
    whys.append((and_(no_contact, exists().where(*of_kind)), literal("not_mine")))
    whys.append((no_contact, literal("no_contact")))
    return case(*whys, else_=literal(""))


# -- dry run ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviewLine:
    day: date
    step: str
    channel: str
    debtor: str  # the name only: the preview is shown to the creditor's staff
    contract: str
    status: str  # "planned" or "blocked"
    rule: str


async def preview(
    db: Database,
    tenant_id: uuid.UUID,
    start: date,
    days: int,
    now: datetime,
    *,
    agency_id: uuid.UUID | None = None,
) -> list[PreviewLine]:
    """What the régua would send (and block, and why) on each of the next ``days`` days.

    Runs the real planner for each day inside one transaction that is rolled back, so
    the preview and the real thing can never disagree. Messages already planned are
    not repeated (as in reality); later days do not see earlier days' sends in the
    frequency cap, which is applied at delivery. For an agency's staff (``agency_id``)
    only the accounts handed over to that agency are listed.
    """
    lines: list[PreviewLine] = []
    shown = Message.tenant_id == tenant_id
    if agency_id is not None:
        shown = shown & Message.debtor_id.in_(handed_over_debtors(tenant_id, agency_id))
    async with db.session(Scope.system()) as session:
        seen: set[uuid.UUID] = set(await session.scalars(select(Message.id)))
        for offset in range(days):
            day = start + timedelta(days=offset)
            moment = now + timedelta(days=offset)
            await plan_in(session, day, moment, only_enabled=False, tenant_id=tenant_id)
            rows = await session.execute(
                select(Message, ReminderStep.name, Debtor.name, Debt.contract)
                .join(ReminderStep, ReminderStep.id == Message.step_id)
                .join(Debtor, Debtor.id == Message.debtor_id)
                .outerjoin(Debt, Debt.id == Message.debt_id)
                .where(shown, Message.planned_for == day)
            )
            for message, step_name, name, contract in rows.all():
                if message.id in seen:
                    continue
                seen.add(message.id)
                lines.append(
                    PreviewLine(
                        day=day,
                        step=step_name,
                        channel=message.channel.value,
                        debtor=name,
                        contract=contract or "",
                        status=message.status.value,
                        rule=message.rule,
                    )
                )
        await session.rollback()
    return sorted(lines, key=lambda line: (line.day, line.step, line.debtor))


# -- delivery ---------------------------------------------------------------------------


async def claim(db: Database, now: datetime, limit: int = 200) -> list[uuid.UUID]:
    """Take up to ``limit`` due messages (and ones whose lease expired) for delivery."""
    async with db.session(Scope.system()) as session:
        due = (
            select(Message.id)
            .where(
                or_(
                    and_(Message.status == MessageStatus.PLANNED, Message.send_after <= now),
                    and_(Message.status == MessageStatus.SENDING, Message.lease_until < now),
                )
            )
            .order_by(Message.send_after)
            .limit(limit)
        )
        if session.bind and session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(await session.scalars(due))
        if ids:
            await session.execute(
                update(Message)
                .where(Message.id.in_(ids))
                .values(
                    status=MessageStatus.SENDING,
                    lease_until=now + LEASE,
                    attempts=Message.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
        await session.commit()
        return ids


@dataclass(frozen=True, slots=True)
class Delivery:
    base_url: str
    channels: Channels
    opt_out_key: str  # signs the opt-out links (the app's secret key)


async def deliver(db: Database, delivery: Delivery, message_id: uuid.UUID, now: datetime) -> str:
    """Check, render and send one claimed message; returns its new status."""
    async with db.session(Scope.system()) as session:
        message = await session.scalar(
            select(Message).where(Message.id == message_id).with_for_update()
        )
        if message is None or message.status != MessageStatus.SENDING:
            return "skipped"  # sent or settled by another worker
        debtor = await session.get_one(Debtor, message.debtor_id)
        tenant = await session.get_one(Tenant, message.tenant_id)
        step = await session.get(ReminderStep, message.step_id) if message.step_id else None
        # One person at a time, across creditors: the frequency cap counts correctly.
        await lock_person(session, debtor.cpf_hash)
        outcome = await _check(session, message, debtor, step, now)
        if outcome is None and address_problem(tenant.address):
            outcome = (MessageStatus.BLOCKED, "creditor_address", None)
        if outcome is not None:
            status, rule, send_after = outcome
            message.status = status
            message.rule = rule
            if send_after is not None:
                message.send_after = send_after
                message.attempts -= 1  # waiting for the hours is not a failed attempt
            message.lease_until = None
            await session.commit()
            return rule or status.value
        contact = await session.get_one(Contact, message.contact_id)
        subject, body, values, footer = await _render(
            session, message, debtor, tenant, step, delivery, now
        )
        message.subject, message.body = subject, body
        content_sid = content_variables = ""
        closed = message.channel == Channel.WHATSAPP and not whatsapp.window_open(contact, now)
        if step is not None and closed:  # outside the window: only the approved template
            content_sid, content_variables = whatsapp.template_call(step, values, footer)
        stop_url = opt_out.link_for(
            delivery.opt_out_key, delivery.base_url, tenant.id, debtor.id, message.channel
        )
        try:
            provider_id = await delivery.channels.send(
                message.channel,
                contact.value,
                subject,
                body,
                str(message.id),
                unsubscribe_url=stop_url,
                content_sid=content_sid,
                content_variables=content_variables,
            )
        except ChannelError as exc:
            message.error = exc.message[:300]
            message.lease_until = None
            if exc.retryable and message.attempts < MAX_ATTEMPTS:
                message.status = MessageStatus.PLANNED
                message.send_after = now + timedelta(minutes=2 ** (message.attempts + 1))
            else:
                message.status = MessageStatus.FAILED
            await session.commit()
            return message.status.value
        message.status = MessageStatus.SENT
        message.sent_at = now
        message.provider_id = provider_id[:120]
        message.error = ""
        message.lease_until = None
        await session.commit()
        return "sent"


async def _check(
    session: AsyncSession,
    message: Message,
    debtor: Debtor,
    step: ReminderStep | None,
    now: datetime,
) -> tuple[MessageStatus, str, datetime | None] | None:
    """The rules again, at the last moment; None when the message may go now."""
    blocked = MessageStatus.BLOCKED
    if message.subject_key.startswith(ADHOC):
        on = now.astimezone(rules.zone_for(debtor.state)).date()
        rule = await account_rule(session, message.tenant_id, message.debtor_id, on)
        if rule:
            return blocked, rule, None
    elif step is None or not step.is_active:
        return blocked, "step_removed", None
    if message.debt_id is not None:
        debt = await session.get_one(Debt, message.debt_id)
        if debt.status != DebtStatus.OPEN:
            return blocked, "not_due", None
        disputed = await session.scalar(
            select(Dispute.id).where(Dispute.debt_id == debt.id, Dispute.status == "open")
        )
        if disputed is not None:
            return blocked, "disputed", None
    if message.installment_id is not None:
        item = await session.get_one(AgreementInstallment, message.installment_id)
        agreement = await session.get_one(Agreement, item.agreement_id)
        if item.paid >= item.amount or agreement.status not in OPEN_AGREEMENT:
            return blocked, "not_due", None
    if message.agreement_id is not None:
        voluntary = await session.scalar(
            select(Agreement.voluntary).where(Agreement.id == message.agreement_id)
        )
        if voluntary:
            return blocked, "prescribed", None
    contact = await session.get(Contact, message.contact_id) if message.contact_id else None
    rule = _contact_rule(message.channel, contact)
    if not rule and await opt_out.channel_stopped(session, debtor.id, message.channel):
        rule = "opted_out"
    if rule:
        return blocked, rule, None
    if (
        message.channel == Channel.WHATSAPP
        and contact is not None
        and not whatsapp.window_open(contact, now)
        and (step is None or not step.whatsapp_template.strip())
    ):
        return blocked, "whatsapp_template", None
    if not rules.is_allowed(now, debtor.state):
        return MessageStatus.PLANNED, "", rules.next_allowed(now, debtor.state)
    if await _over_cap(session, message, debtor, now):
        return blocked, "frequency_cap", None
    return None


def _contact_rule(channel: Channel, contact: Contact | None) -> str:
    return rules.contact_block(
        channel.value,
        found=contact is not None,
        not_mine=contact is not None and contact.not_mine_at is not None,
        opted_out=contact is not None and contact.opted_out_at is not None,
        whatsapp_opt_in=contact is not None and contact.whatsapp_opt_in,
    )


async def _over_cap(session: AsyncSession, message: Message, debtor: Debtor, now: datetime) -> bool:
    return await over_cap(session, message.tenant_id, debtor, now)


async def contacts_so_far(
    session: AsyncSession, tenant_id: uuid.UUID, debtor: Debtor, now: datetime
) -> tuple[int, int]:
    """The person's contacts that count in the cap: (today by this creditor, the last 7
    days by anyone), each the messages sent plus the agents' calls logged.

    The person is every debtor row of the CPF, so ``session`` must see every tenant
    (system scope). One statement, one round trip.
    """
    person = select(Debtor.id).where(Debtor.cpf_hash == debtor.cpf_hash)
    midnight = rules.day_start(now, debtor.state)
    week_ago = now - timedelta(days=7)
    sent = select(func.count()).where(
        Message.status == MessageStatus.SENT, Message.debtor_id.in_(person)
    )
    calls = select(func.count()).where(
        CaseEntry.kind == CaseEntryKind.CALL, CaseEntry.debtor_id.in_(person)
    )
    row = (
        await session.execute(
            select(
                sent.where(
                    Message.tenant_id == tenant_id, Message.sent_at >= midnight
                ).scalar_subquery(),
                sent.where(Message.sent_at >= week_ago).scalar_subquery(),
                calls.where(
                    CaseEntry.tenant_id == tenant_id, CaseEntry.at >= midnight
                ).scalar_subquery(),
                calls.where(CaseEntry.at >= week_ago).scalar_subquery(),
            )
        )
    ).one()
    return int(row[0] or 0) + int(row[2] or 0), int(row[1] or 0) + int(row[3] or 0)


async def over_cap(
    session: AsyncSession, tenant_id: uuid.UUID, debtor: Debtor, now: datetime
) -> bool:
    """True when one more contact (message or call) of ``tenant_id`` would break the cap."""
    today, week = await contacts_so_far(session, tenant_id, debtor, now)
    return rules.over_cap(today, week)


async def lock_person(session: AsyncSession, cpf_hash: str) -> None:
    """On PostgreSQL, one contact decision at a time per person (across creditors), so
    the frequency cap counts correctly; held until the transaction ends."""
    if session.bind and session.bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": cpf_hash}
        )


async def account_rule(
    session: AsyncSession, tenant_id: uuid.UUID, debtor_id: uuid.UUID, on: date
) -> str:
    """Why no active collection may reach the account on ``on`` (a rule name: prescribed,
    disputed, not_due); "" when something is left to collect."""
    cutoff = add_years(on, -5)
    rows = await session.execute(
        select(
            ~exists().where(DebtItem.debt_id == Debt.id, DebtItem.due_date > cutoff),
            exists().where(Dispute.debt_id == Debt.id, Dispute.status == "open"),
        ).where(
            Debt.tenant_id == tenant_id,
            Debt.debtor_id == debtor_id,
            Debt.status == DebtStatus.OPEN,
        )
    )
    open_agreement = await session.scalar(
        select(Agreement.id)
        .where(
            Agreement.tenant_id == tenant_id,
            Agreement.debtor_id == debtor_id,
            Agreement.status.in_(OPEN_AGREEMENT),
            Agreement.voluntary.is_(False),  # paid by free choice: nothing to collect
        )
        .limit(1)
    )
    return rules.account_block(
        ((bool(p), bool(d)) for p, d in rows.all()), open_agreement=open_agreement is not None
    )


async def plan_message(
    session: AsyncSession,
    *,
    tenant: Tenant,
    debtor: Debtor,
    contact: Contact | None,
    channel: Channel,
    subject: str,
    text: str,
    base_url: str,
    opt_out_key: str,
    now: datetime,
) -> Message:
    """Write a message staff composed into the outbox, decided like the régua's: blocked
    with the rule's name, or planned for the first moment the person's hours allow. The
    dispatcher checks it again when it goes out. ``text`` must pass ``check_template``
    once made plain (``rules.plain_text``); the creditor's footer is added here."""
    await lock_person(session, debtor.cpf_hash)
    on = now.astimezone(rules.zone_for(debtor.state)).date()
    rule = await account_rule(session, tenant.id, debtor.id, on)
    rule = rule or _contact_rule(channel, contact)
    if not rule and address_problem(tenant.address):
        rule = "creditor_address"
    if not rule and await opt_out.channel_stopped(session, debtor.id, channel):
        rule = "opted_out"
    if not rule and await over_cap(session, tenant.id, debtor, now):
        rule = "frequency_cap"
    link = base_url.rstrip("/") + "/"
    stop_url = opt_out.link_for(opt_out_key, base_url, tenant.id, debtor.id, channel)
    message = Message(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        step_id=None,
        subject_key=f"{ADHOC}{uuid.uuid4()}",
        debtor_id=debtor.id,
        channel=channel,
        planned_for=on,
        send_after=rules.next_allowed(now, debtor.state),
        status=MessageStatus.BLOCKED if rule else MessageStatus.PLANNED,
        rule=rule,
        contact_id=contact.id if contact is not None else None,
        subject=subject[:200],
        body=rules.render(
            rules.plain_text(text), {}, footer=footer_of(tenant, channel, link, stop_url)
        ),
    )
    session.add(message)
    await session.flush()
    return message


async def _render(
    session: AsyncSession,
    message: Message,
    debtor: Debtor,
    tenant: Tenant,
    step: ReminderStep | None,
    delivery: Delivery,
    now: datetime,
) -> tuple[str, str, dict[str, str], str]:
    """The subject and text, and the values and footer they were made of (a WhatsApp
    template is filled with the same)."""
    if step is None:
        # Written by staff: rendered, with the creditor's footer, when it was planned.
        return message.subject, message.body, {}, ""
    today = now.astimezone(rules.SAO_PAULO).date()
    link = delivery.base_url.rstrip("/") + "/"
    values = {
        "nome": debtor.name.split()[0].title() if debtor.name.strip() else "",
        "credor": tenant.name,
        "cnpj": format_cnpj(tenant.cnpj),
        "link": link,
        "valor": "",
        "vencimento": "",
        "oferta": "",
        "contrato": "",
        "pix": "",
    }
    policy = policy_of(tenant)
    if message.debt_id is not None:
        debt = await session.scalar(
            select(Debt).where(Debt.id == message.debt_id).options(selectinload(Debt.items))
        )
        assert debt is not None
        domain = v.Debt(
            reference=debt.contract,
            items=tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items),
            paid=debt.paid,
        )
        valuation = v.valuate(domain, today, terms=policy.charges)
        values["valor"] = format_brl(valuation.total)
        values["contrato"] = debt.contract
        values["vencimento"] = debt.due_date.strftime("%d/%m/%Y")
        cash = [o for o in make_offers([domain], policy, today) if o.kind == OfferKind.CASH]
        if cash:
            best = min(cash, key=lambda o: o.total)
            values["oferta"] = (
                f"pagamento à vista de {format_brl(best.total)}"
                + (f" (desconto de {format_brl(best.discount)})" if best.discount else "")
                + f", válido até {best.valid_until:%d/%m/%Y}"
            )
    if message.installment_id is not None:
        item = await session.get_one(AgreementInstallment, message.installment_id)
        values["valor"] = format_brl(item.amount - item.paid)
        values["vencimento"] = item.due_date.strftime("%d/%m/%Y")
        code = await pending_pix(session, item.agreement_id, now)
        values["pix"] = f"Pix copia e cola: {code}" if code else ""
    elif message.agreement_id is not None:
        agreement = await session.get_one(Agreement, message.agreement_id)
        values["valor"] = format_brl(agreement.total)
    stop_url = opt_out.link_for(
        delivery.opt_out_key, delivery.base_url, tenant.id, debtor.id, message.channel
    )
    footer = footer_of(tenant, message.channel, link, stop_url)
    body = rules.render(step.body, values, footer=footer)
    subject = step.subject.format_map(values) if step.subject else ""
    return subject, body, values, footer
