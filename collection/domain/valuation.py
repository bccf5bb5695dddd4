"""Valuation of an overdue debt on a date: principal plus the legal, itemised charges.

For each overdue item of amount A due on V, valued on D (DOMAIN.md, "Money"):

- late fee (multa): A × rate, the rate at most 2% (CDC art. 52 §1);
- late interest (juros de mora), simple and pro rata die: A × r × days(V, D) / 30, with
  the contractual monthly rate, or without one the legal rate: 1% a.m. up to 2024-08-29
  and from 2024-08-30 (Lei 14.905/2024) the monthly "taxa legal" from a table the platform
  admin keeps, each day at the rate of its own month;
- monetary correction, only when the terms ask for it, by a monthly index table (IPCA by
  default); it never reduces the principal (a deflation month lowers the factor, but the
  correction is floored at zero);
- collection fees (honorários) only when the tenant entered a rate, on the sum above.

Choices where the rules are silent, each explained where it is coded:

- an item due on a day without bank service (weekend, national holiday, Carnival,
  Corpus Christi, the year-end closing: the bank calendar of ``business_days``) falls due
  on the next bank business day (Código Civil art. 132 §1): paying that day is on time,
  and late fee, interest and correction count from that day, not from V;
- contractual late interest is capped at 1% a.m. (STJ Súmula 379; the historic limit of
  Código Civil art. 406 with Decreto 22.626/1933 for other creditors): a stricter reading
  than DOMAIN.md, which only says "the contractual rate";
- a month newer than the last row of a rate or index table counts at zero and marks the
  valuation ``provisional`` (the rate is not published yet; charging less is lawful,
  charging a guess is not); a month missing before or inside the table is an error;
- prescription: an item is prescribed from the fifth anniversary of its due date on
  (Código Civil art. 206 §5 I and art. 132 §3), one day earlier than the most lenient
  count, because flagging a day early costs nothing and a day late is unlawful collection;
- money already received against the debt (``Debt.paid``: installments of an agreement
  that later broke, or a payment that arrived after it ended) reduces what is owed: it
  goes to the oldest items first (items not prescribed before prescribed ones), and on
  each item to its charges before its principal (Código Civil art. 354: interest first),
  in the order interest, correction, late fee, fees, then principal. What exceeds the
  whole balance is ``to_refund`` (CDC art. 42 sole paragraph: never kept silently).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from collection.domain.business_days import add_years, next_bank_business_day
from collection.domain.errors import PolicyError, ValuationError
from collection.domain.money import apply_rate, round_cents

__all__ = [
    "FEES_CAP",
    "LATE_FEE_CAP",
    "LATE_INTEREST_CAP",
    "LEGAL_RATE_UNTIL_LEI_14905",
    "PRESCRIPTION_YEARS",
    "TAXA_LEGAL_FROM",
    "ContractTerms",
    "CorrectionIndex",
    "Debt",
    "DebtItem",
    "ItemValuation",
    "LegalRateTable",
    "Valuation",
    "valuate",
]

LATE_FEE_CAP = Decimal("0.02")
LATE_INTEREST_CAP = Decimal("0.01")
# Not a statutory cap: a guard against a percentage typed as a whole number (10 for 10%).
FEES_CAP = Decimal("0.20")
LEGAL_RATE_UNTIL_LEI_14905 = Decimal("0.01")
TAXA_LEGAL_FROM = date(2024, 8, 30)
PRESCRIPTION_YEARS = 5

_ZERO = Decimal(0)
_ONE_DAY = timedelta(days=1)
Month = tuple[int, int]


def _check_rate(name: str, value: Decimal, cap: Decimal | None, message: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PolicyError(name, "informe um número decimal (ex.: 0.02 para 2%)")
    if value < 0:
        raise PolicyError(name, "não pode ser negativo")
    if cap is not None and value > cap:
        raise PolicyError(name, message)


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """The tenant's contractual charges for late payment, validated against the caps.

    ``late_interest_monthly`` None means the contract sets no rate: the legal rate applies.
    Raises PolicyError naming the field when a setting is above its legal cap.
    """

    late_fee_rate: Decimal = _ZERO
    late_interest_monthly: Decimal | None = None
    fees_rate: Decimal = _ZERO
    monetary_correction: bool = False

    def __post_init__(self) -> None:
        _check_rate(
            "late_fee_rate",
            self.late_fee_rate,
            LATE_FEE_CAP,
            "a multa não pode passar de 2% (CDC art. 52 §1)",
        )
        if self.late_interest_monthly is not None:
            _check_rate(
                "late_interest_monthly",
                self.late_interest_monthly,
                LATE_INTEREST_CAP,
                "os juros de mora não podem passar de 1% ao mês",
            )
        _check_rate(
            "fees_rate",
            self.fees_rate,
            FEES_CAP,
            "os honorários não podem passar de 20% (valor como fração: 0.10 é 10%)",
        )


DEFAULT_TERMS = ContractTerms()


def _parse_month(key: str | Month) -> Month:
    if isinstance(key, tuple):
        year, month = key
    else:
        text = str(key).strip()
        try:
            year_text, month_text = text.split("-")
            year, month = int(year_text), int(month_text)
        except ValueError as exc:
            raise ValuationError(f"mês inválido na tabela: {text!r} (use AAAA-MM)") from exc
    if not 1 <= month <= 12 or year < 1900:
        raise ValuationError(f"mês inválido na tabela: {year:04d}-{month:02d}")
    return year, month


class MonthlyTable:
    """A rate per calendar month (``{"2024-09": Decimal("0.0050")}``), immutable."""

    __slots__ = ("_first", "_last", "_rates")

    label = "taxa"

    def __init__(self, rates: Mapping[str, Decimal | str] | Mapping[Month, Decimal | str]) -> None:
        parsed: dict[Month, Decimal] = {}
        for key, raw in rates.items():
            month = _parse_month(key)
            try:
                value = Decimal(raw)
            except InvalidOperation as exc:
                raise ValuationError(f"{self.label} inválida para {key}: {raw!r}") from exc
            if not value.is_finite():
                raise ValuationError(f"{self.label} inválida para {key}: {raw!r}")
            parsed[month] = self._adjust(value)
        self._rates = parsed
        self._first = min(parsed) if parsed else None
        self._last = max(parsed) if parsed else None

    @staticmethod
    def _adjust(value: Decimal) -> Decimal:
        return value

    def rate(self, year: int, month: int) -> Decimal | None:
        """The month's rate; None for a month after the last row (not yet published).

        Raises ValuationError for a month before the first row or in a gap.
        """
        key = (year, month)
        found = self._rates.get(key)
        if found is not None:
            return found
        if self._last is None or key > self._last:
            return None
        raise ValuationError(f"{self.label} de {month:02d}/{year} não cadastrada")


class LegalRateTable(MonthlyTable):
    """The monthly "taxa legal" (Selic minus IPCA) from 2024-08-30, floored at zero."""

    __slots__ = ()
    label = "taxa legal"

    @staticmethod
    def _adjust(value: Decimal) -> Decimal:
        return max(value, _ZERO)


class CorrectionIndex(MonthlyTable):
    """A monthly monetary-correction index (IPCA by default): the month's variation."""

    __slots__ = ()
    label = "índice de correção"


