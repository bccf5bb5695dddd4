"""Dashboards: recovery, delinquency, agreements, aging, expected cash and commissions.

Every table is one or a few set-based queries that aggregate in the database (nothing
row by row in Python), so they stay cheap on a million debts. Months are São Paulo
months: each query buckets its date or timestamp column with a ``CASE`` over the month
boundaries (computed here with the right time zone), which reads the same on SQLite and
PostgreSQL; Python then only accumulates a few dozen aggregated rows.

Tenant tables run on a tenant-scoped session (the session adds the tenant criteria).
The agency tables run on a system-scope session and go through
``agency_access.granted_tenants``: only hand-overs under a live grant count.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from collection.agency.access import granted_tenants
from collection.domain.agreements import AgreementStatus
from collection.domain.business_days import add_years
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Debt,
    DebtStatus,
    Handover,
    HandoverStatus,
    Payment,
    PaymentStatus,
    Portfolio,
)
from core.clock import SAO_PAULO
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.models import Agency, Tenant

MAX_MONTHS = 36
DEFAULT_MONTHS = 12
CASH_MONTHS = 12
BEFORE = "before"  # the bucket of rows earlier than the first month shown
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_OPEN_AGREEMENT = [s.value for s in AgreementStatus if s.is_open]
_UNSETTLED = [DebtStatus.OPEN, DebtStatus.IN_AGREEMENT]
_AnySelect = TypeVar("_AnySelect", bound=Select[*tuple[Any, ...]])


# -- months and filters -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month (São Paulo)."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, value: str) -> Month | None:
        """``"2025-03"`` → Month(2025, 3); None when it is not a month."""
        match = _MONTH.match(value.strip())
        if not match:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            return None
        return cls(year, month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def minus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)

    def starts_at(self) -> datetime:
        """The instant this month begins in São Paulo, in UTC."""
        return datetime.combine(self.first_day, time(), SAO_PAULO).astimezone(UTC)


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last``, both included."""
    out = [first]
    while out[-1] < last:
        out.append(out[-1].next())
    return out


class ReportFilterError(Refusal):
    """A filter of the dashboard that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which portfolio (None: all) and which months a dashboard shows."""

    first: Month
    last: Month
    portfolio_id: uuid.UUID | None = None

    @property
    def months(self) -> list[Month]:
        return months_between(self.first, self.last)


def parse_filter(today: date, *, de: str = "", ate: str = "", portfolio: str = "") -> ReportFilter:
    """The filter from the query string (``de``/``ate`` as YYYY-MM); default: the last 12
    months up to this one. Raises ReportFilterError naming the field at fault."""
    last = Month.of(today)
    if ate.strip():
        parsed = Month.parse(ate)
        if parsed is None:
            raise ReportFilterError("ate", _("The end month must be written as YYYY-MM."))
        last = parsed
    first = last.minus(DEFAULT_MONTHS - 1)
    if de.strip():
        parsed = Month.parse(de)
        if parsed is None:
            raise ReportFilterError("de", _("The start month must be written as YYYY-MM."))
        first = parsed
    if first > last:
        raise ReportFilterError("de", _("The start month comes after the end month."))
    if len(months_between(first, last)) > MAX_MONTHS:
        raise ReportFilterError("de", _("Choose at most %(n)s months.") % {"n": MAX_MONTHS})
    portfolio_id = None
    if portfolio.strip():
        try:
            portfolio_id = uuid.UUID(portfolio.strip())
        except ValueError as exc:
            raise ReportFilterError("portfolio", _("Unknown portfolio.")) from exc
    return ReportFilter(first=first, last=last, portfolio_id=portfolio_id)


@dataclass(frozen=True, slots=True)
class PortfolioChoice:
    id: uuid.UUID
    name: str


async def portfolios(session: AsyncSession) -> list[PortfolioChoice]:
    """The tenant's portfolios, for the filter."""
    rows = await session.execute(select(Portfolio.id, Portfolio.name).order_by(Portfolio.name))
    return [PortfolioChoice(i, n) for i, n in rows.all()]


async def check_portfolio(session: AsyncSession, report: ReportFilter) -> None:
    """ReportFilterError when the filter names a portfolio the tenant does not have."""
    if report.portfolio_id is None:
        return
    found = await session.scalar(select(Portfolio.id).where(Portfolio.id == report.portfolio_id))
    if found is None:
        raise ReportFilterError("portfolio", _("Unknown portfolio."))


