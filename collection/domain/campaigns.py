"""Campaigns ("feirão"): a time-boxed override of the negotiation policy.

A campaign names its window (first and last day, inclusive), whom it reaches (some
portfolios, or all; optionally only debts from ``min_days`` to ``max_days`` days late)
and its terms: discounts for paying at once and in installments (on charges and on
principal), the most payments and, optionally, a lower monthly rate. Rules:

- Inside the window the campaign only ever *improves* a bucket: each discount becomes
  the larger of the policy's and the campaign's, the most payments the larger of the
  two, the rate the smaller. Outside the window the policy is returned unchanged (the
  same object).
- The law's and the product's limits still hold: discounts at most 100%, installment
  discounts never above the cash ones, at most ``MAX_INSTALLMENTS_CAP`` payments, the
  rate within ``MONTHLY_RATE_CAP``, and an offer stands at least ``MIN_VALIDITY_DAYS``
  days. Within that, an offer made in the campaign stands no later than its last day.
- A share of the people reached (``control_basis_points`` of 10 000) is held out as a
  control group and keeps the normal policy, so the campaign's effect can be measured.
  The assignment is a hash of the campaign's and the debtor's ids: the same person is
  always in the same group, whatever the order or the day.

An age segment that starts or ends inside a bucket splits that bucket, so debts outside
the segment keep exactly their old terms.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from collection.domain.errors import PolicyError
from collection.domain.policy import (
    MAX_INSTALLMENTS_CAP,
    MIN_VALIDITY_DAYS,
    MONTHLY_RATE_CAP,
    AgeBucket,
    NegotiationPolicy,
    PolicyBook,
)

__all__ = [
    "MAX_CONTROL_BASIS_POINTS",
    "Campaign",
    "CampaignTerms",
    "campaign_book",
    "campaign_policy",
    "in_control",
]

BASIS = 10_000
MAX_CONTROL_BASIS_POINTS = 5_000  # at most half held out
_ZERO = Decimal(0)
_ONE = Decimal(1)


def _fraction(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not _ZERO <= value <= _ONE:
        raise PolicyError(name, "informe um desconto entre 0% e 100%")


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    """What a campaign offers; fractions (``Decimal("0.60")`` is 60%)."""

    cash_discount_charges: Decimal = _ZERO
    cash_discount_principal: Decimal = _ZERO
    installment_discount_charges: Decimal = _ZERO
    installment_discount_principal: Decimal = _ZERO
    max_installments: int = 1
    monthly_rate: Decimal | None = None  # None: the policy's rate

    def __post_init__(self) -> None:
        _fraction("cash_discount_charges", self.cash_discount_charges)
        _fraction("cash_discount_principal", self.cash_discount_principal)
        _fraction("installment_discount_charges", self.installment_discount_charges)
        _fraction("installment_discount_principal", self.installment_discount_principal)
        count = self.max_installments
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise PolicyError("max_installments", "informe um número inteiro a partir de 1")
        if count > MAX_INSTALLMENTS_CAP:
            raise PolicyError("max_installments", f"no máximo {MAX_INSTALLMENTS_CAP} parcelas")
        rate = self.monthly_rate
        if rate is not None and (not rate.is_finite() or not _ZERO <= rate <= MONTHLY_RATE_CAP):
            raise PolicyError("monthly_rate", "juros entre 0% e 10% ao mês")


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign of one creditor. ``portfolios``: the portfolio keys it reaches (empty:
    every portfolio). ``ends_on`` is the last day, or the day it was ended early."""

    key: str
    starts_on: date
    ends_on: date
    terms: CampaignTerms
    portfolios: frozenset[str] = frozenset()
    min_days: int = 0
    max_days: int | None = None
    control_basis_points: int = 1_000

    def __post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise PolicyError("ends_on", "o fim deve ser no dia do início ou depois")
        if self.min_days < 0 or (self.max_days is not None and self.max_days < self.min_days):
            raise PolicyError("max_days", "faixa de atraso inválida")
        if not 0 <= self.control_basis_points <= MAX_CONTROL_BASIS_POINTS:
            raise PolicyError("control", "o grupo de controle fica entre 0% e 50%")

    def active_on(self, on: date) -> bool:
        """True on the days of the window."""
        return self.starts_on <= on <= self.ends_on

    def reaches(self, portfolio: str | None) -> bool:
        return not self.portfolios or (portfolio is not None and portfolio in self.portfolios)