def _segments(first: date, last: date) -> Iterator[tuple[int, int, int, int]]:
    """(year, month, days of [first, last] in that month, days in that month)."""
    day = first
    while day <= last:
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        month_end = date(day.year, day.month, days_in_month)
        end = min(month_end, last)
        yield day.year, day.month, (end - day).days + 1, days_in_month
        day = end + _ONE_DAY


@dataclass(frozen=True, slots=True)
class DebtItem:
    """One overdue amount (centavos) of a contract with its own due date."""

    amount: int
    due_date: date

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValuationError("o valor da parcela em atraso deve ser positivo")


@dataclass(frozen=True, slots=True)
class Debt:
    """A contract of a debtor at one creditor: its overdue items and, optionally, its own terms.

    ``terms`` None means the tenant's terms (the policy's charges) apply.
    """

    reference: str
    items: tuple[DebtItem, ...]
    portfolio: str | None = None
    terms: ContractTerms | None = None
    paid: int = 0  # centavos already received against this debt (see the module notes)

    def __post_init__(self) -> None:
        if not self.items:
            raise ValuationError("a dívida não tem parcelas em atraso")
        if self.paid < 0:
            raise ValuationError("o valor recebido não pode ser negativo")

    @classmethod
    def single(
        cls,
        reference: str,
        amount: int,
        due_date: date,
        *,
        portfolio: str | None = None,
        terms: ContractTerms | None = None,
    ) -> Debt:
        """A debt of one amount due on one date."""
        return cls(reference, (DebtItem(amount, due_date),), portfolio, terms)

    @property
    def original_amount(self) -> int:
        """Sum of the overdue items, in centavos."""
        return sum(item.amount for item in self.items)


