"""The priority of an account in an agency's work queue, computed from its facts.

The score is a sum of points, bounded to 0..1000; a higher score comes first:

- **age** (up to 300): the days overdue of the earliest open debt, linearly up to five
  years (1825 days), when the debt prescribes and may no longer be collected at all:
  the closer an account is to prescription, the sooner it must be worked.
- **amount** (up to 300): the open amount on a logarithmic scale, from R$ 1,00 (0) to
  R$ 100.000,00 or more (300): a large account matters more, without one big account
  drowning a hundred small ones.
- **broken agreements** (up to 200): 100 for each, at most two: the person once wanted
  to pay and is likely to answer.
- **last contact** (up to 100): the days since the last contact, linearly up to 30;
  never contacted counts as 30. This spreads the calls over the accounts and keeps
  agents away from people already called this week (the frequency cap).
- **promise due** (100): a promise to pay whose date has come needs a call now.

Every part is non-decreasing in its fact, so the score is monotonic in each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

__all__ = ["MAX_SCORE", "AccountFacts", "queue_score"]

AGE_POINTS = 300
AGE_FULL_DAYS = 1825  # five years: prescription (Código Civil art. 206 §5 I)
AMOUNT_POINTS = 300
AMOUNT_FULL_DECADES = 5  # R$ 1 · 10^5 = R$ 100.000,00
BROKEN_POINTS = 100
BROKEN_MAX = 2
CONTACT_POINTS = 100
CONTACT_FULL_DAYS = 30
PROMISE_POINTS = 100
MAX_SCORE = (
    AGE_POINTS + AMOUNT_POINTS + BROKEN_POINTS * BROKEN_MAX + CONTACT_POINTS + PROMISE_POINTS
)


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the queue knows about an account (a debtor at a creditor)."""

    days_overdue: int  # of the earliest open debt
    open_amount: int  # centavos
    broken_agreements: int = 0
    days_since_contact: int | None = None  # None: never contacted
    promise_due: bool = False  # a promise to pay whose date is today or past


def _age_points(days: int) -> int:
    return AGE_POINTS * min(max(days, 0), AGE_FULL_DAYS) // AGE_FULL_DAYS


def _amount_points(cents: int) -> int:
    if cents <= 100:
        return 0
    # Decimal's log10 is correctly rounded, hence monotonic (a float's might not be).
    decades = min((Decimal(cents) / 100).log10(), Decimal(AMOUNT_FULL_DECADES))
    points = (decades * AMOUNT_POINTS / AMOUNT_FULL_DECADES).to_integral_value(ROUND_FLOOR)
    return int(points)


def _contact_points(days: int | None) -> int:
    if days is None:
        return CONTACT_POINTS
    return CONTACT_POINTS * min(max(days, 0), CONTACT_FULL_DAYS) // CONTACT_FULL_DAYS


def queue_score(facts: AccountFacts) -> int:
    """The account's priority in the work queue, 0..1000 (the weights are above)."""
    return (
        _age_points(facts.days_overdue)
        + _amount_points(facts.open_amount)
        + BROKEN_POINTS * min(max(facts.broken_agreements, 0), BROKEN_MAX)
        + _contact_points(facts.days_since_contact)
        + (PROMISE_POINTS if facts.promise_due else 0)
    )
