"""Hand-over of accounts to agencies by the tenants' rules, and the queue's scores.

A rule says which accounts (a debtor at a tenant) go to which agency at which
commission. Its conditions, when set, must all hold, judged on the account's
*collectible* debts: open, not prescribed (some installment less than five years past
due) and not under an open dispute. A prescribed or disputed debt never counts, so an
account with nothing else is never handed over.

- ``min_days_overdue``: the earliest collectible debt is at least that many days late;
- ``min_amount``: the collectible debts add up (original amounts) to at least that;
- ``on_broken_agreement``: the debtor has broken an agreement with the tenant;
- ``after_regua``: the régua ran its course without an answer. Kept simple: the tenant
  has at least one active step counted from the debt's due date, every such step has a
  sent or blocked message for every collectible debt of the account, and the debtor
  never made an agreement.

``hand_over`` is the periodic job. For each tenant it tries the active rules in
``position`` order, each one ``INSERT … SELECT`` of the accounts that match and have
no active hand-over yet, so the first rule that matches places the account (and the
unique index on active hand-overs makes a concurrent run harmless). Rules naming an
agency the tenant no longer grants are skipped; hand-overs to such an agency are
recalled; hand-overs with nothing left to collect (no open or in-agreement debt that is
not prescribed) are closed; then every active hand-over is rescored. Running it twice
changes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, Uuid, exists, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.business_days import add_years
from collection.domain.money import InvalidAmount, parse_brl
from collection.domain.queue_score import AccountFacts, queue_score
from collection.models import (
    Agreement,
    CaseEntry,
    CaseEntryKind,
    Debt,
    DebtItem,
    DebtStatus,
    Dispute,
    Handover,
    HandoverRule,
    HandoverStatus,
    Message,
    MessageStatus,
    ReminderAnchor,
    ReminderStep,
)
from core.clock import SAO_PAULO
from core.db import Database, Scope, UTCDateTime
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.models import Agency, AgencyGrant, Tenant

PRESCRIPTION_YEARS = 5
MAX_DAYS_OVERDUE = 36500
MAX_COMMISSION_PERCENT = Decimal(100)
STILL_OWED = (DebtStatus.OPEN, DebtStatus.IN_AGREEMENT)


class RuleError(Refusal):
    """A rule that cannot be saved; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# -- rules in the portal ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleForm:
    """A rule as typed in the portal (text, checked by ``save_rule``)."""

    name: str
    agency_id: str
    position: str = ""
    min_days_overdue: str = ""
    min_amount: str = ""  # reais, pt-BR ("1.500,00")
    on_broken_agreement: bool = False
    after_regua: bool = False
    commission_percent: str = ""  # "15" or "12,5"
    is_active: bool = True


def form_of(rule: HandoverRule) -> RuleForm:
    """The form showing a saved rule."""
    percent = (Decimal(rule.commission_rate) * 100).normalize()
    amount = ""
    if rule.min_amount is not None:
        whole, cents = divmod(rule.min_amount, 100)
        amount = f"{whole:,}".replace(",", ".") + f",{cents:02d}"
    return RuleForm(
        name=rule.name,
        agency_id=str(rule.agency_id),
        position=str(rule.position),
        min_days_overdue="" if rule.min_days_overdue is None else str(rule.min_days_overdue),
        min_amount=amount,
        on_broken_agreement=rule.on_broken_agreement,
        after_regua=rule.after_regua,
        commission_percent=f"{percent:f}".replace(".", ","),
        is_active=rule.is_active,
    )


@dataclass(frozen=True, slots=True)
class GrantedAgency:
    """An agency the current tenant lets work its accounts."""

    agency_id: uuid.UUID
    name: str
    commission_rate: str


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule in the list, with its agency's name and the accounts it placed."""

    rule: HandoverRule
    agency_name: str
    active_handovers: int


async def granted_agencies(session: AsyncSession) -> list[GrantedAgency]:
    """The agencies the session's tenant grants, by name."""
    rows = await session.execute(
        select(Agency.id, Agency.name, AgencyGrant.commission_rate)
        .join(AgencyGrant, AgencyGrant.agency_id == Agency.id)
        .order_by(Agency.name)
    )
    return [GrantedAgency(r[0], r[1], r[2]) for r in rows.all()]


async def rules_of(session: AsyncSession) -> list[RuleRow]:
    """The tenant's rules in the order they are tried."""
    placed = (
        select(Handover.rule_id, func.count().label("n"))
        .where(Handover.status == HandoverStatus.ACTIVE)
        .group_by(Handover.rule_id)
        .subquery()
    )
    rows = await session.execute(
        select(HandoverRule, Agency.name, func.coalesce(placed.c.n, 0))
        .join(Agency, Agency.id == HandoverRule.agency_id)
        .outerjoin(placed, placed.c.rule_id == HandoverRule.id)
        .order_by(HandoverRule.position, HandoverRule.created_at, HandoverRule.id)
    )
    return [RuleRow(rule, name, int(n)) for rule, name, n in rows.all()]


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> HandoverRule | None:
    """A rule of the session's tenant, or None."""
    found: HandoverRule | None = await session.scalar(
        select(HandoverRule).where(HandoverRule.id == rule_id)
    )
    return found


