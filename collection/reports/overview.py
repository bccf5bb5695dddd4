"""The home's figures (issue 24): the few numbers a collections manager asks first, each
with the previous period and a year of history, and what needs someone today.

Built on the dashboards' queries (same definitions of recovered, recovery rate, kept and
expected cash), so the home and the dashboards never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.agreements import AgreementStatus
from collection.models import (
    Agreement,
    AgreementInstallment,
    Dispute,
    ImportJob,
    ImportStatus,
    Message,
    MessageStatus,
    Payment,
    PaymentStatus,
    SpecialOffer,
    SpecialOfferStatus,
)
from collection.reports import dashboards as reports
from core.clock import SAO_PAULO

HISTORY_MONTHS = 12
EXPECTED_DAYS = 30
RECENT_DAYS = 7  # failed imports and messages older than this are no longer "today"
_OPEN_AGREEMENT = [s.value for s in AgreementStatus if s.is_open]


@dataclass(frozen=True, slots=True)
class Trend:
    """A figure now, the same figure for the previous period, and its monthly history
    (oldest first, the current month last)."""

    current: int | Decimal | None
    previous: int | Decimal | None
    history: tuple[int | Decimal | None, ...]

    @property
    def change(self) -> Decimal | None:
        """Relative change against the previous period (None when there is none)."""
        if self.current is None or not self.previous:
            return None
        return ((Decimal(self.current) - Decimal(self.previous)) / Decimal(self.previous)).quantize(
            Decimal("0.0001")
        )


@dataclass(frozen=True, slots=True)
class Overview:
    received: Trend  # centavos recovered this month vs last month
    recovery_rate: Trend  # cumulative rate at this month's end vs last month's end
    active_agreements: int  # open agreements today
    kept: Trend  # agreements paid off this month vs last month
    broken_this_month: int
    expected_next: int  # centavos of unpaid installments due in the next 30 days
    expected_installments: int
    received_last_days: int  # centavos received in the last 30 days, today included
    expected_by_month: tuple[int, ...]  # this month and the next 11


@dataclass(frozen=True, slots=True)
class Todo:
    """What needs someone: counts of things waiting, by kind."""

    disputes: int
    special_offers: int
    failed_imports: int
    failed_messages: int

    @property
    def total(self) -> int:
        return self.disputes + self.special_offers + self.failed_imports + self.failed_messages


def _start_of(day: date) -> datetime:
    """The São Paulo midnight starting ``day``, in UTC."""
    return datetime.combine(day, time(), SAO_PAULO).astimezone(UTC)


async def _received_between(session: AsyncSession, first: date, end: date) -> int:
    total = await session.scalar(
        select(func.sum(Payment.amount - Payment.refunded)).where(
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.paid_on >= first,
            Payment.paid_on < end,
        )
    )
    return int(total or 0)


async def _expected_between(session: AsyncSession, first: date, end: date) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.count(AgreementInstallment.id),
                func.sum(AgreementInstallment.amount - AgreementInstallment.paid),
            )
            .join(Agreement, Agreement.id == AgreementInstallment.agreement_id)
            .where(
                Agreement.status.in_(_OPEN_AGREEMENT),
                AgreementInstallment.paid < AgreementInstallment.amount,
                AgreementInstallment.due_date >= first,
                AgreementInstallment.due_date < end,
            )
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


async def overview(session: AsyncSession, today: date) -> Overview:
    """The home's tiles for the session's tenant (a tenant-scoped session)."""
    report = reports.parse_filter(today)
    recovery = await reports.recovery(session, report)
    made_kept = await reports.agreements(session, report)
    cash = await reports.expected_cash(session, None, today)
    active = await session.scalar(
        select(func.count(Agreement.id)).where(Agreement.status.in_(_OPEN_AGREEMENT))
    )
    installments, expected = await _expected_between(
        session, today, today + timedelta(days=EXPECTED_DAYS)
    )
    received_recently = await _received_between(
        session, today - timedelta(days=EXPECTED_DAYS - 1), today + timedelta(days=1)
    )
    return Overview(
        received=Trend(
            recovery[-1].recovered,
            recovery[-2].recovered,
            tuple(r.recovered for r in recovery),
        ),
        recovery_rate=Trend(recovery[-1].rate, recovery[-2].rate, tuple(r.rate for r in recovery)),
        active_agreements=int(active or 0),
        kept=Trend(made_kept[-1].kept, made_kept[-2].kept, tuple(r.kept for r in made_kept)),
        broken_this_month=made_kept[-1].broken,
        expected_next=expected,
        expected_installments=installments,
        received_last_days=received_recently,
        expected_by_month=tuple(r.amount for r in cash if r.month is not None),
    )


async def todo(session: AsyncSession, now: datetime) -> Todo:
    """Disputes not answered, special offers waiting for approval, and imports and
    messages that failed in the last week."""
    today = now.astimezone(SAO_PAULO).date()
    since = _start_of(today - timedelta(days=RECENT_DAYS))
    disputes = await session.scalar(select(func.count(Dispute.id)).where(Dispute.status == "open"))
    offers = await session.scalar(
        select(func.count(SpecialOffer.id)).where(SpecialOffer.status == SpecialOfferStatus.PENDING)
    )
    imports = await session.scalar(
        select(func.count(ImportJob.id)).where(
            ImportJob.status == ImportStatus.FAILED, ImportJob.created_at >= since
        )
    )
    messages = await session.scalar(
        select(func.count(Message.id)).where(
            Message.status == MessageStatus.FAILED,
            Message.planned_for >= today - timedelta(days=RECENT_DAYS),
        )
    )
    return Todo(int(disputes or 0), int(offers or 0), int(imports or 0), int(messages or 0))
