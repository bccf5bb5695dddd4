"""Case work on an account placed with an agency: the account on one page, and the work
on it (notes, calls with their outcome, promises to pay, messages to the person).

Agency pages use a system-scope session, so every query here names the hand-over's
tenant and debtor itself; the hand-over comes from ``agency_access.handover_for_agency``.
A call or a message reaches a person only under the contact rules the régua obeys
(``collection.regua.service`` and ``collection.domain.contact_rules``): the debtor's
own contacts, not opted out, not reported as someone else's, within the hours of the
debtor's state, never about debts that are all prescribed or frozen by a dispute, and
within the frequency cap, which counts messages and calls together.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Uuid, and_, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import service as accounts
from collection.accounts.timeline import CALL_OUTCOMES, Entry, account_timeline
from collection.agency import workqueue
from collection.debtor.page import policy_of
from collection.domain import contact_rules as rules
from collection.domain import valuation as v
from collection.domain.documents import mask_cpf
from collection.domain.money import InvalidAmount, parse_brl
from collection.models import (
    Agreement,
    CaseEntry,
    CaseEntryKind,
    Channel,
    Contact,
    ContactKind,
    Debtor,
    DebtStatus,
    Dispute,
    Handover,
    Message,
    Payment,
    PaymentStatus,
    SiteVisit,
    SpecialOffer,
)
from collection.regua import service as reminders
from collection.regua.disowned import disown
from core.clock import SAO_PAULO
from core.db import Database, Scope, UTCDateTime
from core.errors import Refusal
from core.i18n import gettext as _
from core.security import mask_email, mask_phone
from tenants.models import Tenant, User
from tenants.services import audit
from tenants.services.audit import Actor

__all__ = [
    "CALL_OUTCOMES",
    "AccountView",
    "CaseRefused",
    "PromiseInput",
    "PromiseState",
    "account_view",
    "add_note",
    "add_promise",
    "follow_up_of",
    "log_call",
    "note_visit",
    "promise_outcome",
    "read_promise",
    "record_visit",
    "review_promises",
    "send_message",
    "take_for_work",
]

TEXT_MAX = 2000
FOLLOW_UP_GRACE_DAYS = 3  # a follow-up may fall a few days after the promised date
PROMISE_HORIZON_DAYS = 90  # a promise further away is a plan, not a promise
RECHECK_BROKEN_DAYS = 30  # a payment recorded late may still keep a broken promise
# WhatsApp carries only templates the provider approved: an agent's free text cannot go.
MESSAGE_CHANNELS = {Channel.EMAIL: ContactKind.EMAIL, Channel.SMS: ContactKind.PHONE}
MESSAGE_MAX = {Channel.EMAIL: 2000, Channel.SMS: 600}


class CaseRefused(Refusal):
    """A piece of case work refused; ``field`` names the form field it is about."""

    def __init__(
        self, message: str, field: str = "form", *, errors: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.errors = dict(errors) if errors else {field: message}


# -- the account on one page ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactLine:
    """A contact of the person, masked (staff never see it whole)."""

    id: uuid.UUID
    kind: ContactKind
    masked: str
    opted_out: bool
    not_mine: bool
    whatsapp_opt_in: bool

    @property
    def usable(self) -> bool:
        return not (self.opted_out or self.not_mine)


@dataclass(frozen=True, slots=True)
class DebtLine:
    """A debt of the account; an open one is valued on the day, item by item."""

    id: uuid.UUID
    contract: str
    product: str
    due_date: date
    original_amount: int
    status: DebtStatus
    valuation: v.Valuation | None
    disputed: bool

    @property
    def prescribed(self) -> bool:
        return self.valuation is not None and self.valuation.is_prescribed


@dataclass
class AccountView:
    """Everything about the debtor at one creditor, for the agency's account page."""

    handover: Handover
    creditor: str
    debtor_name: str
    cpf: str  # masked
    city: str
    state: str
    today: date
    contacts: list[ContactLine]
    debts: list[DebtLine]
    agreements: Sequence[Agreement]
    payments: list[Payment]
    special_offers: list[SpecialOffer]
    entries: list[CaseEntry]
    visits: list[SiteVisit]
    messages: list[Message]
    timeline: list[Entry]
    holder: str  # who works the account ("" when nobody)
    block_rule: str  # why no call or message may reach the person ("" when they may)
    handover_id: uuid.UUID = field(init=False)

    def __post_init__(self) -> None:
        self.handover_id = self.handover.id

    @property
    def open_total(self) -> int:
        return sum(d.valuation.total for d in self.debts if d.valuation is not None)

    def of_kind(self, kind: str) -> list[CaseEntry]:
        return [e for e in self.entries if e.kind == kind]

    @property
    def phones(self) -> list[ContactLine]:
        return [c for c in self.contacts if c.kind == ContactKind.PHONE]