def _whole_number(field: str, text: str, low: int, high: int, message: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise RuleError(field, message)
    return int(text)


def _commission(text: str) -> str:
    raw = text.strip().replace("%", "").strip().replace(",", ".")
    message = _("Enter the commission as a percentage between 0 and 100, e.g. 15 or 12,5.")
    if not raw:
        raise RuleError("commission_percent", message)
    try:
        percent = Decimal(raw)
    except InvalidOperation as exc:
        raise RuleError("commission_percent", message) from exc
    if (
        not percent.is_finite()
        or not 0 <= percent <= MAX_COMMISSION_PERCENT
        or percent != percent.quantize(Decimal("0.01"))
    ):
        raise RuleError("commission_percent", message)
    return f"{(percent / 100).normalize():f}"


async def save_rule(
    session: AsyncSession, rule: HandoverRule | None, form: RuleForm
) -> HandoverRule:
    """Check the form and create (``rule`` None) or update the rule; ``RuleError`` names
    the first field at fault. The agency must be one the tenant grants."""
    name = form.name.strip()
    if not name or len(name) > 80:
        raise RuleError("name", _("Give the rule a name (up to 80 characters)."))
    granted = {a.agency_id for a in await granted_agencies(session)}
    try:
        agency_id = uuid.UUID(form.agency_id.strip())
    except ValueError:
        agency_id = None
    if agency_id is None or agency_id not in granted:
        raise RuleError("agency_id", _("Choose an agency that you have granted access."))
    position = _whole_number(
        "position", form.position, 0, 1000, _("The order is a whole number from 0 to 1000.")
    )
    days = _whole_number(
        "min_days_overdue",
        form.min_days_overdue,
        1,
        MAX_DAYS_OVERDUE,
        _("The days overdue are a whole number of at least 1."),
    )
    amount: int | None = None
    if form.min_amount.strip():
        try:
            amount = parse_brl(form.min_amount)
        except InvalidAmount:
            amount = -1
        if amount <= 0:
            raise RuleError("min_amount", _("Enter an amount in reais, e.g. 1.500,00."))
    if days is None and amount is None and not form.on_broken_agreement and not form.after_regua:
        raise RuleError(
            "conditions", _("Set at least one condition, or every account would be handed over.")
        )
    if form.on_broken_agreement and form.after_regua:
        raise RuleError(
            "after_regua",
            _("An account with a broken agreement has answered the régua: choose one of the two."),
        )
    rate = _commission(form.commission_percent)
    if rule is None:
        if position is None:  # at the end of the list
            last = await session.scalar(select(func.max(HandoverRule.position)))
            position = 0 if last is None else int(last) + 1
        rule = HandoverRule(id=uuid.uuid4())
        session.add(rule)
    rule.name = name
    rule.agency_id = agency_id
    if position is not None:
        rule.position = position
    rule.min_days_overdue = days
    rule.min_amount = amount
    rule.on_broken_agreement = form.on_broken_agreement
    rule.after_regua = form.after_regua
    rule.commission_rate = rate
    rule.is_active = form.is_active
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, rule: HandoverRule) -> None:
    """Delete a rule; the accounts it placed stay with the agency (``rule_id`` is cleared)."""
    await session.delete(rule)
    await session.flush()


# -- the periodic job -------------------------------------------------------------------


def _new_id(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))


def collectible_on(today: date) -> list[Any]:
    """Conditions of an open debt that may be actively collected on ``today``: some
    installment less than five years past due (not prescribed), not disputed. The queue's
    order, balances and days late count only these."""
    return _collectible(add_years(today, -PRESCRIPTION_YEARS))


def _collectible(cutoff: date) -> list[Any]:
    """Conditions of an open debt that may be actively collected (not prescribed on the
    day ``cutoff`` is five years before, not disputed)."""
    return [
        Debt.status == DebtStatus.OPEN,
        exists().where(DebtItem.debt_id == Debt.id, DebtItem.due_date > cutoff),
        ~exists().where(Dispute.debt_id == Debt.id, Dispute.status == "open"),
    ]


