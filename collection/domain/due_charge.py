"""An installment as a Pix charge with a due date (the Pix API's ``cobv``): one code that
is right on any day it can be paid.

Before the due date the person may pay less, by the plan's interest given up (CDC art.
52 §2): the charge carries up to three fixed-date discounts (``descontoDataFixa``), each
the installment's present value at the plan's rate on that date (pro rata die, as the
early payoff computes it). After the due date it carries the late fee (at most 2%, CDC
art. 52 §1; the creditor's contractual rate) and the contractual late interest, simple,
per calendar day (``juros`` "percentual ao mês, dias corridos": amount × rate × days /
30), and it stays payable for the agreement's grace days (``validadeAposVencimento``),
after which the agreement breaks anyway. A due date on a day without bank service is
paid on time on the next bank business day (Código Civil art. 132 §1).

``split`` turns the amount the person's bank actually paid into what it settles: late
charges first (Código Civil art. 354: interest before principal), then the installment;
a discount is waived only when the person paid what the charge asked for that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from collection.domain.business_days import next_bank_business_day
from collection.domain.errors import AgreementError
from collection.domain.money import apply_rate, round_cents
from collection.domain.price import payoff_parts

FINE_CAP = Decimal("0.02")  # CDC art. 52 §1
MAX_DISCOUNT_DATES = 3  # the Pix API's descontoDataFixa holds one to three
_PERCENT_PLACES = Decimal("0.0001")  # "1.25" (%) is 0.0125


@dataclass(frozen=True, slots=True)
class DueCharge:
    """One installment's charge: ``amount`` centavos due on ``due``."""

    amount: int
    due: date
    fine_rate: Decimal = Decimal(0)
    interest_monthly: Decimal = Decimal(0)
    valid_days_after: int = 0
    discounts: tuple[tuple[date, int], ...] = ()  # (pay until, centavos off), dates ascending

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise AgreementError("o valor da parcela deve ser positivo")
        if not Decimal(0) <= self.fine_rate <= FINE_CAP:
            raise AgreementError("a multa não pode passar de 2% (CDC art. 52 §1)")
        if self.interest_monthly < 0 or self.valid_days_after < 0:
            raise AgreementError("juros e validade não podem ser negativos")
        if len(self.discounts) > MAX_DISCOUNT_DATES:
            raise AgreementError("no máximo três datas de desconto")
        dates = [d for d, _off in self.discounts]
        if dates != sorted(set(dates)) or any(d >= self.due for d in dates):
            raise AgreementError("as datas de desconto devem ser crescentes e antes do vencimento")
        if any(not 0 < off < self.amount for _d, off in self.discounts):
            raise AgreementError("cada desconto deve ficar entre zero e o valor da parcela")

    @property
    def paid_on_time_until(self) -> date:
        """The last day it is paid without late charges (a bank business day)."""
        return next_bank_business_day(self.due)

    @property
    def payable_until(self) -> date:
        return self.due + timedelta(days=self.valid_days_after)


@dataclass(frozen=True, slots=True)
class DueAmount:
    """What the charge asks on one day, itemised."""

    principal: int
    discount: int = 0
    fine: int = 0
    interest: int = 0

    @property
    def total(self) -> int:
        return self.principal - self.discount + self.fine + self.interest


@dataclass(frozen=True, slots=True)
class Settlement:
    """What an amount paid settles: ``principal`` to the installment (its excess is the
    agreement's credit), ``charges`` as late fee and interest, ``waived`` given up."""

    principal: int
    charges: int
    waived: int