def _masked(contact: Contact) -> str:
    if contact.kind == ContactKind.EMAIL:
        return mask_email(contact.value)
    return mask_phone(contact.value)


async def account_view(session: AsyncSession, handover: Handover, *, today: date) -> AccountView:
    """The account of ``handover``: the debtor and masked contacts, the debts valued on
    ``today`` (itemised; prescribed and disputed flagged), agreements with installments,
    payments, special offers, case work, site visits, messages and the whole history."""
    tenant_id, debtor_id = handover.tenant_id, handover.debtor_id
    tenant = await session.get_one(Tenant, tenant_id)
    debtor = await accounts.get_debtor(session, debtor_id)
    policy = policy_of(tenant)
    disputed = set(
        await session.scalars(
            select(Dispute.debt_id).where(
                Dispute.tenant_id == tenant_id,
                Dispute.debt_id.in_([d.id for d in debtor.debts]),
                Dispute.status == "open",
            )
        )
    )
    debts = []
    for debt in debtor.debts:
        valuation = None
        if debt.status == DebtStatus.OPEN and debt.items:
            domain = v.Debt(
                reference=debt.contract,
                items=tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items),
                paid=debt.paid,
            )
            valuation = v.valuate(domain, today, terms=policy.charges)
        debts.append(
            DebtLine(
                id=debt.id,
                contract=debt.contract,
                product=debt.product,
                due_date=debt.due_date,
                original_amount=debt.original_amount,
                status=debt.status,
                valuation=valuation,
                disputed=debt.id in disputed,
            )
        )
    agreements = await accounts.agreements_of_debtor(session, debtor_id)
    payments = list(
        await session.scalars(
            select(Payment)
            .where(
                Payment.tenant_id == tenant_id,
                Payment.agreement_id.in_([a.id for a in agreements]),
            )
            .order_by(Payment.created_at.desc())
        )
    )
    mine = (tenant_id, debtor_id)
    holder = ""
    if handover.claimed_by is not None:
        user = await session.get(User, handover.claimed_by)
        holder = user.name if user is not None else ""
    return AccountView(
        handover=handover,
        creditor=tenant.name,
        debtor_name=debtor.name,
        cpf=mask_cpf(debtor.cpf),
        city=debtor.city,
        state=debtor.state,
        today=today,
        contacts=[
            ContactLine(
                id=c.id,
                kind=c.kind,
                masked=_masked(c),
                opted_out=c.opted_out_at is not None,
                not_mine=c.not_mine_at is not None,
                whatsapp_opt_in=c.whatsapp_opt_in,
            )
            for c in debtor.contacts
        ],
        debts=debts,
        agreements=agreements,
        payments=payments,
        special_offers=list(
            await session.scalars(_of(SpecialOffer, *mine).order_by(SpecialOffer.created_at.desc()))
        ),
        entries=list(await session.scalars(_of(CaseEntry, *mine).order_by(CaseEntry.at.desc()))),
        visits=list(
            await session.scalars(_of(SiteVisit, *mine).order_by(SiteVisit.at.desc()).limit(50))
        ),
        messages=list(
            await session.scalars(_of(Message, *mine).order_by(Message.created_at.desc()).limit(50))
        ),
        timeline=await account_timeline(session, debtor_id, tenant_id=tenant_id),
        holder=holder,
        block_rule=await reminders.account_rule(session, tenant_id, debtor_id, today),
    )


