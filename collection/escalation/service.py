"""Escalation within the law: prior notice, negativação and its removal, protesto, judicial.

Every step is a use case on a tenant-scoped session (``advance`` opens its own system
session: it is the periodic job) and writes an audit line. The rules themselves live in
``collection.domain.escalation``; this module gathers the facts, refuses with the
debt named and the reason worded, and writes nothing when any debt asked for is refused.

Choices where the task is silent:

- one letter, and one escalation, per debt (a debtor with two debts gets two letters);
- the amount of an escalation is the debt's updated balance (the tenant's charges) on
  the day the notice batch or the decision is made; a letter shows the balance, itemised,
  on the day it is printed. A charge that cannot be computed (a rate table missing) is
  left out rather than guessed, so no amount is ever more than what is owed;
- a listing is withdrawn (removal requested) when the debt is paid or settled, when a
  succeeded payment of a live agreement covers it, when a dispute is opened, and when it
  reaches prescription (CDC art. 43 §1); cancelling a listed one requests its removal;
- a notice whose debt stopped being open (paid, in an agreement) before listing is
  cancelled by ``advance``: a later listing needs a new notice;
- the bureau file holds the inclusions and removal requests of a date range (today by
  default), so a day's movements are sent once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.debtor.page import policy_of
from collection.domain import escalation as rules
from collection.domain import valuation as v
from collection.domain.documents import format_cnpj, mask_cpf
from collection.domain.errors import ValuationError
from collection.domain.escalation import Block, EscalationStatus
from collection.escalation.bureau_files import BUREAU_HEADER, INCLUSION, REMOVAL, bureau_row
from collection.escalation.notice_letters_pdf import Creditor, Letter, cep, mailing_csv
from collection.escalation.notice_letters_pdf import letters_pdf as render_letters
from collection.imports.reading.report import decimal_comma, spreadsheet_csv
from collection.models import (
    Agreement,
    AgreementDebt,
    BureauFile,
    Debt,
    DebtStatus,
    Dispute,
    Escalation,
    EscalationKind,
    NoticeBatch,
    Payment,
    PaymentStatus,
)
from core.clock import SAO_PAULO
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from core.i18n import local_date
from core.tenancy import session_scope
from tenants.models import Tenant, User
from tenants.services import audit
from tenants.services.audit import Actor

__all__ = [
    "CANDIDATES_SHOWN",
    "DECISION_KINDS",
    "JOB",
    "Candidate",
    "EscalationNotFound",
    "EscalationRefused",
    "Overview",
    "Problem",
    "advance",
    "bureau_file",
    "cancel",
    "candidates",
    "decide",
    "judicial_file",
    "kind_of",
    "letters_pdf",
    "list_with_bureau",
    "mailing_list",
    "mark_posted",
    "overview",
    "protest_file",
    "set_wait_days",
    "start_notices",
]

CANDIDATES_SHOWN = 300
DECISION_KINDS = (EscalationKind.PROTESTO, EscalationKind.JUDICIAL)
JOB = Actor(None, "escalonamento (rotina)", "", None)
_SETTLED = (DebtStatus.PAID, DebtStatus.REGULARIZED)
_LIVE_AGREEMENT = ("awaiting_first_payment", "active", "late", "paid")
_CHUNK = 500


class EscalationNotFound(LookupError):
    """A debt, batch or escalation that is not the current tenant's (or does not exist)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One debt refused, named for the person, with the reason."""

    debt_id: uuid.UUID
    label: str
    reason: str


class EscalationRefused(Refusal):
    """A step refused; ``problems`` names each debt refused and why. Nothing was written."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        detail = "; ".join(f"{p.label}: {p.reason}" for p in problems)
        super().__init__(f"{message} {detail}".strip())
        self.summary = message
        self.problems = tuple(problems)


def reason_text(block: Block, eligible: date | None = None) -> str:
    """The reason a person reads for a rule's refusal."""
    if block is Block.WAITING and eligible is not None:
        return _("Waiting period not over: it may be listed from %(date)s.") % {
            "date": local_date(eligible)
        }
    texts = {
        Block.NOT_OPEN: _("The debt is not open (in an agreement, paid or settled)."),
        Block.PRESCRIBED: _(
            "Prescribed: due more than 5 years ago. No negativação, protest or lawsuit."
        ),
        Block.DISPUTED: _("Disputed: nothing escalates until you answer the dispute."),
        Block.NO_ADDRESS: _("No postal address on file (street, city, state and CEP)."),
        Block.ALREADY_ESCALATED: _("Already under this escalation."),
        Block.NOT_POSTED: _("The prior notice has not been posted yet."),
        Block.WAITING: _("The waiting period after the notice is not over."),
    }
    return texts[block]