def due_charge_for(
    amount: int,
    due: date,
    *,
    issued_on: date,
    plan_rate: Decimal,
    fine_rate: Decimal,
    interest_monthly: Decimal,
    grace_days: int,
) -> DueCharge:
    """The charge of an installment issued on ``issued_on``: discounts for paying early on
    the issue day, halfway and the day before the due date (those before it only)."""
    halfway = issued_on + timedelta(days=(due - issued_on).days // 2)
    candidates = sorted({issued_on, halfway, due - timedelta(days=1)})
    discounts: list[tuple[date, int]] = []
    if plan_rate > 0:
        for day in candidates:
            if issued_on <= day < due:
                off = amount - payoff_parts([(amount, due)], plan_rate, day)[0]
                if 0 < off < amount and all(off < kept for _d, kept in discounts):
                    discounts.append((day, off))
    # The Pix API writes rates as percentages with two decimals: what it will charge.
    return DueCharge(
        amount=amount,
        due=due,
        fine_rate=fine_rate.quantize(_PERCENT_PLACES, rounding=ROUND_DOWN),
        interest_monthly=interest_monthly.quantize(_PERCENT_PLACES, rounding=ROUND_DOWN),
        valid_days_after=grace_days,
        discounts=tuple(discounts[:MAX_DISCOUNT_DATES]),
    )


def amount_on(charge: DueCharge, paid_on: date) -> DueAmount:
    """What the charge asks when paid on ``paid_on``."""
    if paid_on > charge.payable_until and paid_on > charge.paid_on_time_until:
        raise AgreementError("a cobrança não pode mais ser paga")
    if paid_on <= charge.paid_on_time_until:
        off = next((off for until, off in charge.discounts if paid_on <= until), 0)
        return DueAmount(charge.amount, discount=off)
    days = (paid_on - charge.due).days
    interest = round_cents(Decimal(charge.amount) * charge.interest_monthly * days / 30)
    return DueAmount(
        charge.amount, fine=apply_rate(charge.amount, charge.fine_rate), interest=interest
    )


def split(charge: DueCharge, paid: int, paid_on: date) -> Settlement:
    """What ``paid`` centavos on ``paid_on`` settle (late charges first; a discount only
    when at least what was asked that day arrived). A day the charge can no longer be
    paid counts the money as an ordinary payment."""
    if paid <= 0:
        raise AgreementError("o valor do pagamento deve ser positivo")
    try:
        asked = amount_on(charge, paid_on)
    except AgreementError:
        return Settlement(paid, 0, 0)
    charges = min(paid, asked.fine + asked.interest)
    principal = paid - charges
    waived = 0
    if asked.discount and paid >= asked.total:  # never together with late charges
        waived = max(0, charge.amount - principal)
    return Settlement(principal, charges, waived)


def to_record(charge: DueCharge) -> dict[str, object]:
    """The charge as stored with its payment (JSON: dates ISO, rates as text)."""
    return {
        "amount": charge.amount,
        "due": charge.due.isoformat(),
        "fine_rate": str(charge.fine_rate),
        "interest_monthly": str(charge.interest_monthly),
        "valid_days_after": charge.valid_days_after,
        "discounts": [[d.isoformat(), off] for d, off in charge.discounts],
    }


def from_record(record: dict[str, object]) -> DueCharge:
    """The charge stored by ``to_record``."""
    discounts = record.get("discounts") or []
    assert isinstance(discounts, list)
    return DueCharge(
        amount=int(str(record["amount"])),
        due=date.fromisoformat(str(record["due"])),
        fine_rate=Decimal(str(record["fine_rate"])),
        interest_monthly=Decimal(str(record["interest_monthly"])),
        valid_days_after=int(str(record["valid_days_after"])),
        discounts=tuple((date.fromisoformat(str(d)), int(off)) for d, off in discounts),
    )


@dataclass(frozen=True, slots=True)
class Itemised:
    """The charge as the person reads it: what to pay by each date, and after the due
    date the late fee (centavos) and the interest rate a month, until the last day."""

    early: tuple[tuple[date, int, int], ...]  # (pay by, discount, amount to pay)
    due: date
    amount: int
    fine: int
    interest_monthly: Decimal
    payable_until: date


def itemise(charge: DueCharge) -> Itemised:
    return Itemised(
        early=tuple((d, off, charge.amount - off) for d, off in charge.discounts),
        due=charge.due,
        amount=charge.amount,
        fine=apply_rate(charge.amount, charge.fine_rate),
        interest_monthly=charge.interest_monthly,
        payable_until=charge.payable_until,
    )