def _place(rule: HandoverRule, today: date, now: datetime, dialect: str) -> Any:
    """INSERT … SELECT of the accounts this rule matches that no agency has yet."""
    cutoff = add_years(today, -PRESCRIPTION_YEARS)
    accounts = (
        select(
            Debt.debtor_id.label("debtor_id"),
            func.min(Debt.due_date).label("earliest"),
            func.sum(Debt.original_amount).label("amount"),
        )
        .where(Debt.tenant_id == rule.tenant_id, *_collectible(cutoff))
        .group_by(Debt.debtor_id)
        .subquery("accounts")
    )
    debtor = accounts.c.debtor_id
    conditions: list[Any] = [
        ~exists().where(
            Handover.tenant_id == rule.tenant_id,
            Handover.debtor_id == debtor,
            Handover.status == HandoverStatus.ACTIVE,
        )
    ]
    if rule.min_days_overdue is not None:
        latest_due = today - timedelta(days=rule.min_days_overdue)
        conditions.append(accounts.c.earliest <= latest_due)
    if rule.min_amount is not None:
        conditions.append(accounts.c.amount >= rule.min_amount)
    if rule.on_broken_agreement:
        conditions.append(
            exists().where(
                Agreement.tenant_id == rule.tenant_id,
                Agreement.debtor_id == debtor,
                Agreement.status == "broken",
                Agreement.voluntary.is_(False),  # a voluntary payment is never chased
            )
        )
    if rule.after_regua:
        conditions.extend(_after_regua(rule.tenant_id, debtor, cutoff))
    columns: list[Any] = [
        _new_id(dialect),
        literal(rule.tenant_id, Uuid()),
        literal(now, UTCDateTime()),
        debtor,
        literal(rule.agency_id, Uuid()),
        literal(rule.id, Uuid()),
        literal(rule.commission_rate, String()),
        literal(HandoverStatus.ACTIVE.value, String()),
        literal(now, UTCDateTime()),
        literal(0),
    ]
    # WHERE true first: SQLite needs a WHERE to tell the ON CONFLICT from a join's ON.
    source = select(*columns).where(true(), *conditions)
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(Handover.__table__).from_select(_COLUMNS, source)  # type: ignore[arg-type]
    return statement.on_conflict_do_nothing().returning(Handover.__table__.c.id)


_COLUMNS = [
    "id",
    "tenant_id",
    "created_at",
    "debtor_id",
    "agency_id",
    "rule_id",
    "commission_rate",
    "status",
    "handed_over_at",
    "score",
]


def _after_regua(tenant_id: uuid.UUID, debtor: Any, cutoff: date) -> list[Any]:
    """The régua ran its course for the account and the person never made an agreement."""
    step = (
        ReminderStep.tenant_id == tenant_id,
        ReminderStep.is_active.is_(True),
        ReminderStep.anchor == ReminderAnchor.DEBT_DUE,
    )
    answered = exists().where(
        Message.step_id == ReminderStep.id,
        Message.debt_id == Debt.id,
        Message.status.in_((MessageStatus.SENT, MessageStatus.BLOCKED)),
    )
    missing = (
        select(literal(1))
        .select_from(ReminderStep)
        .join(Debt, true())
        .where(*step, Debt.debtor_id == debtor, *_collectible(cutoff), ~answered)
    )
    return [
        exists().where(*step),
        ~exists(missing),
        ~exists().where(Agreement.tenant_id == tenant_id, Agreement.debtor_id == debtor),
    ]