def _of(model: Any, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> Any:
    return select(model).where(model.tenant_id == tenant_id, model.debtor_id == debtor_id)


def _local_day(at: datetime, state: str) -> date:
    return at.astimezone(rules.zone_for(state)).date()


# -- who may work the account -----------------------------------------------------------


async def take_for_work(
    session: AsyncSession,
    handover: Handover,
    user_id: uuid.UUID,
    *,
    supervisor: bool,
    now: datetime,
) -> bool:
    """Check that the person may work the account: a supervisor always; an agent when it
    is theirs, or nobody's (then they take it, atomically: of two agents working an
    unclaimed account at once, one wins). True when the account was taken now."""
    if supervisor or handover.claimed_by == user_id:
        return False
    refused = CaseRefused(_("Another agent is working on this account."))
    if handover.claimed_by is not None:
        raise refused
    if not await workqueue.take(session, handover, user_id, now):
        raise refused
    await session.refresh(handover, ["claimed_by", "claimed_at"])
    return True


def _entry(handover: Handover, author: Actor, kind: CaseEntryKind, now: datetime) -> CaseEntry:
    return CaseEntry(
        id=uuid.uuid4(),
        tenant_id=handover.tenant_id,
        debtor_id=handover.debtor_id,
        handover_id=handover.id,
        author_id=author.user_id,
        author_label=author.label[:254],
        kind=kind,
        at=now,
    )


def _text(text: str, *, required: bool) -> str:
    clean = text.strip()
    if required and not clean:
        raise CaseRefused(_("Write something."), "text")
    if len(clean) > TEXT_MAX:
        raise CaseRefused(_("Use at most %(n)s characters.") % {"n": TEXT_MAX}, "text")
    return clean


def _audit(
    session: AsyncSession,
    author: Actor,
    action: str,
    handover: Handover,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        author,
        action,
        target=str(handover.id),
        tenant_id=handover.tenant_id,
        details=details,
    )


# -- notes, calls, promises -------------------------------------------------------------


async def add_note(
    session: AsyncSession, handover: Handover, text: str, *, author: Actor, now: datetime
) -> CaseEntry:
    """A note on the account, visible to the agency and the creditor."""
    entry = _entry(handover, author, CaseEntryKind.NOTE, now)
    entry.text = _text(text, required=True)
    session.add(entry)
    _audit(session, author, "case.note_added", handover, {"entry": str(entry.id)})
    return entry


async def _contact_of(
    session: AsyncSession, handover: Handover, contact_id: uuid.UUID | None
) -> Contact | None:
    if contact_id is None:
        return None
    found: Contact | None = await session.scalar(
        select(Contact).where(
            Contact.id == contact_id,
            Contact.tenant_id == handover.tenant_id,
            Contact.debtor_id == handover.debtor_id,
        )
    )
    return found


def _collection_refusal(rule: str) -> CaseRefused:
    reasons = {
        "prescribed": _(
            "Every open debt of this account is prescribed: no active collection, no calls."
        ),
        "disputed": _(
            "The open debts of this account are disputed (or prescribed): collection stops "
            "until the creditor answers the dispute."
        ),
        "not_due": _("Nothing is left to collect on this account."),
    }
    return CaseRefused(reasons.get(rule, rule))


async def log_call(
    session: AsyncSession,
    handover: Handover,
    contact_id: uuid.UUID | None,
    outcome: str,
    text: str,
    *,
    author: Actor,
    now: datetime,
) -> CaseEntry:
    """Log a call to one of the person's phones, under the same rules as the régua.

    Refused (``CaseRefused``) for a number that is not the person's own phone on file,
    reported as someone else's or opted out; when every open debt is prescribed or
    disputed; outside the contact hours of the debtor's state; when the frequency cap is
    reached. A logged call counts in the cap and is the account's latest contact; a
    "wrong number" stops that number for every creditor at once.
    """
    if outcome not in CALL_OUTCOMES:
        raise CaseRefused(_("Choose the outcome of the call."), "outcome")
    note = _text(text, required=False)
    contact = await _contact_of(session, handover, contact_id)
    if contact is None or contact.kind != ContactKind.PHONE:
        raise CaseRefused(_("Choose one of the person's phone numbers."), "contact")
    if contact.not_mine_at is not None:
        raise CaseRefused(
            _("This number was reported as not the person's: it may not be called."), "contact"
        )
    if contact.opted_out_at is not None:
        raise CaseRefused(_("The person asked not to be contacted on this number."), "contact")
    debtor = await session.get_one(Debtor, handover.debtor_id)
    await reminders.lock_person(session, debtor.cpf_hash)
    rule = await reminders.account_rule(
        session, handover.tenant_id, debtor.id, _local_day(now, debtor.state)
    )
    if rule:
        raise _collection_refusal(rule)
    if not rules.is_allowed(now, debtor.state):
        allowed = rules.next_allowed(now, debtor.state).astimezone(SAO_PAULO)
        raise CaseRefused(
            _(
                "Outside the hours in which this person may be contacted. "
                "Next possible time: %(when)s (Brasília time)."
            )
            % {"when": allowed.strftime("%d/%m/%Y %H:%M")}
        )
    if await reminders.over_cap(session, handover.tenant_id, debtor, now):
        raise CaseRefused(
            _(
                "This person was already contacted as often as allowed "
                "(once a day per creditor, three times a week in all)."
            )
        )
    entry = _entry(handover, author, CaseEntryKind.CALL, now)
    entry.contact_id, entry.call_outcome, entry.text = contact.id, outcome, note
    session.add(entry)
    handover.last_contact_at = now
    if outcome == "wrong_number":
        await session.execute(
            update(Contact)
            .where(
                Contact.kind == contact.kind,
                Contact.value == contact.value,
                Contact.not_mine_at.is_(None),
            )
            .values(not_mine_at=now)
            .execution_options(synchronize_session=False)
        )
        await disown(session, contact.kind, contact.value, now)  # and every later copy
        await session.refresh(contact, ["not_mine_at"])
    await refresh_follow_up(session, handover)
    _audit(
        session,
        author,
        "case.call_logged",
        handover,
        {"entry": str(entry.id), "outcome": outcome, "contact": mask_phone(contact.value)},
    )
    return entry


@dataclass(frozen=True, slots=True)
class PromiseInput:
    amount: int  # centavos
    promised_on: date
    follow_up_on: date


_BR_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


def _read_date(text: str) -> date | None:
    match = _BR_DATE.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def promise_problems(promise: PromiseInput, today: date) -> dict[str, str]:
    """What is wrong with a promise to pay (field → message); empty when it may be kept.

    The amount is positive; the promised date is between today and the horizon; the
    follow-up is not in the past and at most a few days after the promised date.
    """
    problems: dict[str, str] = {}
    if promise.amount <= 0:
        problems["amount"] = _("The amount must be more than zero.")
    if promise.promised_on < today:
        problems["promised_on"] = _("The promised date cannot be in the past.")
    elif promise.promised_on > today + timedelta(days=PROMISE_HORIZON_DAYS):
        problems["promised_on"] = _("A promise is for the next %(n)s days at most.") % {
            "n": PROMISE_HORIZON_DAYS
        }
    if promise.follow_up_on < today:
        problems["follow_up_on"] = _("The follow-up date cannot be in the past.")
    elif promise.follow_up_on > promise.promised_on + timedelta(days=FOLLOW_UP_GRACE_DAYS):
        problems["follow_up_on"] = _("Follow up at most %(n)s days after the promised date.") % {
            "n": FOLLOW_UP_GRACE_DAYS
        }
    return problems


def read_promise(
    amount: str, promised_on: str, follow_up_on: str, today: date
) -> tuple[PromiseInput | None, dict[str, str]]:
    """A promise as typed in the form (``150,00``; ``15/04/2026`` or ISO dates), checked."""
    errors: dict[str, str] = {}
    cents = 0
    try:
        cents = parse_brl(amount)
    except InvalidAmount:
        errors["amount"] = _("Type an amount, for example 150,00.")
    promised = _read_date(promised_on)
    if promised is None:
        errors["promised_on"] = _("Type the date as day/month/year, for example 15/04/2026.")
    follow = _read_date(follow_up_on) if follow_up_on.strip() else promised
    if follow is None:
        errors["follow_up_on"] = _("Type the date as day/month/year, for example 15/04/2026.")
    if errors or promised is None or follow is None:
        return None, errors
    promise = PromiseInput(cents, promised, follow)
    errors = promise_problems(promise, today)
    return (None, errors) if errors else (promise, {})


async def add_promise(
    session: AsyncSession,
    handover: Handover,
    promise: PromiseInput,
    text: str = "",
    *,
    author: Actor,
    now: datetime,
) -> CaseEntry:
    """Record the person's promise to pay; its follow-up brings the account back to the
    top of the queue on that day (``Handover.follow_up_on``: the earliest pending)."""
    problems = promise_problems(promise, now.astimezone(SAO_PAULO).date())
    if problems:
        name, message = next(iter(problems.items()))
        raise CaseRefused(message, name, errors=problems)
    entry = _entry(handover, author, CaseEntryKind.PROMISE, now)
    entry.text = _text(text, required=False)
    entry.promised_amount = promise.amount
    entry.promised_on = promise.promised_on
    entry.follow_up_on = promise.follow_up_on
    entry.promise_status = "open"
    session.add(entry)
    await refresh_follow_up(session, handover)
    _audit(
        session,
        author,
        "case.promise_added",
        handover,
        {
            "entry": str(entry.id),
            "amount": promise.amount,
            "promised_on": promise.promised_on.isoformat(),
            "follow_up_on": promise.follow_up_on.isoformat(),
        },
    )
    return entry


# -- promises kept and broken, and the follow-up they ask for ---------------------------


@dataclass(frozen=True, slots=True)
class PromiseState:
    status: str  # open | kept | broken
    at: datetime  # when it was recorded
    promised_on: date
    follow_up_on: date


def promise_outcome(amount: int, promised_on: date, paid_since: int, today: date) -> str:
    """Kept when the payments since the promise reach the amount by the promised date;
    broken once that date has passed without them; open until then."""
    if paid_since >= amount:
        return "kept"
    if today > promised_on:
        return "broken"
    return "open"


def follow_up_of(promises: Iterable[PromiseState], last_contact_at: datetime | None) -> date | None:
    """The day the account must come back to the agent: the earliest follow-up still
    pending. An open promise's follow-up is done by a call on or after its day; a broken
    promise asks for a call after its promised date (from the day after it, or from its
    follow-up if later). Kept promises ask for nothing."""
    pending: list[date] = []
    for p in promises:
        # The day of the latest call, if it came after the promise was recorded.
        called_on = (
            last_contact_at.astimezone(SAO_PAULO).date()
            if last_contact_at is not None and last_contact_at > p.at
            else None
        )
        if p.status == "open" and (called_on is None or called_on < p.follow_up_on):
            pending.append(p.follow_up_on)
        elif p.status == "broken" and (called_on is None or called_on <= p.promised_on):
            pending.append(max(p.follow_up_on, p.promised_on + timedelta(days=1)))
    return min(pending, default=None)


async def refresh_follow_up(session: AsyncSession, handover: Handover) -> None:
    """Set the hand-over's follow-up date from its promises (see ``follow_up_of``)."""
    promises = await session.scalars(
        select(CaseEntry).where(
            CaseEntry.tenant_id == handover.tenant_id,
            CaseEntry.handover_id == handover.id,
            CaseEntry.kind == CaseEntryKind.PROMISE,
            CaseEntry.promise_status.in_(("open", "broken")),
        )
    )
    handover.follow_up_on = follow_up_of(
        (
            PromiseState(p.promise_status, p.at, p.promised_on, p.follow_up_on)
            for p in promises
            if p.promised_on is not None and p.follow_up_on is not None
        ),
        handover.last_contact_at,
    )


async def review_promises(db: Database, today: date) -> int:
    """Mark promises kept or broken from the payments on the account's agreements, and
    recompute the follow-up of their hand-overs; returns how many changed. Idempotent:
    run it again and nothing changes. A broken promise is looked at again for a while,
    so a payment recorded late (dated by the promised day) still keeps it."""
    async with db.session(Scope.system()) as session:
        promises = list(
            await session.scalars(
                select(CaseEntry).where(
                    CaseEntry.kind == CaseEntryKind.PROMISE,
                    or_(
                        CaseEntry.promise_status == "open",
                        and_(
                            CaseEntry.promise_status == "broken",
                            CaseEntry.promised_on >= today - timedelta(days=RECHECK_BROKEN_DAYS),
                        ),
                    ),
                )
            )
        )
        if not promises:
            return 0
        paid: dict[uuid.UUID, list[tuple[date, int]]] = {}
        rows = await session.execute(
            select(Agreement.debtor_id, Payment.paid_on, Payment.amount - Payment.refunded)
            .join(Agreement, Agreement.id == Payment.agreement_id)
            .where(
                Agreement.debtor_id.in_({p.debtor_id for p in promises}),
                Payment.status == PaymentStatus.SUCCEEDED,
                Payment.paid_on.is_not(None),
            )
        )
        for debtor_id, paid_on, amount in rows.all():
            if paid_on is not None:
                paid.setdefault(debtor_id, []).append((paid_on, amount))
        changed = 0
        handover_ids: set[uuid.UUID] = set()
        for promise in promises:
            if promise.promised_on is None or promise.promised_amount is None:
                continue
            since = promise.at.astimezone(SAO_PAULO).date()
            total = sum(
                amount
                for paid_on, amount in paid.get(promise.debtor_id, [])
                if since <= paid_on <= promise.promised_on
            )
            status = promise_outcome(promise.promised_amount, promise.promised_on, total, today)
            if status != promise.promise_status:
                promise.promise_status = status
                changed += 1
            if promise.handover_id is not None:
                handover_ids.add(promise.handover_id)
        if handover_ids:
            for handover in await session.scalars(
                select(Handover).where(Handover.id.in_(handover_ids))
            ):
                await refresh_follow_up(session, handover)
        await session.commit()
        return changed


# -- messages ---------------------------------------------------------------------------


async def send_message(
    session: AsyncSession,
    handover: Handover,
    channel: str,
    contact_id: uuid.UUID | None,
    text: str,
    now: datetime,
    *,
    author: Actor,
    base_url: str,
    opt_out_key: str,
) -> Message:
    """Write a message to the person into the régua's outbox (``reminders.plan_message``):
    decided by the same rules (it may be ``blocked``, with the rule's name), sent by the
    same dispatcher within the person's hours, with the creditor's identification and
    the opt-out instruction added as a footer. Refused for a bad text or contact."""
    chosen = next((c for c in MESSAGE_CHANNELS if c.value == channel), None)
    if chosen is None:
        raise CaseRefused(
            _(
                "Messages from an account go by e-mail or SMS (WhatsApp takes only approved "
                "templates)."
            ),
            "channel",
        )
    body = text.strip()
    if len(body) > MESSAGE_MAX[chosen]:
        raise CaseRefused(_("Use at most %(n)s characters.") % {"n": MESSAGE_MAX[chosen]}, "text")
    problems = rules.check_template(rules.plain_text(body))
    if problems:
        raise CaseRefused("; ".join(p.message for p in problems), "text")
    contact = await _contact_of(session, handover, contact_id)
    if contact is None or contact.kind != MESSAGE_CHANNELS[chosen]:
        raise CaseRefused(
            _("Choose an e-mail address for an e-mail, a phone number for an SMS."), "contact"
        )
    tenant = await session.get_one(Tenant, handover.tenant_id)
    debtor = await session.get_one(Debtor, handover.debtor_id)
    subject = ""
    if chosen == Channel.EMAIL:
        subject = _("A message from %(creditor)s") % {"creditor": tenant.name}
    message = await reminders.plan_message(
        session,
        tenant=tenant,
        debtor=debtor,
        contact=contact,
        channel=chosen,
        subject=subject,
        text=body,
        base_url=base_url,
        opt_out_key=opt_out_key,
        now=now,
    )
    _audit(
        session,
        author,
        "case.message_written",
        handover,
        {
            "message": str(message.id),
            "channel": chosen.value,
            "status": message.status.value,
            "rule": message.rule,
        },
    )
    return message


# -- visits to the debtor site ----------------------------------------------------------


def _new_id(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))


