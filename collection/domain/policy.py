"""A tenant's negotiation policy: what may be offered, by how late the debt is.

A policy is a list of contiguous age buckets (days late, inclusive bounds, the last one
may be open-ended); each bucket says how much may be waived for paying at once and in
installments (on charges and on principal separately), the most installments, the
monthly rate of installment plans, the smallest installment and down payment, and how
long an offer stands. Both the dataclasses and the policy file are validated at
construction: a policy that contradicts itself (or the law) never exists, and the
PolicyError names the field so a form or a file can point at it.

``max_installments`` counts every payment of a plan, the down payment included (entrada
+ 11 is 12 payments), the conservative reading of "at most N installments". A policy
may serve one portfolio; ``PolicyBook`` holds a tenant's default and its per-portfolio
policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from collection.domain.errors import PolicyError
from collection.domain.valuation import DEFAULT_TERMS, ContractTerms

__all__ = [
    "MAX_INSTALLMENTS_CAP",
    "MIN_VALIDITY_DAYS",
    "MONTHLY_RATE_CAP",
    "AgeBucket",
    "NegotiationPolicy",
    "PolicyBook",
    "PolicyError",
]

# A guard against a percentage typed as a whole number ("2" for 2%), not a legal figure:
# no single statutory cap covers every kind of creditor.
MONTHLY_RATE_CAP = Decimal("0.10")
MAX_INSTALLMENTS_CAP = 120
# CDC practice and DOMAIN.md: an offer stands for at least 2 days.
MIN_VALIDITY_DAYS = 2
MAX_GRACE_DAYS = 60

_ZERO = Decimal(0)
_ONE = Decimal(1)


def _int(name: str, value: object, low: int, high: int | None, message: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PolicyError(name, "informe um número inteiro")
    if value < low or (high is not None and value > high):
        raise PolicyError(name, message)


def _fraction(name: str, value: object, high: Decimal, message: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PolicyError(name, "informe um número decimal (ex.: 0.30 para 30%)")
    if value < 0:
        raise PolicyError(name, "não pode ser negativo")
    if value > high:
        raise PolicyError(name, message)
    return value


@dataclass(frozen=True, slots=True)
class AgeBucket:
    """The terms for debts from ``min_days`` to ``max_days`` days late (None: no limit).

    Discounts and rates are fractions (``Decimal("0.30")`` is 30%); amounts are centavos.
    Raises PolicyError naming the field when a value is out of range.
    """

    min_days: int
    max_days: int | None = None
    cash_discount_charges: Decimal = _ZERO
    cash_discount_principal: Decimal = _ZERO
    installment_discount_charges: Decimal = _ZERO
    installment_discount_principal: Decimal = _ZERO
    max_installments: int = 1
    monthly_rate: Decimal = _ZERO
    min_installment: int = 5000
    min_down_payment: int = 0
    min_down_payment_rate: Decimal = _ZERO
    validity_days: int = 5

    def __post_init__(self) -> None:
        _int("min_days", self.min_days, 0, None, "não pode ser negativo")
        if self.max_days is not None:
            _int(
                "max_days",
                self.max_days,
                self.min_days,
                None,
                "deve ser maior ou igual a min_days",
            )
        over = "o desconto não pode passar de 100% (valor como fração: 0.30 é 30%)"
        cash_charges = _fraction("cash_discount_charges", self.cash_discount_charges, _ONE, over)
        cash_principal = _fraction(
            "cash_discount_principal", self.cash_discount_principal, _ONE, over
        )
        _fraction(
            "installment_discount_charges",
            self.installment_discount_charges,
            cash_charges,
            "o desconto no parcelamento não pode ser maior que o desconto à vista",
        )
        _fraction(
            "installment_discount_principal",
            self.installment_discount_principal,
            cash_principal,
            "o desconto no parcelamento não pode ser maior que o desconto à vista",
        )
        _int(
            "max_installments",
            self.max_installments,
            1,
            MAX_INSTALLMENTS_CAP,
            f"deve estar entre 1 (só à vista) e {MAX_INSTALLMENTS_CAP}",
        )
        _fraction(
            "monthly_rate",
            self.monthly_rate,
            MONTHLY_RATE_CAP,
            "juros do parcelamento acima de 10% ao mês (valor como fração: 0.02 é 2%)",
        )
        _int("min_installment", self.min_installment, 1, None, "deve ser maior que zero")
        _int("min_down_payment", self.min_down_payment, 0, None, "não pode ser negativo")
        if self.min_down_payment_rate == _ONE:
            raise PolicyError("min_down_payment_rate", "entrada mínima de 100% é pagamento à vista")
        _fraction(
            "min_down_payment_rate",
            self.min_down_payment_rate,
            _ONE,
            "a entrada mínima deve ser menor que 100%",
        )
        _int(
            "validity_days",
            self.validity_days,
            MIN_VALIDITY_DAYS,
            None,
            f"a oferta deve valer pelo menos {MIN_VALIDITY_DAYS} dias",
        )

    def covers(self, days_late: int) -> bool:
        """True when a debt ``days_late`` days overdue falls in this bucket."""
        return self.min_days <= days_late and (self.max_days is None or days_late <= self.max_days)


@dataclass(frozen=True, slots=True)
class NegotiationPolicy:
    """A tenant's (or a portfolio's) negotiation rules and contractual charges.

    Buckets must be in ascending order of age and contiguous (each starts the day after
    the previous one ends); only the last may be open-ended. Raises PolicyError otherwise.
    """

    buckets: tuple[AgeBucket, ...]
    charges: ContractTerms = DEFAULT_TERMS
    name: str = ""
    portfolio: str | None = None
    grace_days: int = 5
    allow_voluntary_prescribed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.buckets, tuple):
            object.__setattr__(self, "buckets", tuple(self.buckets))
        if not self.buckets:
            raise PolicyError("buckets", "a política precisa de pelo menos uma faixa de atraso")
        for index, bucket in enumerate(self.buckets):
            if not isinstance(bucket, AgeBucket):
                raise PolicyError(f"buckets[{index}]", "faixa inválida")
            if index == 0:
                continue
            previous = self.buckets[index - 1]
            where = f"buckets[{index}].min_days"
            if previous.max_days is None:
                raise PolicyError(
                    f"buckets[{index - 1}].max_days",
                    "só a última faixa pode ficar sem limite de dias",
                )
            if bucket.min_days <= previous.max_days:
                raise PolicyError(
                    where,
                    f"a faixa {index + 1} se sobrepõe à faixa {index} "
                    f"(que vai até {previous.max_days} dias)",
                )
            if bucket.min_days > previous.max_days + 1:
                raise PolicyError(
                    where,
                    f"há um intervalo sem faixa entre {previous.max_days + 1} e "
                    f"{bucket.min_days - 1} dias de atraso",
                )
        if not isinstance(self.charges, ContractTerms):
            raise PolicyError("charges", "encargos inválidos")
        _int(
            "grace_days",
            self.grace_days,
            0,
            MAX_GRACE_DAYS,
            f"a tolerância deve estar entre 0 e {MAX_GRACE_DAYS} dias",
        )

    def bucket_for(self, days_late: int) -> AgeBucket | None:
        """The bucket for a debt ``days_late`` days overdue, or None if no bucket covers it."""
        for bucket in self.buckets:
            if bucket.covers(days_late):
                return bucket
        return None


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """A tenant's default policy and the policies of particular portfolios."""

    default: NegotiationPolicy
    by_portfolio: Mapping[str, NegotiationPolicy] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        for key, policy in self.by_portfolio.items():
            if policy.portfolio not in (None, key):
                raise PolicyError(
                    f"portfolios.{key}", f"a política é da carteira {policy.portfolio!r}"
                )
        object.__setattr__(self, "by_portfolio", MappingProxyType(dict(self.by_portfolio)))

    def for_portfolio(self, portfolio: str | None) -> NegotiationPolicy:
        """The portfolio's own policy when there is one, else the tenant's default."""
        if portfolio is None:
            return self.default
        return self.by_portfolio.get(portfolio, self.default)