@dataclass(frozen=True, slots=True)
class ItemValuation:
    """One item valued on a date, every part itemised in centavos."""

    due_date: date
    principal: int
    late_fee: int
    interest: int
    correction: int
    fees: int
    days_late: int
    is_prescribed: bool
    prescribes_on: date
    received: int = 0  # what money already received covered of this item (parts are net)

    @property
    def charges(self) -> int:
        """Everything above the principal: late fee, interest, correction and fees."""
        return self.late_fee + self.interest + self.correction + self.fees

    @property
    def total(self) -> int:
        """Principal plus charges."""
        return self.principal + self.charges


@dataclass(frozen=True, slots=True)
class Valuation:
    """A debt valued on ``computed_on``: its items and their sums, with the rates used."""

    reference: str
    computed_on: date
    items: tuple[ItemValuation, ...]
    late_fee_rate: Decimal
    interest_basis: str  # "contractual" or "legal"
    interest_monthly_rate: Decimal | None
    fees_rate: Decimal
    provisional: bool = False
    received: int = 0  # money received against the debt, already deducted from the parts
    to_refund: int = 0  # money received beyond the whole balance: owed back to the debtor
    principal: int = field(init=False)
    late_fee: int = field(init=False)
    interest: int = field(init=False)
    correction: int = field(init=False)
    fees: int = field(init=False)
    total: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.items:
            raise ValuationError("avaliação sem parcelas")
        setter = object.__setattr__
        setter(self, "principal", sum(i.principal for i in self.items))
        setter(self, "late_fee", sum(i.late_fee for i in self.items))
        setter(self, "interest", sum(i.interest for i in self.items))
        setter(self, "correction", sum(i.correction for i in self.items))
        setter(self, "fees", sum(i.fees for i in self.items))
        setter(
            self,
            "total",
            self.principal + self.late_fee + self.interest + self.correction + self.fees,
        )

    @property
    def charges(self) -> int:
        """Everything above the principal."""
        return self.total - self.principal

    @property
    def due_date(self) -> date:
        """The earliest due date among the items."""
        return min(i.due_date for i in self.items)

    @property
    def gross_total(self) -> int:
        """The balance before the money already received was deducted."""
        return self.total + self.received

    @property
    def _owed_items(self) -> tuple[ItemValuation, ...]:
        # Items fully covered by money received no longer age or prescribe the debt.
        return tuple(i for i in self.items if i.total > 0) or self.items

    @property
    def days_late(self) -> int:
        """Days late of the oldest item still owed: the age that picks the policy bucket."""
        return max(i.days_late for i in self._owed_items)

    @property
    def is_prescribed(self) -> bool:
        """True when every item still owed is prescribed."""
        return all(i.is_prescribed for i in self._owed_items)

    @property
    def has_prescribed_items(self) -> bool:
        """True when at least one item still owed is prescribed."""
        return any(i.is_prescribed for i in self._owed_items if i.total > 0)

    def enforceable(self) -> Valuation | None:
        """The valuation restricted to the items not prescribed; None if none is left."""
        items = tuple(i for i in self.items if not i.is_prescribed)
        if not items:
            return None
        if len(items) == len(self.items):
            return self
        return Valuation(
            self.reference,
            self.computed_on,
            items,
            self.late_fee_rate,
            self.interest_basis,
            self.interest_monthly_rate,
            self.fees_rate,
            self.provisional,
            received=sum(i.received for i in items),
            to_refund=self.to_refund,
        )