def in_control(campaign_key: str, debtor_key: str, basis_points: int) -> bool:
    """Whether the debtor is held out of the campaign: a stable hash of both keys."""
    digest = hashlib.sha256(f"{campaign_key}:{debtor_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BASIS < basis_points


def _improve(bucket: AgeBucket, terms: CampaignTerms, validity: int) -> AgeBucket:
    cash_charges = max(bucket.cash_discount_charges, terms.cash_discount_charges)
    cash_principal = max(bucket.cash_discount_principal, terms.cash_discount_principal)
    rate = bucket.monthly_rate
    if terms.monthly_rate is not None:
        rate = min(rate, terms.monthly_rate)
    return replace(
        bucket,
        cash_discount_charges=cash_charges,
        cash_discount_principal=cash_principal,
        installment_discount_charges=min(
            cash_charges,
            max(bucket.installment_discount_charges, terms.installment_discount_charges),
        ),
        installment_discount_principal=min(
            cash_principal,
            max(bucket.installment_discount_principal, terms.installment_discount_principal),
        ),
        max_installments=max(bucket.max_installments, terms.max_installments),
        monthly_rate=rate,
        validity_days=max(MIN_VALIDITY_DAYS, min(bucket.validity_days, validity)),
    )


def _split(bucket: AgeBucket, low: int, high: int | None) -> list[tuple[AgeBucket, bool]]:
    """``bucket`` cut at the segment's bounds; each part says whether it is inside."""
    parts: list[tuple[AgeBucket, bool]] = []
    start, end = bucket.min_days, bucket.max_days
    if start < low and (end is None or end >= low):
        parts.append((replace(bucket, max_days=low - 1), False))
        start = low
    elif end is not None and end < low:
        return [(bucket, False)]
    if high is not None and start > high:
        return [*parts, (replace(bucket, min_days=start), False)]
    if high is not None and (end is None or end > high):
        parts.append((replace(bucket, min_days=start, max_days=high), True))
        parts.append((replace(bucket, min_days=high + 1, max_days=end), False))
    else:
        parts.append((replace(bucket, min_days=start, max_days=end), True))
    return parts


def campaign_policy(policy: NegotiationPolicy, campaign: Campaign, on: date) -> NegotiationPolicy:
    """``policy`` with the campaign's terms on the debts of its age segment on ``on``;
    the same ``policy`` outside the window."""
    if not campaign.active_on(on):
        return policy
    validity = (campaign.ends_on - on).days
    buckets: list[AgeBucket] = []
    for bucket in policy.buckets:
        for part, inside in _split(bucket, campaign.min_days, campaign.max_days):
            buckets.append(_improve(part, campaign.terms, validity) if inside else part)
    return replace(policy, buckets=tuple(buckets))


def campaign_book(
    policy: NegotiationPolicy,
    campaign: Campaign | None,
    on: date,
    *,
    control: bool,
    portfolios: frozenset[str],
) -> NegotiationPolicy | PolicyBook:
    """What one debtor is offered on ``on``: the campaign's policy for the debts of the
    ``portfolios`` it reaches, the ``policy`` for the rest, for the control group and
    outside the window."""
    if campaign is None or control or not campaign.active_on(on):
        return policy
    improved = campaign_policy(policy, campaign, on)
    if not campaign.portfolios:
        return improved
    by_portfolio = {
        key: replace(improved, portfolio=key) for key in portfolios if campaign.reaches(key)
    }
    return PolicyBook(default=policy, by_portfolio=by_portfolio)