async def _recall(session: AsyncSession, now: datetime, tenant_id: uuid.UUID | None) -> int:
    """Take back the hand-overs to agencies their tenant no longer grants."""
    statement = update(Handover).where(
        Handover.status == HandoverStatus.ACTIVE,
        ~exists().where(
            AgencyGrant.tenant_id == Handover.tenant_id,
            AgencyGrant.agency_id == Handover.agency_id,
        ),
    )
    if tenant_id is not None:
        statement = statement.where(Handover.tenant_id == tenant_id)
    result = await session.execute(
        statement.values(
            status=HandoverStatus.RECALLED, ended_at=now, claimed_by=None, claimed_at=None
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _close(
    session: AsyncSession, today: date, now: datetime, tenant_id: uuid.UUID | None
) -> int:
    """Close the hand-overs with nothing left to collect (paid, settled or prescribed)."""
    cutoff = add_years(today, -PRESCRIPTION_YEARS)
    owed = exists().where(
        Debt.tenant_id == Handover.tenant_id,
        Debt.debtor_id == Handover.debtor_id,
        Debt.status.in_(STILL_OWED),
        exists().where(DebtItem.debt_id == Debt.id, DebtItem.due_date > cutoff),
    )
    statement = update(Handover).where(Handover.status == HandoverStatus.ACTIVE, ~owed)
    if tenant_id is not None:
        statement = statement.where(Handover.tenant_id == tenant_id)
    result = await session.execute(
        statement.values(
            status=HandoverStatus.CLOSED, ended_at=now, claimed_by=None, claimed_at=None
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def local_day(moment: datetime) -> date:
    """The São Paulo date of an instant."""
    return moment.astimezone(SAO_PAULO).date()


async def rescore(session: AsyncSession, today: date, tenant_id: uuid.UUID | None = None) -> int:
    """Recompute the score of every active hand-over (of one tenant, or all); returns how
    many changed. Facts: the collectible debts (earliest due date, amount; prescribed and
    disputed ones left out), broken agreements,
    the last call (or contact recorded on the hand-over) and open promises due."""
    active = select(Handover.debtor_id).where(Handover.status == HandoverStatus.ACTIVE)
    handovers = select(Handover.id, Handover.debtor_id, Handover.score, Handover.last_contact_at)
    handovers = handovers.where(Handover.status == HandoverStatus.ACTIVE)
    if tenant_id is not None:
        active = active.where(Handover.tenant_id == tenant_id)
        handovers = handovers.where(Handover.tenant_id == tenant_id)
    debts = {
        r[0]: (r[1], int(r[2]))
        for r in await session.execute(
            select(Debt.debtor_id, func.min(Debt.due_date), func.sum(Debt.original_amount))
            .where(Debt.debtor_id.in_(active), *collectible_on(today))
            .group_by(Debt.debtor_id)
        )
    }
    broken = {
        r[0]: int(r[1])
        for r in await session.execute(
            select(Agreement.debtor_id, func.count())
            .where(
                Agreement.debtor_id.in_(active),
                Agreement.status == "broken",
                Agreement.voluntary.is_(False),
            )
            .group_by(Agreement.debtor_id)
        )
    }
    calls = {
        r[0]: r[1]
        for r in await session.execute(
            select(CaseEntry.debtor_id, func.max(CaseEntry.at))
            .where(CaseEntry.debtor_id.in_(active), CaseEntry.kind == CaseEntryKind.CALL)
            .group_by(CaseEntry.debtor_id)
        )
    }
    promised = set(
        await session.scalars(
            select(CaseEntry.debtor_id)
            .where(
                CaseEntry.debtor_id.in_(active),
                CaseEntry.kind == CaseEntryKind.PROMISE,
                CaseEntry.promise_status == "open",
                CaseEntry.promised_on <= today,
            )
            .distinct()
        )
    )
    changes: list[dict[str, Any]] = []
    for handover_id, debtor_id, score, last_contact in (await session.execute(handovers)).all():
        earliest, amount = debts.get(debtor_id, (None, 0))
        moments = [m for m in (last_contact, calls.get(debtor_id)) if m is not None]
        facts = AccountFacts(
            days_overdue=(today - earliest).days if earliest is not None else 0,
            open_amount=amount,
            broken_agreements=broken.get(debtor_id, 0),
            days_since_contact=(today - local_day(max(moments))).days if moments else None,
            promise_due=debtor_id in promised,
        )
        new = queue_score(facts)
        if new != score:
            changes.append({"id": handover_id, "score": new})
    if changes:
        await session.execute(update(Handover), changes)
    return len(changes)


async def hand_over(
    db: Database, now: datetime, tenant_id: uuid.UUID | None = None
) -> dict[str, int]:
    """Place the accounts the rules select, take back those no longer granted, close
    those with nothing left to collect, rescore; for every tenant or only ``tenant_id``.
    Returns the counts of each."""
    today = local_day(now)
    async with db.session(Scope.system()) as session:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        recalled = await _recall(session, now, tenant_id)
        closed = await _close(session, today, now, tenant_id)
        rules = select(HandoverRule).join(Tenant, Tenant.id == HandoverRule.tenant_id)
        rules = rules.where(
            HandoverRule.is_active.is_(True),
            Tenant.is_active.is_(True),
            exists().where(
                AgencyGrant.tenant_id == HandoverRule.tenant_id,
                AgencyGrant.agency_id == HandoverRule.agency_id,
            ),
        )
        if tenant_id is not None:
            rules = rules.where(HandoverRule.tenant_id == tenant_id)
        ordered: Sequence[HandoverRule] = (
            await session.scalars(
                rules.order_by(
                    HandoverRule.tenant_id,
                    HandoverRule.position,
                    HandoverRule.created_at,
                    HandoverRule.id,
                )
            )
        ).all()
        placed = 0
        for rule in ordered:
            placed += len((await session.scalars(_place(rule, today, now, dialect))).all())
        rescored = await rescore(session, today, tenant_id)
        await session.commit()
    return {"placed": placed, "recalled": recalled, "closed": closed, "rescored": rescored}


__all__ = [
    "GrantedAgency",
    "RuleError",
    "RuleForm",
    "RuleRow",
    "delete_rule",
    "form_of",
    "get_rule",
    "granted_agencies",
    "hand_over",
    "local_day",
    "rescore",
    "rules_of",
    "save_rule",
]
