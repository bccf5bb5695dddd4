"""Escalation within the law: when a debt may get a prior notice, be listed with a credit
bureau (negativação), or be sent to protest or court, and when a listing must go.

- Negativação only after a prior written notice posted to the debtor's postal address
  (CDC art. 43 §2; STJ Súmula 359; e-mail or SMS alone does not do, REsp 2.056.285) and
  a waiting period counted from the posting (the tenant's setting, at least 10 days).
- Never for a prescribed debt (CDC art. 43 §1 and §5; Código Civil art. 206 §5 I), never
  while a dispute is open, never for a debt that is not open (in an agreement, paid...).
- Its removal is requested within 5 business days after payment (STJ Súmula 548).
- Protesto and judicial referral are decisions; never for prescribed or disputed debts.

Choices where the law is silent, each coded here:

- a debt is prescribed from the fifth anniversary of its earliest unpaid due date on, as
  in ``valuation`` (a day early costs nothing, a day late is unlawful collection);
- a postal address is complete only with street, city, state (UF, 2 letters) and CEP
  (8 digits): a letter without one cannot prove the notice;
- the waiting period counts calendar days from the posting date: the listing is allowed
  on ``posted_on + wait_days`` and after;
- business days for the removal are national business days (``business_days``), plus
  any extra holidays the caller passes (state or municipal ones, when known).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from collection.domain.business_days import add_years, is_business_day

__all__ = [
    "IN_COURSE",
    "MAX_WAIT_DAYS",
    "MIN_WAIT_DAYS",
    "PRESCRIPTION_YEARS",
    "REMOVAL_BUSINESS_DAYS",
    "Block",
    "DebtFacts",
    "EscalationStatus",
    "eligible_on",
    "has_postal_address",
    "is_prescribed",
    "may_decide",
    "may_list",
    "may_notify",
    "removal_due",
]

PRESCRIPTION_YEARS = 5
MIN_WAIT_DAYS = 10  # bureau practice; a tenant may ask more, never less
MAX_WAIT_DAYS = 90  # a guard against a typo, not a rule of law
REMOVAL_BUSINESS_DAYS = 5  # STJ Súmula 548

_STATE = re.compile(r"^[A-Za-z]{2}$")
_CEP = re.compile(r"^\d{8}$")


class EscalationStatus(enum.StrEnum):
    """Where one escalation stands (stored as text in ``escalations.status``)."""

    NOTICE_PENDING = "notice_pending"  # letter made, not posted yet
    NOTICE_POSTED = "notice_posted"  # letter posted: the wait runs
    LISTED = "listed"  # with the credit bureau
    REMOVAL_REQUESTED = "removal_requested"  # paid, disputed, prescribed or withdrawn
    DECIDED = "decided"  # protesto or judicial referral decided
    CANCELLED = "cancelled"


# A negativação in one of these holds the debt: no second notice while it runs.
IN_COURSE = frozenset(
    {EscalationStatus.NOTICE_PENDING, EscalationStatus.NOTICE_POSTED, EscalationStatus.LISTED}
)


class Block(enum.StrEnum):
    """Why a step may not be taken for a debt (a reason code; the service words it)."""

    NOT_OPEN = "not_open"
    PRESCRIBED = "prescribed"
    DISPUTED = "disputed"
    NO_ADDRESS = "no_address"
    ALREADY_ESCALATED = "already_escalated"
    NOT_POSTED = "not_posted"
    WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class DebtFacts:
    """What the rules need to know about one debt, gathered by the caller.

    ``due_date`` is the earliest unpaid due date; ``escalated`` means a step of the kind
    asked for is already in course (a negativação not ended, or a decision taken).
    """

    is_open: bool
    due_date: date
    disputed: bool
    has_postal_address: bool
    escalated: bool = False


def is_prescribed(due_date: date, today: date) -> bool:
    """True from the fifth anniversary of ``due_date`` on (Código Civil art. 206 §5 I)."""
    return today >= add_years(due_date, PRESCRIPTION_YEARS)


def has_postal_address(address: str, city: str, state: str, zip_code: str) -> bool:
    """True when a letter can be posted: street, city, UF and an 8-digit CEP on file."""
    cep = re.sub(r"\D", "", zip_code)
    return bool(
        address.strip()
        and city.strip()
        and _STATE.match(state.strip())
        and _CEP.match(cep)
        and cep != "00000000"
    )


def _common(facts: DebtFacts, today: date) -> Block | None:
    if not facts.is_open:
        return Block.NOT_OPEN
    if is_prescribed(facts.due_date, today):
        return Block.PRESCRIBED
    if facts.disputed:
        return Block.DISPUTED
    return None


def may_notify(facts: DebtFacts, today: date) -> Block | None:
    """None when a prior notice (the first step of a negativação) may be sent today."""
    block = _common(facts, today)
    if block is not None:
        return block
    if not facts.has_postal_address:
        return Block.NO_ADDRESS
    if facts.escalated:
        return Block.ALREADY_ESCALATED
    return None


def eligible_on(posted_on: date, wait_days: int) -> date:
    """The first day a debt noticed on ``posted_on`` may be listed."""
    return posted_on + timedelta(days=max(wait_days, MIN_WAIT_DAYS))


def may_list(facts: DebtFacts, posted_on: date | None, wait_days: int, today: date) -> Block | None:
    """None when the debt may be listed with a bureau today: everything ``may_notify``
    asks, checked again now (a dispute may have come since), plus the notice posted and
    its wait over. ``escalated`` here means already listed."""
    block = _common(facts, today)
    if block is not None:
        return block
    if facts.escalated:
        return Block.ALREADY_ESCALATED
    if not facts.has_postal_address:
        return Block.NO_ADDRESS
    if posted_on is None:
        return Block.NOT_POSTED
    if today < eligible_on(posted_on, wait_days):
        return Block.WAITING
    return None


def may_decide(facts: DebtFacts, today: date) -> Block | None:
    """None when protesto or judicial referral may be decided today for the debt."""
    block = _common(facts, today)
    if block is not None:
        return block
    if facts.escalated:
        return Block.ALREADY_ESCALATED
    return None


def removal_due(paid_on: date, holidays: Iterable[date] = ()) -> date:
    """The last day to request a listing's removal: 5 business days after ``paid_on``
    (STJ Súmula 548). ``holidays`` adds local holidays to the national ones."""
    extra = frozenset(holidays)
    day, counted = paid_on, 0
    while counted < REMOVAL_BUSINESS_DAYS:
        day += timedelta(days=1)
        if is_business_day(day) and day not in extra:
            counted += 1
    return day