async def record_visit(
    session: AsyncSession,
    cpf_hash: str,
    what: str,
    details: Mapping[str, Any],
    *,
    now: datetime,
    tenant_id: uuid.UUID | None = None,
) -> None:
    """Note what the person did on the debtor site on every debtor row of their CPF
    (each creditor sees it on its account), or only at ``tenant_id`` (an offer is one
    creditor's business). One ``INSERT … SELECT``; ``session`` must see every tenant."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    source = select(
        _new_id(dialect),
        Debtor.tenant_id,
        Debtor.id,
        literal(what),
        literal(dict(details), JSON()),
        literal(now, UTCDateTime()),
    ).where(Debtor.cpf_hash == cpf_hash)
    if tenant_id is not None:
        source = source.where(Debtor.tenant_id == literal(tenant_id, Uuid()))
    await session.execute(
        insert(SiteVisit).from_select(
            ["id", "tenant_id", "debtor_id", "what", "details", "at"], source
        )
    )


async def note_visit(
    db: Database,
    cpf_hash: str,
    what: str,
    details: Mapping[str, Any],
    *,
    now: datetime,
    tenant_id: uuid.UUID | None = None,
) -> None:
    """``record_visit`` in a unit of work of its own (the debtor site's pages)."""
    async with db.session(Scope.system()) as session:
        await record_visit(session, cpf_hash, what, details, now=now, tenant_id=tenant_id)
        await session.commit()
