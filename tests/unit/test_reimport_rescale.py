"""A re-import that lowers the debts under an agreement (issue 16 item 2): the rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collection.domain.reimport import ReimportChange, classify, rescale_open


def test_lower_balance_reduces_the_remaining_installments_pro_rata() -> None:
    # Debts worth R$ 800,00 become R$ 600,00: four open installments of R$ 138,48.
    assert rescale_open([13848] * 4, 80000, 60000) == [10386] * 4


def test_a_settled_contract_closes_everything_when_nothing_remains() -> None:
    assert rescale_open([13848, 13848, 5000], 80000, 0) == [0, 0, 0]


def test_a_higher_balance_never_changes_the_installments() -> None:
    assert rescale_open([13848, 13848], 80000, 90000) == [13848, 13848]


def test_classify_names_the_change() -> None:
    assert classify(100, None) is ReimportChange.MISSING
    assert classify(100, 90) is ReimportChange.LOWER
    assert classify(100, 110) is ReimportChange.HIGHER
    assert classify(100, 100) is None


@given(
    st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
)
def test_rescaled_amounts_never_grow_and_sum_to_the_proportional_total(
    amounts: list[int], old: int, new: int
) -> None:
    result = rescale_open(amounts, old, new)
    assert len(result) == len(amounts)
    assert all(0 <= r <= a for r, a in zip(result, amounts, strict=True))
    if new < old:
        assert sum(result) == sum(amounts) * new // old
    else:
        assert result == amounts
