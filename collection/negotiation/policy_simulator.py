"""The editor's simulator: the exact offers for sample debts, under the policy in force
and under the draft, side by side.

The samples are up to three of the tenant's own open debts (the oldest, the middle and
the newest by due date: different age bands), shown by contract only; a tenant without
open debts sees three typical ones. The offers come from ``make_offers``, the engine the
debtor site uses, so what the simulator shows is what a person would be offered today.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.domain import valuation as v
from collection.domain.offers import Offer, make_offers
from collection.domain.policy import NegotiationPolicy
from collection.models import Debt, DebtStatus
from core.i18n import brl
from core.i18n import gettext as _

SAMPLES = 3
# (amount in centavos, days late) of the typical debts shown when the tenant has none.
TYPICAL = ((50_000, 45), (150_000, 200), (500_000, 700))


@dataclass(frozen=True, slots=True)
class Sample:
    """A debt to simulate, and how the page names it."""

    label: str
    debt: v.Debt


@dataclass(frozen=True, slots=True)
class OfferPair:
    """The offer of one code under the policy in force and under the draft (None: not
    offered there)."""

    code: str
    before: Offer | None
    after: Offer | None

    @property
    def changed(self) -> bool:
        if self.before is None or self.after is None:
            return self.before is not self.after
        return (
            self.before.total != self.after.total
            or self.before.installment_amounts != self.after.installment_amounts
            or self.before.down_payment != self.after.down_payment
            or self.before.valid_until != self.after.valid_until
        )


@dataclass(frozen=True, slots=True)
class SampleResult:
    """One sample: its balance and days late under each policy, and the offers paired."""

    label: str
    balance_before: int | None
    balance_after: int | None
    days_late: int
    pairs: tuple[OfferPair, ...]


async def sample_debts(session: AsyncSession, tenant_id: uuid.UUID, on: date) -> list[Sample]:
    """Up to three open debts of the tenant across ages, or typical ones when it has none.

    The oldest, the newest, and the first due on or after the midpoint of their due dates:
    three indexed look-ups, however many debts the tenant holds.
    """
    base = select(Debt).where(Debt.tenant_id == tenant_id, Debt.status == DebtStatus.OPEN)
    bounds = (
        await session.execute(
            select(func.min(Debt.due_date), func.max(Debt.due_date)).where(
                Debt.tenant_id == tenant_id, Debt.status == DebtStatus.OPEN
            )
        )
    ).one()
    samples: list[Sample] = []
    seen: set[uuid.UUID] = set()
    if bounds[0] is not None:
        oldest, newest = bounds
        middle = oldest + (newest - oldest) / 2
        for since in (oldest, middle, newest)[:SAMPLES]:
            debt = await session.scalar(
                base.where(Debt.due_date >= since)
                .order_by(Debt.due_date, Debt.id)
                .limit(1)
                .options(selectinload(Debt.items))
            )
            if debt is None or debt.id in seen or not debt.items:
                continue
            seen.add(debt.id)
            samples.append(
                Sample(
                    _("Contract %(contract)s") % {"contract": debt.contract},
                    v.Debt(
                        reference=debt.contract,
                        items=tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items),
                        paid=debt.paid,
                    ),
                )
            )
    if samples:
        return samples
    return [
        Sample(
            _("Example: %(amount)s, %(days)s days late") % {"amount": brl(amount), "days": days},
            v.Debt.single(f"exemplo-{n}", amount, on - timedelta(days=days)),
        )
        for n, (amount, days) in enumerate(TYPICAL, start=1)
    ]


def _balance(offers: list[Offer]) -> int | None:
    return offers[0].balance if offers else None


def simulate(
    samples: list[Sample], before: NegotiationPolicy, after: NegotiationPolicy | None, on: date
) -> list[SampleResult]:
    """Each sample's offers today under ``before`` and ``after`` (None: the draft is not a
    valid policy, so only the offers in force are shown)."""
    results: list[SampleResult] = []
    for sample in samples:
        old = make_offers([sample.debt], before, on)
        new = make_offers([sample.debt], after, on) if after is not None else []
        by_code = {o.code: o for o in new}
        codes = [o.code for o in old] + [o.code for o in new if o.code not in {x.code for x in old}]
        old_by_code = {o.code: o for o in old}
        valued = v.valuate(sample.debt, on, terms=(after or before).charges)
        results.append(
            SampleResult(
                label=sample.label,
                balance_before=_balance(old),
                balance_after=_balance(new),
                days_late=valued.days_late,
                pairs=tuple(OfferPair(c, old_by_code.get(c), by_code.get(c)) for c in codes),
            )
        )
    return results
