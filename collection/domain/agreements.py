"""Agreements: an accepted offer, its installments and the state machine that follows it.

States and the only transitions there are (every one tested):

    awaiting_first_payment ──first payment settled──▶ active ──all settled──▶ paid
    awaiting_first_payment ──first payment overdue past the grace days──▶ broken
    active ──an installment overdue──▶ late ──overdue paid within grace (cure)──▶ active
    late ──oldest overdue installment unpaid past the grace days──▶ broken
    awaiting / active / late ──cancel──▶ cancelled
    awaiting / active / late ──early payoff at present value──▶ paid
    active / late / paid ──a payment reversed (refund, chargeback)──▶ awaiting or active

``broken`` and ``cancelled`` are final; ``paid`` is final except that a reversed payment
reopens what it had settled. Rules where DOMAIN.md is silent:

- grace days are calendar days after the due date: paying on due date + grace still
  cures; the agreement breaks the day after;
- a due date on a day without bank service counts as the next bank business day
  (Código Civil art. 132 §1; ``business_days``): paying then is on time, and lateness and
  grace count from it. New schedules never have such dates (the offer engine moves
  them); an older stored one may, and it is read as moved rather than refused. A
  weekend or national holiday is still refused, as it always was;
- time only moves forward: every event carries its date, and a date before the last
  event is refused, so replaying the same events always gives the same agreement;
- every event first brings the state up to its date (``advance``), so an agreement
  looked at late still records each transition on the day it happened;
- a payment goes to the installment it was issued for (or the oldest open one); what
  exceeds it settles the next open installments, oldest first; what exceeds the whole
  agreement, or arrives after it ended, is kept as ``credit``, never dropped;
- a reversed payment comes off the installments it had settled (as its receipt says)
  and off the credit it left; the agreement goes back to awaiting its first payment if
  the first installment is open again, otherwise to active, and then to its date;
- no late charges on agreement installments: the agreement already priced the debt;
- early payoff (CDC art. 52 §2) is the present value of the open installments at the
  plan's monthly rate, pro rata die (days/30); overdue installments count at face value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from collection.domain.business_days import is_business_day, next_bank_business_day
from collection.domain.errors import AgreementError, IllegalTransition
from collection.domain.money import format_brl
from collection.domain.offers import Offer
from collection.domain.price import early_payoff, payoff_parts

__all__ = [
    "Agreement",
    "AgreementStatus",
    "Installment",
    "PaymentReceipt",
    "Transition",
]

_ONE_DAY = timedelta(days=1)


class AgreementStatus(StrEnum):
    """Where an agreement stands."""

    AWAITING_FIRST_PAYMENT = "awaiting_first_payment"
    ACTIVE = "active"
    LATE = "late"
    PAID = "paid"
    BROKEN = "broken"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """True while payments are still expected."""
        return self in _OPEN


_OPEN = frozenset(
    {AgreementStatus.AWAITING_FIRST_PAYMENT, AgreementStatus.ACTIVE, AgreementStatus.LATE}
)


@dataclass(frozen=True, slots=True)
class Installment:
    """One payment of an agreement (number 0 is the down payment), in centavos.

    ``waived`` is interest given up on early payoff; ``settled_on`` is the day it was
    fully paid.
    """

    number: int
    due_date: date
    amount: int
    paid: int = 0
    waived: int = 0
    settled_on: date | None = None

    @property
    def open_amount(self) -> int:
        """What is still owed on this installment."""
        return self.amount - self.paid - self.waived

    @property
    def is_settled(self) -> bool:
        """True when nothing is owed on it any more."""
        return self.open_amount <= 0

    @property
    def payable_until(self) -> date:
        """The last day it is paid on time: the due date, or the next bank business day
        when banks are closed on it (Código Civil art. 132 §1)."""
        return next_bank_business_day(self.due_date)


@dataclass(frozen=True, slots=True)
class Transition:
    """A recorded change of state, on the day it took effect, with a pt-BR reason."""

    source: AgreementStatus
    target: AgreementStatus
    on: date
    reason: str


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    """How a payment was used: amount per installment number, and what became credit;
    an early payoff also says the interest it waived per installment number."""

    amount: int
    on: date
    applied: tuple[tuple[int, int], ...]
    credit: int
    status: AgreementStatus
    waived: tuple[tuple[int, int], ...] = ()


class Agreement:
    """An agreement's installments, state and history; events move it forward in time.

    Build one with ``Agreement.from_offer`` on acceptance; the constructor also takes a
    stored state back (``status``, ``credit``, ``last_event_on``, ``history``).
    """

    __slots__ = (
        "_credit",
        "_history",
        "_installments",
        "_last_event_on",
        "_status",
        "created_on",
        "grace_days",
        "monthly_rate",
        "reference",
    )

    def __init__(
        self,
        installments: Sequence[Installment],
        monthly_rate: Decimal,
        grace_days: int,
        created_on: date,
        *,
        reference: str = "",
        status: AgreementStatus = AgreementStatus.AWAITING_FIRST_PAYMENT,
        credit: int = 0,
        last_event_on: date | None = None,
        history: Sequence[Transition] = (),
    ) -> None:
        if not installments:
            raise AgreementError("o acordo precisa de pelo menos uma parcela")
        ordered = tuple(installments)
        for before, after in pairwise(ordered):
            if after.number <= before.number or after.due_date < before.due_date:
                raise AgreementError("parcelas fora de ordem de número ou de vencimento")
        for item in ordered:
            if item.amount <= 0:
                raise AgreementError(f"a parcela {item.number} deve ter valor positivo")
            if not is_business_day(item.due_date):
                raise AgreementError(
                    f"o vencimento da parcela {item.number} ({item.due_date:%d/%m/%Y}) "
                    "não é dia útil"
                )
        if ordered[0].due_date < created_on:
            raise AgreementError("a primeira parcela vence antes da data do acordo")
        if grace_days < 0:
            raise AgreementError("a tolerância não pode ser negativa")
        self._installments = ordered
        self.monthly_rate = monthly_rate
        self.grace_days = grace_days
        self.created_on = created_on
        self.reference = reference
        self._status = status
        self._credit = credit
        self._last_event_on = last_event_on or created_on
        self._history = list(history)

    @classmethod
    def from_offer(
        cls, offer: Offer, accepted_on: date, grace_days: int, *, reference: str = ""
    ) -> Agreement:
        """The agreement an accepted offer becomes; refuses an offer past its validity."""
        if accepted_on > offer.valid_until:
            raise AgreementError(f"a oferta venceu em {offer.valid_until:%d/%m/%Y}")
        items: list[Installment] = []
        if offer.down_payment:
            assert offer.down_payment_due is not None
            items.append(Installment(0, offer.down_payment_due, offer.down_payment))
        items.extend(Installment(number, due, amount) for number, due, amount in offer.installments)
        return cls(items, offer.monthly_rate, grace_days, accepted_on, reference=reference)

    # -- reading -----------------------------------------------------------------------

    @property
    def status(self) -> AgreementStatus:
        """The current state."""
        return self._status

    @property
    def installments(self) -> tuple[Installment, ...]:
        """Every installment, the down payment (number 0) first."""
        return self._installments

    @property
    def credit(self) -> int:
        """Money received beyond what the agreement needed, kept to refund or reuse."""
        return self._credit

    @property
    def history(self) -> tuple[Transition, ...]:
        """Every transition so far, oldest first."""
        return tuple(self._history)

    @property
    def last_event_on(self) -> date:
        """The date of the latest event; events before it are refused."""
        return self._last_event_on

    @property
    def total(self) -> int:
        """The sum of all installments."""
        return sum(i.amount for i in self._installments)

    @property
    def remaining(self) -> int:
        """What is still owed, in centavos."""
        return sum(max(0, i.open_amount) for i in self._installments)

    def overdue(self, on: date) -> tuple[Installment, ...]:
        """Open installments whose (bank-moved) due date has passed on ``on``."""
        return tuple(i for i in self._installments if not i.is_settled and i.payable_until < on)

    def payoff_amount(self, on: date) -> int:
        """What settles everything on ``on``: the present value of the open installments.

        CDC art. 52 §2: interest falls in proportion; the plan's rate, days/30.
        """
        if not self._status.is_open:
            raise AgreementError("o acordo já está encerrado")
        return early_payoff(self._open_items(), self.monthly_rate, on)

    def _open_items(self) -> list[tuple[int, date]]:
        return [(i.open_amount, i.due_date) for i in self._installments if not i.is_settled]

    # -- events ------------------------------------------------------------------------

    def advance(self, on: date) -> AgreementStatus:
        """Bring the state up to ``on`` (the "day passed" event) and return it."""
        self._check_date(on)
        while self._status.is_open:
            overdue = self.overdue(on)
            if not overdue:
                break
            oldest = overdue[0]
            if self._status is AgreementStatus.ACTIVE:
                self._move(
                    AgreementStatus.LATE,
                    oldest.payable_until + _ONE_DAY,
                    f"parcela {oldest.number} vencida em {oldest.payable_until:%d/%m/%Y}",
                )
                continue
            deadline = oldest.payable_until + timedelta(days=self.grace_days)
            if on > deadline:
                self._move(
                    AgreementStatus.BROKEN,
                    deadline + _ONE_DAY,
                    f"parcela {oldest.number} não paga até {deadline:%d/%m/%Y}",
                )
            break
        self._last_event_on = on
        return self._status

    def receive_payment(
        self, amount: int, on: date, installment: int | None = None
    ) -> PaymentReceipt:
        """Apply a payment received on ``on`` (partial, late or excess) and move the state.

        ``installment`` is the number the payment was issued for; None means the oldest
        open one. After the agreement ended, the whole amount becomes credit.
        """
        if amount <= 0:
            raise AgreementError("o valor do pagamento deve ser positivo")
        self.advance(on)
        if not self._status.is_open:
            self._credit += amount
            return PaymentReceipt(amount, on, (), amount, self._status)
        numbers = [i.number for i in self._installments]
        if installment is not None and installment not in numbers:
            raise AgreementError(f"o acordo não tem a parcela {installment}")
        order = sorted(
            range(len(self._installments)),
            key=lambda k: (numbers[k] != installment, numbers[k]),
        )
        items = list(self._installments)
        left = amount
        applied: list[tuple[int, int]] = []
        for k in order:
            if left == 0:
                break
            item = items[k]
            if item.is_settled:
                continue
            part = min(left, item.open_amount)
            left -= part
            paid = item.paid + part
            settled = on if paid + item.waived >= item.amount else None
            items[k] = replace(item, paid=paid, settled_on=settled)
            applied.append((item.number, part))
        self._installments = tuple(items)
        self._credit += left
        self._after_payment(on)
        return PaymentReceipt(amount, on, tuple(applied), left, self._status)

    def receive_with_discount(
        self, amount: int, discount: int, on: date, installment: int
    ) -> PaymentReceipt:
        """Apply a payment that the charge allowed to be ``discount`` short of
        ``installment`` (paid early, CDC art. 52 §2): the shortfall, up to ``discount``,
        is waived on that installment."""
        receipt = self.receive_payment(amount, on, installment)
        if discount <= 0 or not self._status.is_open:
            return receipt
        items = list(self._installments)
        k = next(k for k, item in enumerate(items) if item.number == installment)
        item = items[k]
        off = min(discount, item.open_amount)
        if off <= 0:
            return receipt
        settled = on if item.paid + item.waived + off >= item.amount else None
        items[k] = replace(item, waived=item.waived + off, settled_on=settled)
        self._installments = tuple(items)
        self._after_payment(on)
        return replace(receipt, waived=((installment, off),), status=self._status)

    def cure(self, on: date) -> None:
        """Put a late agreement back to active; only when nothing is overdue within grace."""
        self.advance(on)
        if self._status is not AgreementStatus.LATE:
            raise IllegalTransition(
                f"só um acordo em atraso pode ser regularizado (situação: {self._status})"
            )
        if self.overdue(on):
            raise IllegalTransition("ainda há parcela vencida em aberto")
        self._move(AgreementStatus.ACTIVE, on, "atraso regularizado")

    def cancel(self, on: date, reason: str) -> None:
        """Cancel an open agreement (by the creditor or at the debtor's request)."""
        self.advance(on)
        if not self._status.is_open:
            raise IllegalTransition(f"um acordo na situação {self._status} não pode ser cancelado")
        self._move(AgreementStatus.CANCELLED, on, reason or "cancelado")

    def pay_off(self, amount: int, on: date, *, priced_on: date | None = None) -> PaymentReceipt:
        """Settle the whole agreement early with at least ``payoff_amount`` of
        ``priced_on`` (the day the amount was quoted, so a boleto paid days later still
        settles; default and latest ``on``).

        The interest given up is recorded per installment as ``waived``; any excess
        becomes credit.
        """
        self.advance(on)
        if not self._status.is_open:
            raise IllegalTransition(
                f"um acordo na situação {self._status} não pode ser quitado antecipadamente"
            )
        quoted = min(priced_on or on, on)
        parts = payoff_parts(self._open_items(), self.monthly_rate, quoted)
        due = sum(parts)
        if amount < due:
            raise AgreementError(
                f"valor insuficiente para a quitação antecipada: são {format_brl(due)}"
            )
        items = list(self._installments)
        open_indexes = [k for k, item in enumerate(items) if not item.is_settled]
        applied: list[tuple[int, int]] = []
        waived: list[tuple[int, int]] = []
        for k, part in zip(open_indexes, parts, strict=True):
            item = items[k]
            given_up = item.open_amount - part
            items[k] = replace(
                item, paid=item.paid + part, waived=item.waived + given_up, settled_on=on
            )
            applied.append((item.number, part))
            if given_up:
                waived.append((item.number, given_up))
        self._installments = tuple(items)
        self._credit += amount - due
        self._move(AgreementStatus.PAID, on, "quitação antecipada")
        return PaymentReceipt(amount, on, tuple(applied), amount - due, self._status, tuple(waived))

    def reverse_payment(self, receipt: PaymentReceipt, on: date, reason: str) -> AgreementStatus:
        """Undo a payment that was refunded or charged back, as ``receipt`` applied it.

        A broken or cancelled agreement keeps its state (only the amounts change); an
        open or paid one reopens as the installments now stand.
        """
        self._check_date(on)
        items = list(self._installments)
        index = {item.number: k for k, item in enumerate(items)}
        # An early payoff's discount was given for paying everything: it comes back too.
        taken: dict[int, int] = {}
        for number, part in receipt.applied:
            taken[number] = taken.get(number, 0) + part
        given_back = dict(receipt.waived)
        for number in sorted(set(taken) | set(given_back)):
            if number not in index:
                raise AgreementError(f"o acordo não tem a parcela {number}")
            item = items[index[number]]
            paid = max(0, item.paid - taken.get(number, 0))
            waived = max(0, item.waived - given_back.get(number, 0))
            settled = item.settled_on if paid + waived >= item.amount else None
            items[index[number]] = replace(item, paid=paid, waived=waived, settled_on=settled)
        self._installments = tuple(items)
        self._credit = max(0, self._credit - receipt.credit)
        if self._status in (AgreementStatus.BROKEN, AgreementStatus.CANCELLED):
            self._last_event_on = on
            return self._status
        if not self._installments[0].is_settled:
            if self._status is not AgreementStatus.AWAITING_FIRST_PAYMENT:
                self._move(AgreementStatus.AWAITING_FIRST_PAYMENT, on, reason)
        elif self._status is AgreementStatus.PAID and not all(
            i.is_settled for i in self._installments
        ):
            self._move(AgreementStatus.ACTIVE, on, reason)
        return self.advance(on)

    # -- internals ---------------------------------------------------------------------

    def _after_payment(self, on: date) -> None:
        if all(i.is_settled for i in self._installments):
            self._move(AgreementStatus.PAID, on, "todas as parcelas pagas")
            return
        if (
            self._status is AgreementStatus.AWAITING_FIRST_PAYMENT
            and self._installments[0].is_settled
        ):
            self._move(AgreementStatus.ACTIVE, on, "primeiro pagamento recebido")
            self.advance(on)
        elif self._status is AgreementStatus.LATE and not self.overdue(on):
            self._move(AgreementStatus.ACTIVE, on, "atraso regularizado")

    def _check_date(self, on: date) -> None:
        if on < self._last_event_on:
            raise AgreementError(
                f"data {on:%d/%m/%Y} anterior ao último evento do acordo "
                f"({self._last_event_on:%d/%m/%Y})"
            )

    def _move(self, target: AgreementStatus, on: date, reason: str) -> None:
        allowed = _TRANSITIONS[self._status]
        if target not in allowed:
            raise IllegalTransition(f"transição não permitida: {self._status} → {target}")
        when = max(on, self._last_event_on)
        self._history.append(Transition(self._status, target, when, reason))
        self._status = target


_TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.AWAITING_FIRST_PAYMENT: frozenset(
        {
            AgreementStatus.ACTIVE,
            AgreementStatus.PAID,
            AgreementStatus.BROKEN,
            AgreementStatus.CANCELLED,
        }
    ),
    AgreementStatus.ACTIVE: frozenset(
        {
            AgreementStatus.AWAITING_FIRST_PAYMENT,
            AgreementStatus.LATE,
            AgreementStatus.PAID,
            AgreementStatus.CANCELLED,
        }
    ),
    AgreementStatus.LATE: frozenset(
        {
            AgreementStatus.AWAITING_FIRST_PAYMENT,
            AgreementStatus.ACTIVE,
            AgreementStatus.PAID,
            AgreementStatus.BROKEN,
            AgreementStatus.CANCELLED,
        }
    ),
    # Only a reversed payment reopens a paid agreement.
    AgreementStatus.PAID: frozenset(
        {AgreementStatus.AWAITING_FIRST_PAYMENT, AgreementStatus.ACTIVE}
    ),
    AgreementStatus.BROKEN: frozenset(),
    AgreementStatus.CANCELLED: frozenset(),
}