# -- SQL helpers --------------------------------------------------------------------------


def _date_bucket(column: Any, months: Sequence[Month]) -> ColumnElement[str]:
    """The month key of a DATE column: BEFORE for earlier rows, NULL for later ones."""
    whens: list[tuple[Any, str]] = [(column < months[0].first_day, BEFORE)]
    whens += [(column < m.next().first_day, m.key) for m in months]
    return case(*whens, else_=None)


def _instant_bucket(column: Any, months: Sequence[Month]) -> ColumnElement[str]:
    """The São Paulo month key of a UTC timestamp column (BEFORE / NULL as above)."""
    whens: list[tuple[Any, str]] = [(column < months[0].starts_at(), BEFORE)]
    whens += [(column < m.next().starts_at(), m.key) for m in months]
    return case(*whens, else_=None)


def _local_date(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The São Paulo calendar date of a UTC timestamp column.

    SQLite has no time zones: it uses UTC−3, right since Brazil dropped daylight saving
    time in 2019 (PostgreSQL uses the zone database and is right for any date).
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("America/Sao_Paulo", column), Date)
    return func.date(column, "-3 hours")


def _by_position(n: int) -> Any:
    # GROUP BY the output columns by position: a CASE with bound parameters repeated in
    # GROUP BY would get new parameter names, which PostgreSQL refuses as different.
    return text(", ".join(str(i) for i in range(1, n + 1)))


def _in_portfolio(portfolio_id: uuid.UUID) -> ColumnElement[bool]:
    """The agreement (of the outer query) settles at least one debt of the portfolio."""
    return exists(
        select(AgreementDebt.debt_id)
        .join(Debt, Debt.id == AgreementDebt.debt_id)
        .where(AgreementDebt.agreement_id == Agreement.id, Debt.portfolio_id == portfolio_id)
    )


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


# -- recovery and delinquency -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecoveryRow:
    """Recovered in the month; cumulative recovered ÷ cumulative placed at its end."""

    month: Month
    recovered: int
    recovered_to_date: int
    placed_to_date: int
    rate: Decimal | None


@dataclass(frozen=True, slots=True)
class DelinquencyRow:
    """Overdue and unsettled at the month's end ÷ placed by then."""

    month: Month
    overdue: int
    placed: int
    rate: Decimal | None


async def _placed_by_month(session: AsyncSession, report: ReportFilter) -> dict[str, int]:
    bucket = _instant_bucket(Debt.created_at, report.months)
    query = select(bucket, func.sum(Debt.original_amount)).where(
        Debt.created_at < report.last.next().starts_at()
    )
    if report.portfolio_id is not None:
        query = query.where(Debt.portfolio_id == report.portfolio_id)
    rows = await session.execute(query.group_by(_by_position(1)))
    return {k: int(v or 0) for k, v in rows.all()}


def _recovered_query(report: ReportFilter) -> Select[str, int]:
    """Succeeded payments up to the period's end, less what was refunded of them (wholly
    refunded or charged back ones no longer have the succeeded status, so they do not
    count at all)."""
    query = select(
        _date_bucket(Payment.paid_on, report.months), func.sum(Payment.amount - Payment.refunded)
    ).where(
        Payment.status == PaymentStatus.SUCCEEDED,
        Payment.paid_on.is_not(None),
        Payment.paid_on < report.last.next().first_day,
    )
    if report.portfolio_id is not None:
        query = query.join(Agreement, Agreement.id == Payment.agreement_id).where(
            _in_portfolio(report.portfolio_id)
        )
    return query.group_by(_by_position(1))


async def recovery(session: AsyncSession, report: ReportFilter) -> list[RecoveryRow]:
    """Recovered amount per month and the cumulative recovery rate."""
    placed = await _placed_by_month(session, report)
    recovered = {k: int(v or 0) for k, v in (await session.execute(_recovered_query(report)))}
    placed_total = placed.get(BEFORE, 0)
    recovered_total = recovered.get(BEFORE, 0)
    rows = []
    for month in report.months:
        placed_total += placed.get(month.key, 0)
        in_month = recovered.get(month.key, 0)
        recovered_total += in_month
        rows.append(
            RecoveryRow(
                month,
                in_month,
                recovered_total,
                placed_total,
                _ratio(recovered_total, placed_total),
            )
        )
    return rows