def _legal_rate_days(first: date, last: date, table: LegalRateTable | None) -> tuple[Decimal, bool]:
    """Σ monthly rate × days over [first, last]: the legal rate, each day at its month's."""
    total = _ZERO
    provisional = False
    cut = TAXA_LEGAL_FROM - _ONE_DAY
    if first <= cut:
        total += LEGAL_RATE_UNTIL_LEI_14905 * ((min(last, cut) - first).days + 1)
    if last >= TAXA_LEGAL_FROM:
        start = max(first, TAXA_LEGAL_FROM)
        if table is None:
            raise ValuationError(
                "sem taxa contratual de juros e sem a tabela da taxa legal "
                "(Lei 14.905/2024) para o período"
            )
        for year, month, days, _ in _segments(start, last):
            rate = table.rate(year, month)
            if rate is None:
                provisional = True
            else:
                total += rate * days
    return total, provisional


def _correction_factor(first: date, last: date, index: CorrectionIndex) -> tuple[Decimal, bool]:
    # Whole months compound; a partial month counts pro rata die, linearly.
    factor = Decimal(1)
    provisional = False
    for year, month, days, days_in_month in _segments(first, last):
        rate = index.rate(year, month)
        if rate is None:
            provisional = True
            continue
        if days == days_in_month:
            factor *= 1 + rate
        else:
            factor *= 1 + rate * days / days_in_month
    return factor, provisional


_CHARGES_ORDER = ("interest", "correction", "late_fee", "fees", "principal")


def _deduct_received(items: list[ItemValuation], received: int) -> tuple[list[ItemValuation], int]:
    """Deduct money received from the items (see the module notes); returns the net items
    and what exceeds them all (to refund)."""
    if received <= 0:
        return items, 0
    left = received
    order = sorted(range(len(items)), key=lambda k: (items[k].is_prescribed, items[k].due_date, k))
    out = list(items)
    for k in order:
        if left == 0:
            break
        item = out[k]
        parts = {name: getattr(item, name) for name in _CHARGES_ORDER}
        covered = 0
        for name in _CHARGES_ORDER:
            take = min(left, parts[name])
            parts[name] -= take
            left -= take
            covered += take
        out[k] = replace(item, received=item.received + covered, **parts)
    return out, left


def valuate(
    debt: Debt,
    on: date,
    *,
    terms: ContractTerms | None = None,
    legal_rates: LegalRateTable | None = None,
    correction_index: CorrectionIndex | None = None,
) -> Valuation:
    """Value ``debt`` on ``on``: principal, late fee, interest, correction and fees per item.

    The debt's own terms win over ``terms`` (the tenant's); without either, no charges but
    the legal interest. Raises ValuationError when a needed rate table is missing.
    """
    used = debt.terms or terms or DEFAULT_TERMS
    contractual = used.late_interest_monthly
    if used.monetary_correction and correction_index is None:
        raise ValuationError("correção monetária contratada, mas sem tabela de índice")
    items: list[ItemValuation] = []
    provisional = False
    for item in debt.items:
        amount, due = item.amount, item.due_date
        prescribes_on = add_years(due, PRESCRIPTION_YEARS)
        effective = next_bank_business_day(due)  # Código Civil art. 132 §1
        late = on > effective
        days = (on - effective).days if late else 0
        late_fee = interest = correction = 0
        if late:
            late_fee = apply_rate(amount, used.late_fee_rate)
            if contractual is not None:
                interest = round_cents(amount * contractual * days / 30)
            else:
                rate_days, missing = _legal_rate_days(effective + _ONE_DAY, on, legal_rates)
                provisional |= missing
                interest = round_cents(amount * rate_days / 30)
            if used.monetary_correction and correction_index is not None:
                factor, missing = _correction_factor(effective + _ONE_DAY, on, correction_index)
                provisional |= missing
                correction = max(0, round_cents(amount * (factor - 1)))
        fees = apply_rate(amount + late_fee + interest + correction, used.fees_rate)
        items.append(
            ItemValuation(
                due_date=due,
                principal=amount,
                late_fee=late_fee,
                interest=interest,
                correction=correction,
                fees=fees,
                days_late=days,
                is_prescribed=on >= prescribes_on,
                prescribes_on=prescribes_on,
            )
        )
    items, to_refund = _deduct_received(items, debt.paid)
    return Valuation(
        reference=debt.reference,
        computed_on=on,
        items=tuple(items),
        received=debt.paid - to_refund,
        to_refund=to_refund,
        late_fee_rate=used.late_fee_rate,
        interest_basis="contractual" if contractual is not None else "legal",
        interest_monthly_rate=contractual,
        fees_rate=used.fees_rate,
        provisional=provisional,
    )
