"""What a re-import that changes a debt under an agreement does to that agreement.

The rule (docs/POLICY.md, "Re-imports and agreements"): when the debts of an agreement are
worth less than before (a lower balance, or a contract the creditor settled), the
agreement's total shrinks in the same proportion; what was already paid counts against the
new total, the unpaid installments share what remains (none grows), and what was paid
beyond the new total is to be refunded. A higher balance never changes an agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Reduction",
    "ReimportAction",
    "ReimportChange",
    "classify",
    "reduce_agreement",
    "rescale_open",
]


class ReimportChange(StrEnum):
    """How a contract under an agreement differs in the new file."""

    LOWER = "lower"  # the file's balance is lower than the debt's
    HIGHER = "higher"  # the file's balance is higher
    MISSING = "missing"  # not in the file: the creditor settled it


class ReimportAction(StrEnum):
    """What the import does to the agreement because of that change."""

    RECALCULATED = "recalculated"  # remaining installments reduced pro rata
    CLOSED = "closed"  # nothing remains: the agreement ends, settled by the creditor
    FLAGGED = "flagged"  # no change to the agreement; listed for the creditor's review


def classify(old_amount: int, new_amount: int | None) -> ReimportChange | None:
    """The change of one contract (``new_amount`` None: missing from the file)."""
    if new_amount is None:
        return ReimportChange.MISSING
    if new_amount < old_amount:
        return ReimportChange.LOWER
    if new_amount > old_amount:
        return ReimportChange.HIGHER
    return None


def rescale_open(open_amounts: list[int], old_value: int, new_value: int) -> list[int]:
    """The open amounts of the unpaid installments after the debts went from ``old_value``
    to ``new_value`` centavos: the total becomes floor(total × new / old), shared in
    proportion (largest remainders get the leftover centavos), and no installment grows.
    """
    if old_value <= 0 or new_value >= old_value:
        return list(open_amounts)
    new_value = max(new_value, 0)
    total = sum(open_amounts)
    target = total * new_value // old_value
    floors = [a * new_value // old_value for a in open_amounts]
    leftover = target - sum(floors)
    by_remainder = sorted(
        range(len(open_amounts)),
        key=lambda i: (-(open_amounts[i] * new_value % old_value), i),
    )
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return floors


@dataclass(frozen=True, slots=True)
class Reduction:
    """An agreement after its debts lost value: the new open amount of each unpaid
    installment (in order), what remains to pay, and what was paid beyond the new total."""

    open_amounts: list[int]
    remaining: int
    to_refund: int


def reduce_agreement(
    installments: list[tuple[int, int]], old_value: int, new_value: int
) -> Reduction:
    """``installments`` as (amount, paid) in centavos; the debts went from ``old_value`` to
    ``new_value``. The new total is floor(total × new / old); the payments so far count
    against it; the unpaid installments share the rest in proportion."""
    open_amounts = [max(amount - paid, 0) for amount, paid in installments]
    unpaid = [a for a in open_amounts if a > 0]
    remaining = sum(unpaid)
    if old_value <= 0 or new_value >= old_value:
        return Reduction(unpaid, remaining, 0)
    total = sum(amount for amount, _paid in installments)
    paid = sum(min(paid, amount) for amount, paid in installments)
    new_total = total * max(new_value, 0) // old_value
    target = max(new_total - paid, 0)
    return Reduction(rescale_open(unpaid, remaining, target), target, max(paid - new_total, 0))