async def delinquency(
    session: AsyncSession, report: ReportFilter, today: date
) -> list[DelinquencyRow]:
    """Delinquency rate at each month's end (for the current month: today).

    Status history is not stored, so a debt counts as unsettled by its status now
    (open or in agreement): a debt paid since then lowers past months too.
    """
    months = report.months
    # A debt is overdue at the end of month i when its due date is before cut i.
    cuts = [min(m.next().first_day, today) for m in months]
    due_whens = [(Debt.due_date < cut, m.key) for cut, m in zip(cuts, months, strict=True)]
    created = _instant_bucket(Debt.created_at, months)
    query = select(created, case(*due_whens, else_=None), func.sum(Debt.original_amount)).where(
        Debt.created_at < report.last.next().starts_at(),
        Debt.status.in_(_UNSETTLED),
        Debt.due_date < cuts[-1],
    )
    if report.portfolio_id is not None:
        query = query.where(Debt.portfolio_id == report.portfolio_id)
    grid = (await session.execute(query.group_by(_by_position(2)))).all()
    placed = await _placed_by_month(session, report)
    order = {BEFORE: -1} | {m.key: i for i, m in enumerate(months)}
    overdue_from: dict[int, int] = defaultdict(int)  # month index → amount from then on
    for created_key, due_key, amount in grid:
        if created_key is None or due_key is None:
            continue
        overdue_from[max(order[created_key], order[due_key])] += int(amount or 0)
    rows = []
    placed_total = placed.get(BEFORE, 0)
    overdue_total = 0
    for i, month in enumerate(months):
        placed_total += placed.get(month.key, 0)
        overdue_total += overdue_from.get(i, 0)
        rows.append(
            DelinquencyRow(month, overdue_total, placed_total, _ratio(overdue_total, placed_total))
        )
    return rows


# -- agreements ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgreementsRow:
    """Agreements made (accepted), kept (paid off) and broken in a month."""

    month: Month
    made: int
    made_total: int
    kept: int
    broken: int


async def agreements(session: AsyncSession, report: ReportFilter) -> list[AgreementsRow]:
    """Agreements made, kept and broken per month.

    Kept: paid off, in the month of its last event (the payment that settled it).
    """
    months = report.months
    end = report.last.next().first_day
    start = report.first.first_day

    def scoped(query: _AnySelect) -> _AnySelect:
        if report.portfolio_id is not None:
            query = query.where(_in_portfolio(report.portfolio_id))
        return query.group_by(_by_position(1))

    made = await session.execute(
        scoped(
            select(
                _date_bucket(Agreement.accepted_on, months),
                func.count(Agreement.id),
                func.sum(Agreement.total),
            ).where(Agreement.accepted_on >= start, Agreement.accepted_on < end)
        )
    )
    paid_on = func.coalesce(Agreement.last_event_on, Agreement.accepted_on)
    kept = await session.execute(
        scoped(
            select(_date_bucket(paid_on, months), func.count(Agreement.id)).where(
                Agreement.status == AgreementStatus.PAID.value, paid_on >= start, paid_on < end
            )
        )
    )
    broken = await session.execute(
        scoped(
            select(_date_bucket(Agreement.broken_on, months), func.count(Agreement.id)).where(
                Agreement.broken_on >= start, Agreement.broken_on < end
            )
        )
    )
    made_by = {k: (int(n), int(t or 0)) for k, n, t in made.all()}
    kept_by = {k: int(n) for k, n in kept.all()}
    broken_by = {k: int(n) for k, n in broken.all()}
    return [
        AgreementsRow(
            m,
            made_by.get(m.key, (0, 0))[0],
            made_by.get(m.key, (0, 0))[1],
            kept_by.get(m.key, 0),
            broken_by.get(m.key, 0),
        )
        for m in months
    ]


# -- aging and expected cash --------------------------------------------------------------

AGING_BUCKETS = ("0-30", "31-90", "91-180", "181-365", "1-5y", "prescribed")