def _label(debt: Debt) -> str:
    return f"{debt.contract} ({debt.debtor.name})"


async def _tenant(session: AsyncSession) -> Tenant:
    scope = session_scope(session.sync_session)
    if scope.tenant_id is None:
        raise RuntimeError("escalation steps run in a tenant's session")
    return await session.get_one(Tenant, scope.tenant_id)


def _valuation(debt: Debt, tenant: Tenant, on: date) -> v.Valuation | None:
    items = tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items if i.amount > 0)
    domain = (
        v.Debt(reference=debt.contract, items=items, paid=debt.paid)
        if items
        else v.Debt.single(debt.contract, max(debt.original_amount, 1), debt.due_date)
    )
    try:
        return v.valuate(domain, on, terms=policy_of(tenant).charges)
    except ValuationError:
        return None


def _balance(debt: Debt, tenant: Tenant, on: date) -> int:
    """The updated balance on ``on``; the principal alone when a charge cannot be computed."""
    valuation = _valuation(debt, tenant, on)
    return valuation.total if valuation is not None else debt.original_amount


def _has_address(debt: Debt) -> bool:
    d = debt.debtor
    return rules.has_postal_address(d.address, d.city, d.state, d.zip_code)


def _debts_query() -> Select[Debt]:
    return select(Debt).options(selectinload(Debt.debtor), selectinload(Debt.items))


async def _debts(session: AsyncSession, debt_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Debt]:
    """The debts asked for, locked for this unit of work (PostgreSQL) so two people cannot
    escalate the same debt at once; any id not the tenant's is not found."""
    found: dict[uuid.UUID, Debt] = {}
    for start in range(0, len(debt_ids), _CHUNK):
        chunk = debt_ids[start : start + _CHUNK]
        rows = await session.scalars(
            _debts_query().where(Debt.id.in_(chunk)).with_for_update(of=Debt)
        )
        found.update((d.id, d) for d in rows.all())
    missing = [i for i in debt_ids if i not in found]
    if missing:
        raise EscalationNotFound(missing[0])
    return found