@dataclass(frozen=True, slots=True)
class AgingRow:
    """Open debts by days past due (today); ``prescribed``: more than 5 years."""

    bucket: str
    debts: int
    amount: int


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


async def aging(
    session: AsyncSession, portfolio_id: uuid.UUID | None, today: date
) -> list[AgingRow]:
    """Open debts in aging buckets by their due date, counted and summed today."""
    # Prescribed from the day 5 years after the due date (as the valuation says).
    prescribed_until = _years_before(today, 5)
    while add_years(prescribed_until + timedelta(days=1), 5) <= today:
        prescribed_until += timedelta(days=1)
    bucket = case(
        (Debt.due_date <= prescribed_until, "prescribed"),
        (Debt.due_date < today - timedelta(days=365), "1-5y"),
        (Debt.due_date < today - timedelta(days=180), "181-365"),
        (Debt.due_date < today - timedelta(days=90), "91-180"),
        (Debt.due_date < today - timedelta(days=30), "31-90"),
        else_="0-30",
    )
    query = select(bucket, func.count(Debt.id), func.sum(Debt.original_amount)).where(
        Debt.status == DebtStatus.OPEN
    )
    if portfolio_id is not None:
        query = query.where(Debt.portfolio_id == portfolio_id)
    found = {
        k: (int(n), int(a or 0))
        for k, n, a in await session.execute(query.group_by(_by_position(1)))
    }
    return [AgingRow(b, *found.get(b, (0, 0))) for b in AGING_BUCKETS]


@dataclass(frozen=True, slots=True)
class CashRow:
    """Installment amounts still unpaid, by due month; month None: already overdue."""

    month: Month | None
    installments: int
    amount: int


async def expected_cash(
    session: AsyncSession, portfolio_id: uuid.UUID | None, today: date
) -> list[CashRow]:
    """What open agreements should still bring in: unpaid installments by due month,
    this month and the next 11, after a row for what is already overdue."""
    months = months_between(Month.of(today), Month.of(today).minus(-(CASH_MONTHS - 1)))
    # Overdue: due before today (due today is still on time).
    bucket = case(
        (AgreementInstallment.due_date < today, BEFORE),
        *[(AgreementInstallment.due_date < m.next().first_day, m.key) for m in months],
        else_=None,
    )
    query = (
        select(
            bucket,
            func.count(AgreementInstallment.id),
            func.sum(AgreementInstallment.amount - AgreementInstallment.paid),
        )
        .join(Agreement, Agreement.id == AgreementInstallment.agreement_id)
        .where(
            Agreement.status.in_(_OPEN_AGREEMENT),
            AgreementInstallment.paid < AgreementInstallment.amount,
            AgreementInstallment.due_date < months[-1].next().first_day,
        )
    )
    if portfolio_id is not None:
        query = query.where(_in_portfolio(portfolio_id))
    found = {
        k: (int(n), int(a or 0))
        for k, n, a in await session.execute(query.group_by(_by_position(1)))
    }
    rows = [CashRow(None, *found.get(BEFORE, (0, 0)))]
    rows += [CashRow(m, *found.get(m.key, (0, 0))) for m in months]
    return rows


# -- commissions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommissionRow:
    """Received on accounts while with an agency, and the commission due on it."""

    month: Month
    party: str  # the agency (tenant view) or the creditor (agency view)
    recovered: int
    commission: int


def _handover_window(session: AsyncSession) -> ColumnElement[bool]:
    """The payment was made while the account was with the agency (São Paulo dates):
    on or after the day it was handed over, before the day it ended."""
    return and_(
        Handover.tenant_id == Payment.tenant_id,
        Handover.debtor_id == Agreement.debtor_id,
        Payment.paid_on >= _local_date(session, Handover.handed_over_at),
        or_(
            Handover.ended_at.is_(None),
            Payment.paid_on < _local_date(session, Handover.ended_at),
        ),
    )


def _commission_rows(rows: Sequence[Any]) -> list[CommissionRow]:
    """Rows (month, party, rate, recovered) → commission per month and party, rounded
    half up to the centavo once per rate."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for month_key, party, rate, amount in rows:
        if month_key is None or month_key == BEFORE:
            continue
        amount = int(amount or 0)
        entry = totals[(month_key, party)]
        entry[0] += amount
        entry[1] += _cents(Decimal(amount) * Decimal(rate))
    out = []
    for (month_key, party), (recovered, commission) in sorted(totals.items()):
        parsed = Month.parse(month_key)
        assert parsed is not None
        out.append(CommissionRow(parsed, party, recovered, commission))
    return out


async def commission_due(session: AsyncSession, report: ReportFilter) -> list[CommissionRow]:
    """Per month and agency: payments on the tenant's accounts while they were with the
    agency, and the commission due at each hand-over's rate."""
    query = (
        select(
            _date_bucket(Payment.paid_on, report.months),
            Agency.name,
            Handover.commission_rate,
            func.sum(Payment.amount - Payment.refunded),
        )
        .join(Agreement, Agreement.id == Payment.agreement_id)
        .join(Handover, _handover_window(session))
        .join(Agency, Agency.id == Handover.agency_id)
        .where(
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.paid_on >= report.first.first_day,
            Payment.paid_on < report.last.next().first_day,
        )
    )
    if report.portfolio_id is not None:
        query = query.where(_in_portfolio(report.portfolio_id))
    rows = await session.execute(query.group_by(_by_position(3)))
    return _commission_rows(rows.all())


async def agency_commission(
    session: AsyncSession, agency_id: uuid.UUID, report: ReportFilter
) -> list[CommissionRow]:
    """Per month and creditor: what the agency's accounts received and the commission due,
    over the tenants that grant the agency access (system-scope session)."""
    query = (
        select(
            _date_bucket(Payment.paid_on, report.months),
            Tenant.name,
            Handover.commission_rate,
            func.sum(Payment.amount - Payment.refunded),
        )
        .join(Agreement, Agreement.id == Payment.agreement_id)
        .join(Handover, _handover_window(session))
        .join(Tenant, Tenant.id == Handover.tenant_id)
        .where(
            Handover.agency_id == agency_id,
            Handover.tenant_id.in_(granted_tenants(agency_id)),
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.paid_on >= report.first.first_day,
            Payment.paid_on < report.last.next().first_day,
        )
    )
    rows = await session.execute(query.group_by(_by_position(3)))
    return _commission_rows(rows.all())


@dataclass(frozen=True, slots=True)
class AgencyAccountsRow:
    """Accounts handed to the agency, closed and recalled in a month."""

    month: Month
    handed_over: int
    closed: int
    recalled: int


async def agency_accounts(
    session: AsyncSession, agency_id: uuid.UUID, report: ReportFilter
) -> list[AgencyAccountsRow]:
    """Hand-overs to the agency that began, were closed or were recalled each month."""
    months = report.months
    start, end = report.first.starts_at(), report.last.next().starts_at()
    mine = and_(Handover.agency_id == agency_id, Handover.tenant_id.in_(granted_tenants(agency_id)))
    began = await session.execute(
        select(_instant_bucket(Handover.handed_over_at, months), func.count(Handover.id))
        .where(mine, Handover.handed_over_at >= start, Handover.handed_over_at < end)
        .group_by(_by_position(1))
    )
    ended = await session.execute(
        select(_instant_bucket(Handover.ended_at, months), Handover.status, func.count(Handover.id))
        .where(
            mine,
            Handover.status != HandoverStatus.ACTIVE,
            Handover.ended_at >= start,
            Handover.ended_at < end,
        )
        .group_by(_by_position(2))
    )
    began_by = {k: int(n) for k, n in began.all()}
    ended_by: dict[tuple[str, str], int] = {}
    for k, status, n in ended.all():
        ended_by[(k, HandoverStatus(status).value)] = int(n)
    return [
        AgencyAccountsRow(
            m,
            began_by.get(m.key, 0),
            ended_by.get((m.key, HandoverStatus.CLOSED.value), 0),
            ended_by.get((m.key, HandoverStatus.RECALLED.value), 0),
        )
        for m in months
    ]


def recovered_by_month(rows: Sequence[CommissionRow], months: Sequence[Month]) -> list[int]:
    """Recovered on the agency's accounts per month, summed over creditors."""
    by_month: dict[Month, int] = defaultdict(int)
    for row in rows:
        by_month[row.month] += row.recovered
    return [by_month.get(m, 0) for m in months]