async def _disputed(session: AsyncSession, debt_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(debt_ids)
    out: set[uuid.UUID] = set()
    for start in range(0, len(ids), _CHUNK):
        rows = await session.scalars(
            select(Dispute.debt_id).where(
                Dispute.debt_id.in_(ids[start : start + _CHUNK]), Dispute.status == "open"
            )
        )
        out.update(rows.all())
    return out


async def _escalated(
    session: AsyncSession, debt_ids: Iterable[uuid.UUID], kind: EscalationKind
) -> set[uuid.UUID]:
    """Debts with a step of ``kind`` in course (a negativação not ended, or a decision)."""
    statuses = (
        [s.value for s in rules.IN_COURSE]
        if kind is EscalationKind.NEGATIVACAO
        else [EscalationStatus.DECIDED.value]
    )
    ids = list(debt_ids)
    out: set[uuid.UUID] = set()
    for start in range(0, len(ids), _CHUNK):
        rows = await session.scalars(
            select(Escalation.debt_id).where(
                Escalation.debt_id.in_(ids[start : start + _CHUNK]),
                Escalation.kind == kind,
                Escalation.status.in_(statuses),
            )
        )
        out.update(rows.all())
    return out


def _facts(debt: Debt, disputed: set[uuid.UUID], escalated: set[uuid.UUID]) -> rules.DebtFacts:
    return rules.DebtFacts(
        is_open=debt.status == DebtStatus.OPEN,
        due_date=debt.due_date,
        disputed=debt.id in disputed,
        has_postal_address=_has_address(debt),
        escalated=debt.id in escalated,
    )


def _unique(ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open debt and whether a prior notice may go to it today (and if not, why)."""

    debt: Debt
    amount: int
    block: Block | None
    reason: str
    may_decide: bool

    @property
    def masked_cpf(self) -> str:
        return mask_cpf(self.debt.debtor.cpf)


async def candidates(session: AsyncSession, today: date) -> list[Candidate]:
    """Open debts, oldest first, each with the reason it may not get a notice (if any)."""
    tenant = await _tenant(session)
    rows = await session.scalars(
        _debts_query()
        .where(Debt.status == DebtStatus.OPEN)
        .order_by(Debt.due_date, Debt.contract)
        .limit(CANDIDATES_SHOWN)
    )
    debts = list(rows.all())
    ids = [d.id for d in debts]
    disputed = await _disputed(session, ids)
    in_course = await _escalated(session, ids, EscalationKind.NEGATIVACAO)
    out: list[Candidate] = []
    for debt in debts:
        facts = _facts(debt, disputed, in_course)
        block = rules.may_notify(facts, today)
        # Which kind is not known yet: ``decide`` checks "already decided" for the kind.
        decidable = rules.may_decide(replace(facts, escalated=False), today) is None
        out.append(
            Candidate(
                debt=debt,
                amount=_balance(debt, tenant, today),
                block=block,
                reason=reason_text(block) if block is not None else "",
                may_decide=decidable,
            )
        )
    return out


@dataclass(slots=True)
class Overview:
    """What the escalation page shows besides the candidates."""

    tenant: Tenant
    batches: list[NoticeBatch] = field(default_factory=list)
    pending: list[Escalation] = field(default_factory=list)  # notice made, not posted
    waiting: list[Escalation] = field(default_factory=list)  # posted, wait running
    ready: list[Escalation] = field(default_factory=list)  # posted, wait over
    listed: list[Escalation] = field(default_factory=list)
    removals: list[Escalation] = field(default_factory=list)
    decisions: list[Escalation] = field(default_factory=list)


async def overview(session: AsyncSession, today: date) -> Overview:
    """The tenant's batches and escalations in course, grouped for the page."""
    tenant = await _tenant(session)
    view = Overview(tenant=tenant)
    batches = await session.scalars(
        select(NoticeBatch).order_by(NoticeBatch.created_at.desc()).limit(50)
    )
    view.batches = list(batches.all())
    rows = await session.scalars(
        select(Escalation)
        .where(
            Escalation.status.in_(
                [
                    EscalationStatus.NOTICE_PENDING,
                    EscalationStatus.NOTICE_POSTED,
                    EscalationStatus.LISTED,
                    EscalationStatus.DECIDED,
                ]
            )
            | (
                (Escalation.status == EscalationStatus.REMOVAL_REQUESTED)
                & (Escalation.removal_requested_on >= today - timedelta(days=60))
            )
        )
        .options(selectinload(Escalation.debt).selectinload(Debt.debtor))
        .order_by(Escalation.created_at)
    )
    for esc in rows.all():
        status = esc.status
        if status == EscalationStatus.NOTICE_PENDING:
            view.pending.append(esc)
        elif status == EscalationStatus.NOTICE_POSTED:
            ready = esc.eligible_on is not None and esc.eligible_on <= today
            (view.ready if ready else view.waiting).append(esc)
        elif status == EscalationStatus.LISTED:
            view.listed.append(esc)
        elif status == EscalationStatus.REMOVAL_REQUESTED:
            view.removals.append(esc)
        else:
            view.decisions.append(esc)
    view.removals.sort(key=lambda e: e.removal_requested_on or today, reverse=True)
    return view


# -- prior notices ---------------------------------------------------------------------


async def start_notices(
    session: AsyncSession, debt_ids: Sequence[uuid.UUID], by: Actor, today: date
) -> NoticeBatch:
    """A batch of prior notices, one letter (and one pending negativação) per debt.

    Every debt must be eligible: otherwise nothing is written and the refusal names
    each debt refused with its reason.
    """
    ids = _unique(debt_ids)
    if not ids:
        raise EscalationRefused(_("Choose at least one debt."))
    tenant = await _tenant(session)
    debts = await _debts(session, ids)
    disputed = await _disputed(session, ids)
    in_course = await _escalated(session, ids, EscalationKind.NEGATIVACAO)
    problems: list[Problem] = []
    for debt_id in ids:
        debt = debts[debt_id]
        block = rules.may_notify(_facts(debt, disputed, in_course), today)
        if block is not None:
            problems.append(Problem(debt_id, _label(debt), reason_text(block)))
    if problems:
        raise EscalationRefused(_("No notice was made. Leave out or fix:"), problems)
    batch = NoticeBatch(id=uuid.uuid4(), created_by=by.user_id, letters=len(ids))
    session.add(batch)
    await session.flush()  # no relationship orders the inserts: the batch goes first
    for debt_id in ids:
        session.add(
            Escalation(
                id=uuid.uuid4(),
                debt_id=debt_id,
                kind=EscalationKind.NEGATIVACAO,
                status=EscalationStatus.NOTICE_PENDING,
                batch_id=batch.id,
                amount=_balance(debts[debt_id], tenant, today),
                decided_by=by.user_id,
            )
        )
    audit.record(
        session,
        by,
        "escalation.notices_started",
        target=str(batch.id),
        details={"letters": len(ids), "debts": [str(i) for i in ids]},
    )
    await session.flush()
    return batch


async def _batch(session: AsyncSession, batch_id: uuid.UUID) -> NoticeBatch:
    batch = await session.scalar(select(NoticeBatch).where(NoticeBatch.id == batch_id))
    if batch is None:
        raise EscalationNotFound(batch_id)
    return batch


def _local_day(at: datetime) -> date:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(SAO_PAULO).date()


async def mark_posted(
    session: AsyncSession, batch_id: uuid.UUID, posted_on: date, by: Actor, today: date
) -> NoticeBatch:
    """Record the day the batch's letters were posted: the wait of each starts then."""
    batch = await _batch(session, batch_id)
    if batch.posted_on is not None:
        raise EscalationRefused(
            _("This batch was already recorded as posted on %(date)s.")
            % {"date": local_date(batch.posted_on)}
        )
    if posted_on > today:
        raise EscalationRefused(_("The posting date cannot be in the future."))
    made_on = _local_day(batch.created_at)
    # created_at is wall-clock time; a shifted app clock (demos) may read earlier than it.
    if made_on <= today and posted_on < made_on:
        raise EscalationRefused(_("The posting date cannot be before the letters were made."))
    tenant = await _tenant(session)
    wait = max(tenant.negativacao_wait_days, rules.MIN_WAIT_DAYS)
    batch.posted_on = posted_on
    result = await session.execute(
        update(Escalation)
        .where(
            Escalation.batch_id == batch.id,
            Escalation.status == EscalationStatus.NOTICE_PENDING,
        )
        .values(
            status=EscalationStatus.NOTICE_POSTED.value,
            eligible_on=rules.eligible_on(posted_on, wait),
        )
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        by,
        "escalation.notices_posted",
        target=str(batch.id),
        details={
            "posted_on": posted_on.isoformat(),
            "wait_days": wait,
            "letters": int(getattr(result, "rowcount", 0) or 0),
        },
    )
    return batch


async def _letters(
    session: AsyncSession, batch_id: uuid.UUID, on: date
) -> tuple[Tenant, NoticeBatch, list[Letter]]:
    """The letters of a batch (its escalations not cancelled), itemised as of ``on``, the
    day they are printed."""
    tenant = await _tenant(session)
    batch = await _batch(session, batch_id)
    rows = await session.scalars(
        select(Escalation)
        .where(
            Escalation.batch_id == batch.id,
            Escalation.status != EscalationStatus.CANCELLED,
        )
        .options(
            selectinload(Escalation.debt).selectinload(Debt.debtor),
            selectinload(Escalation.debt).selectinload(Debt.items),
        )
        .order_by(Escalation.created_at, Escalation.id)
    )
    letters: list[Letter] = []
    for number, esc in enumerate(rows.all(), start=1):
        debt, debtor = esc.debt, esc.debt.debtor
        valuation = _valuation(debt, tenant, on)
        letters.append(
            Letter(
                number=number,
                debtor_name=debtor.name,
                masked_cpf=mask_cpf(debtor.cpf),
                address=debtor.address,
                city=debtor.city,
                state=debtor.state,
                zip_code=debtor.zip_code,
                contract=debt.contract,
                product=debt.product,
                due_date=debt.due_date,
                computed_on=on,
                principal=valuation.principal if valuation else debt.original_amount,
                late_fee=valuation.late_fee if valuation else 0,
                interest=valuation.interest if valuation else 0,
                correction=valuation.correction if valuation else 0,
                fees=valuation.fees if valuation else 0,
                total=valuation.total if valuation else debt.original_amount,
            )
        )
    return tenant, batch, letters


async def letters_pdf(
    session: AsyncSession, batch_id: uuid.UUID, by: Actor, site_url: str, today: date
) -> bytes:
    """The batch's letters as one printable PDF, amounts as of ``today`` (the day they are
    printed); the download is audited (personal data)."""
    tenant, batch, letters = await _letters(session, batch_id, today)
    creditor = Creditor(tenant.legal_name, tenant.cnpj, tenant.address)
    wait = max(tenant.negativacao_wait_days, rules.MIN_WAIT_DAYS)
    audit.record(
        session,
        by,
        "escalation.letters_exported",
        target=str(batch.id),
        details={"n": len(letters)},
    )
    return render_letters(creditor, letters, wait_days=wait, site_url=site_url, issued_on=today)


async def mailing_list(session: AsyncSession, batch_id: uuid.UUID, by: Actor, today: date) -> bytes:
    """The batch's mailing list for the post office as CSV (audited)."""
    _tenant_row, batch, letters = await _letters(session, batch_id, today)
    audit.record(
        session,
        by,
        "escalation.mailing_exported",
        target=str(batch.id),
        details={"n": len(letters)},
    )
    return mailing_csv(letters)


# -- listing, cancelling, deciding -----------------------------------------------------


async def _escalations(
    session: AsyncSession, escalation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Escalation]:
    found: dict[uuid.UUID, Escalation] = {}
    for start in range(0, len(escalation_ids), _CHUNK):
        rows = await session.scalars(
            select(Escalation)
            .where(Escalation.id.in_(escalation_ids[start : start + _CHUNK]))
            .options(
                selectinload(Escalation.debt).selectinload(Debt.debtor),
            )
            .with_for_update(of=Escalation)
        )
        found.update((e.id, e) for e in rows.all())
    missing = [i for i in escalation_ids if i not in found]
    if missing:
        raise EscalationNotFound(missing[0])
    return found


async def list_with_bureau(
    session: AsyncSession, escalation_ids: Sequence[uuid.UUID], by: Actor, today: date
) -> list[Escalation]:
    """List the chosen negativações with the bureau (status ``listed``), each checked again
    today: open, not prescribed, not disputed, notice posted and its wait over. One
    refusal leaves every one as it was."""
    ids = _unique(escalation_ids)
    if not ids:
        raise EscalationRefused(_("Choose at least one debt."))
    tenant = await _tenant(session)
    found = await _escalations(session, ids)
    debt_ids = [e.debt_id for e in found.values()]
    disputed = await _disputed(session, debt_ids)
    batch_ids = {e.batch_id for e in found.values() if e.batch_id is not None}
    posted: dict[uuid.UUID, date | None] = {}
    if batch_ids:
        rows = await session.execute(
            select(NoticeBatch.id, NoticeBatch.posted_on).where(NoticeBatch.id.in_(batch_ids))
        )
        posted = {i: p for i, p in rows.all()}
    problems: list[Problem] = []
    for esc in (found[i] for i in ids):
        debt = esc.debt
        if esc.kind != EscalationKind.NEGATIVACAO or esc.status in (
            EscalationStatus.CANCELLED,
            EscalationStatus.REMOVAL_REQUESTED,
        ):
            problems.append(Problem(debt.id, _label(debt), _("This escalation has ended.")))
            continue
        posted_on = posted.get(esc.batch_id) if esc.batch_id is not None else None
        wait = max(tenant.negativacao_wait_days, rules.MIN_WAIT_DAYS)
        if posted_on is not None and esc.eligible_on is not None:
            wait = max(wait, (esc.eligible_on - posted_on).days)
        facts = rules.DebtFacts(
            is_open=debt.status == DebtStatus.OPEN,
            due_date=debt.due_date,
            disputed=debt.id in disputed,
            has_postal_address=_has_address(debt),
            escalated=esc.status == EscalationStatus.LISTED,
        )
        block = rules.may_list(facts, posted_on, wait, today)
        if block is not None:
            eligible = rules.eligible_on(posted_on, wait) if posted_on is not None else None
            problems.append(Problem(debt.id, _label(debt), reason_text(block, eligible)))
    if problems:
        raise EscalationRefused(_("Nothing was listed. Leave out or wait for:"), problems)
    listed = [found[i] for i in ids]
    for esc in listed:
        esc.status = EscalationStatus.LISTED
        esc.listed_on = today
        audit.record(
            session,
            by,
            "escalation.listed",
            target=str(esc.id),
            details={"debt": str(esc.debt_id), "amount": esc.amount},
        )
    return listed


async def kind_of(session: AsyncSession, escalation_id: uuid.UUID) -> EscalationKind:
    """The kind of one of the tenant's escalations (to check who may withdraw it)."""
    kind = await session.scalar(select(Escalation.kind).where(Escalation.id == escalation_id))
    if kind is None:
        raise EscalationNotFound(escalation_id)
    return kind


async def cancel(
    session: AsyncSession, escalation_id: uuid.UUID, by: Actor, reason: str, today: date
) -> Escalation:
    """Withdraw an escalation, with the reason. A listed negativação cannot just vanish:
    its removal is requested from the bureau instead."""
    text = reason.strip()[:500]
    if not text:
        raise EscalationRefused(_("Say why the escalation is withdrawn."))
    esc = (await _escalations(session, [escalation_id]))[escalation_id]
    before = esc.status
    if before == EscalationStatus.LISTED:
        esc.status = EscalationStatus.REMOVAL_REQUESTED
        esc.removal_requested_on = today
        esc.removal_due_on = today
    elif before in (
        EscalationStatus.NOTICE_PENDING,
        EscalationStatus.NOTICE_POSTED,
        EscalationStatus.DECIDED,
    ):
        esc.status = EscalationStatus.CANCELLED
    else:
        raise EscalationRefused(_("This escalation has ended."))
    esc.reason = text
    audit.record(
        session,
        by,
        "escalation.cancelled",
        target=str(esc.id),
        details={"from": str(before), "to": str(esc.status), "reason": text},
    )
    return esc


async def decide(
    session: AsyncSession,
    debt_id: uuid.UUID,
    kind: str,
    by: Actor,
    reason: str,
    today: date,
) -> Escalation:
    """Record the decision to protest a debt or refer it to court (never a prescribed or
    disputed one, nor one already so decided); its export file follows from it."""
    try:
        chosen = EscalationKind(kind)
    except ValueError:
        chosen = None
    if chosen not in DECISION_KINDS:
        raise EscalationRefused(_("Choose protest or judicial referral."))
    assert chosen is not None
    text = reason.strip()[:500]
    if not text:
        raise EscalationRefused(_("Write the grounds of the decision."))
    tenant = await _tenant(session)
    debt = (await _debts(session, [debt_id]))[debt_id]
    facts = _facts(
        debt, await _disputed(session, [debt_id]), await _escalated(session, [debt_id], chosen)
    )
    block = rules.may_decide(facts, today)
    if block is not None:
        raise EscalationRefused(
            _("Nothing was decided."), [Problem(debt.id, _label(debt), reason_text(block))]
        )
    esc = Escalation(
        id=uuid.uuid4(),
        debt_id=debt.id,
        kind=chosen,
        status=EscalationStatus.DECIDED,
        amount=_balance(debt, tenant, today),
        decided_by=by.user_id,
        reason=text,
    )
    session.add(esc)
    audit.record(
        session,
        by,
        "escalation.decided",
        target=str(esc.id),
        details={"debt": str(debt.id), "kind": chosen.value, "amount": esc.amount},
    )
    await session.flush()
    return esc


async def set_wait_days(session: AsyncSession, days: str, by: Actor) -> Tenant:
    """The tenant's waiting period after the notice: at least 10 days (bureau practice)."""
    try:
        value = int(days.strip())
    except ValueError:
        value = -1
    if not rules.MIN_WAIT_DAYS <= value <= rules.MAX_WAIT_DAYS:
        raise EscalationRefused(
            _("The waiting period must be between %(min)d and %(max)d days.")
            % {"min": rules.MIN_WAIT_DAYS, "max": rules.MAX_WAIT_DAYS}
        )
    tenant = await _tenant(session)
    before = tenant.negativacao_wait_days
    tenant.negativacao_wait_days = value
    audit.record(session, by, "escalation.wait_days", details={"from": before, "to": value})
    return tenant


# -- the periodic job ------------------------------------------------------------------


async def _payment_days(
    session: AsyncSession, debt_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[date, date]]:
    """For each debt, the first and last day a payment succeeded on a live agreement
    that settles it."""
    out: dict[uuid.UUID, tuple[date, date]] = {}
    for start in range(0, len(debt_ids), _CHUNK):
        rows = await session.execute(
            select(AgreementDebt.debt_id, Payment.paid_on)
            .join(Agreement, Agreement.id == AgreementDebt.agreement_id)
            .join(Payment, Payment.agreement_id == Agreement.id)
            .where(
                AgreementDebt.debt_id.in_(debt_ids[start : start + _CHUNK]),
                Agreement.status.in_(_LIVE_AGREEMENT),
                Payment.status == PaymentStatus.SUCCEEDED,
                Payment.paid_on.is_not(None),
            )
        )
        for debt_id, paid_on in rows.all():
            if paid_on is None:
                continue
            first, last = out.get(debt_id, (paid_on, paid_on))
            out[debt_id] = (min(first, paid_on), max(last, paid_on))
    return out


async def request_removals(
    session: AsyncSession, today: date, debt_ids: Sequence[uuid.UUID] | None = None
) -> dict[str, int]:
    """Request the removal of the listings (of ``debt_ids``, or all) whose debt was paid,
    is disputed or prescribed; a listing already past ``listed`` is left alone."""
    counts = {"removal_paid": 0, "removal_disputed": 0, "removal_prescribed": 0}
    query = (
        select(Escalation.id, Escalation.tenant_id, Debt.id, Debt.status, Debt.due_date)
        .join(Debt, Debt.id == Escalation.debt_id)
        .where(
            Escalation.kind == EscalationKind.NEGATIVACAO,
            Escalation.status == EscalationStatus.LISTED,
        )
    )
    if debt_ids is not None:
        query = query.where(Debt.id.in_(list(debt_ids)))
    rows = (await session.execute(query)).all()
    if not rows:
        return counts
    debt_ids = _unique(r[2] for r in rows)
    payments = await _payment_days(session, debt_ids)
    disputed = await _disputed(session, debt_ids)
    for esc_id, tenant_id, debt_id, status, due_date in rows:
        paid_on: date | None = None
        if status in _SETTLED:
            paid_on = payments[debt_id][1] if debt_id in payments else today
            why = "paid"
        elif status == DebtStatus.IN_AGREEMENT and debt_id in payments:
            paid_on = payments[debt_id][0]  # the agreement's first payment settles it
            why = "paid"
        elif debt_id in disputed:
            why = "disputed"
        elif rules.is_prescribed(due_date, today):
            why = "prescribed"
        else:
            continue
        values: dict[str, Any] = {
            "status": EscalationStatus.REMOVAL_REQUESTED.value,
            "removal_requested_on": today,
            "removal_due_on": rules.removal_due(paid_on) if paid_on is not None else today,
            "paid_on": paid_on,
            "reason": why,
        }
        result = await session.execute(
            update(Escalation)
            .where(Escalation.id == esc_id, Escalation.status == EscalationStatus.LISTED)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            counts[f"removal_{why}"] += 1
            audit.record(
                session,
                JOB,
                "escalation.removal_requested",
                tenant_id=tenant_id,
                target=str(esc_id),
                details={"why": why, "paid_on": paid_on.isoformat() if paid_on else None},
            )
    return counts


async def _close_moot_notices(session: AsyncSession) -> int:
    """Notices of debts no longer open (paid, settled, in an agreement) end: a later
    listing needs a new notice."""
    rows = (
        await session.execute(
            select(Escalation.id, Escalation.tenant_id)
            .join(Debt, Debt.id == Escalation.debt_id)
            .where(
                Escalation.kind == EscalationKind.NEGATIVACAO,
                Escalation.status.in_(
                    [EscalationStatus.NOTICE_PENDING, EscalationStatus.NOTICE_POSTED]
                ),
                Debt.status != DebtStatus.OPEN,
            )
        )
    ).all()
    closed = 0
    for esc_id, tenant_id in rows:
        result = await session.execute(
            update(Escalation)
            .where(
                Escalation.id == esc_id,
                Escalation.status.in_(
                    [EscalationStatus.NOTICE_PENDING, EscalationStatus.NOTICE_POSTED]
                ),
            )
            .values(status=EscalationStatus.CANCELLED.value, reason="debt_not_open")
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            closed += 1
            audit.record(
                session,
                JOB,
                "escalation.cancelled",
                tenant_id=tenant_id,
                target=str(esc_id),
                details={"reason": "debt_not_open"},
            )
    return closed


async def advance(db: Database, today: date) -> dict[str, int]:
    """Move escalations on by the calendar: request the removal of listings whose debt was
    paid (deadline: 5 business days after payment), disputed or prescribed, and end the
    notices of debts no longer open. Idempotent: a second run finds nothing to do."""
    async with db.session(Scope.system()) as session:
        counts = await request_removals(session, today)
        counts["notices_closed"] = await _close_moot_notices(session)
        await session.commit()
    return counts


# -- export files ----------------------------------------------------------------------


async def bureau_file(session: AsyncSession, since: date, until: date, by: Actor) -> bytes:
    """The bureau movements of a date range: inclusions (listed then) and removal requests
    (requested then), in date order; ``remessa`` names the file that sent each row and
    ``novo`` says which no file has sent yet (files: ``bureau_files.generate``). Holds
    whole CPFs, which the bureau needs: audited."""
    tenant = await _tenant(session)
    rows = await session.scalars(
        select(Escalation)
        .where(
            Escalation.kind == EscalationKind.NEGATIVACAO,
            Escalation.listed_on.is_not(None),
            Escalation.listed_on.between(since, until)
            | Escalation.removal_requested_on.between(since, until),
        )
        .options(selectinload(Escalation.debt).selectinload(Debt.debtor))
    )
    found = await session.execute(select(BureauFile.id, BureauFile.number))
    numbers: dict[uuid.UUID, int] = {i: n for i, n in found.all()}
    lines: list[tuple[date, int, list[str]]] = []
    for esc in rows.all():
        if esc.listed_on is not None and since <= esc.listed_on <= until:
            number = numbers.get(esc.listing_file_id) if esc.listing_file_id else None
            lines.append((esc.listed_on, 0, bureau_row(tenant, esc, INCLUSION, number)))
        requested = esc.removal_requested_on
        if requested is not None and since <= requested <= until:
            number = numbers.get(esc.removal_file_id) if esc.removal_file_id else None
            lines.append((requested, 1, bureau_row(tenant, esc, REMOVAL, number)))
    lines.sort(key=lambda line: (line[0], line[1]))
    audit.record(
        session,
        by,
        "escalation.bureau_exported",
        details={"since": since.isoformat(), "until": until.isoformat(), "rows": len(lines)},
    )
    return spreadsheet_csv(BUREAU_HEADER, (line[2] for line in lines))


DECISION_HEADER = (
    "credor_razao_social",
    "credor_cnpj",
    "credor_endereco",
    "devedor_cpf",
    "devedor_nome",
    "devedor_endereco",
    "devedor_cidade",
    "devedor_uf",
    "devedor_cep",
    "contrato",
    "produto",
    "valor_original",
    "valor_atualizado",
    "vencimento",
    "data_decisao",
    "decidido_por",
    "fundamento",
)


async def _decisions_file(session: AsyncSession, kind: EscalationKind, by: Actor) -> bytes:
    tenant = await _tenant(session)
    rows = await session.execute(
        select(Escalation, User.name)
        .outerjoin(User, User.id == Escalation.decided_by)
        .where(Escalation.kind == kind, Escalation.status == EscalationStatus.DECIDED)
        .options(selectinload(Escalation.debt).selectinload(Debt.debtor))
        .order_by(Escalation.created_at)
    )
    lines: list[list[object]] = []
    for esc, decided_by in rows.all():
        debt, debtor = esc.debt, esc.debt.debtor
        lines.append(
            [
                tenant.legal_name,
                format_cnpj(tenant.cnpj),
                tenant.address,
                debtor.cpf,
                debtor.name,
                debtor.address,
                debtor.city,
                debtor.state,
                cep(debtor.zip_code),
                debt.contract,
                debt.product,
                decimal_comma(debt.original_amount),
                decimal_comma(esc.amount),
                local_date(debt.due_date),
                local_date(_local_day(esc.created_at)),
                decided_by or "",
                esc.reason,
            ]
        )
    audit.record(session, by, f"escalation.{kind.value}_exported", details={"rows": len(lines)})
    return spreadsheet_csv(DECISION_HEADER, lines)


async def protest_file(session: AsyncSession, by: Actor) -> bytes:
    """What the notary needs for each debt decided for protest (whole CPFs: audited)."""
    return await _decisions_file(session, EscalationKind.PROTESTO, by)


async def judicial_file(session: AsyncSession, by: Actor) -> bytes:
    """What the lawyer needs for each debt referred to court (whole CPFs: audited)."""
    return await _decisions_file(session, EscalationKind.JUDICIAL, by)
