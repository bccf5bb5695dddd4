"""A re-import that lowers the debts under an agreement (issue 16 item 2): the rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collection.domain.reimport import ReimportChange, classify, reduce_agreement, rescale_open


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


def test_payments_so_far_count_against_the_lower_total() -> None:
    # R$ 1.000,00 agreed in 5 × R$ 200,00, one paid; the debts fall to R$ 600,00: the
    # agreement collects R$ 600,00 in all, so R$ 400,00 remain over the four open ones.
    reduced = reduce_agreement([(20000, 20000)] + [(20000, 0)] * 4, 100000, 60000)
    assert reduced.open_amounts == [10000] * 4
    assert (reduced.remaining, reduced.to_refund) == (40000, 0)


def test_paid_beyond_the_new_total_is_to_be_refunded() -> None:
    reduced = reduce_agreement([(25000, 25000), (25000, 0)], 50000, 0)
    assert reduced.open_amounts == [0]
    assert (reduced.remaining, reduced.to_refund) == (0, 25000)


def test_a_higher_balance_leaves_the_agreement_as_it_was() -> None:
    reduced = reduce_agreement([(10000, 0)], 10000, 15000)
    assert (reduced.open_amounts, reduced.remaining, reduced.to_refund) == ([10000], 10000, 0)


@given(
    st.lists(
        st.tuples(st.integers(1, 1_000_000), st.integers(0, 1_000_000)).map(
            lambda t: (t[0], min(t[0], t[1]))
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(min_value=1, max_value=10**8),
    st.integers(min_value=0, max_value=10**8),
)
def test_a_reduced_agreement_never_collects_more_than_its_new_total(
    installments: list[tuple[int, int]], old: int, new: int
) -> None:
    reduced = reduce_agreement(installments, old, new)
    paid = sum(p for _a, p in installments)
    total = sum(a for a, _p in installments)
    unpaid = [a - p for a, p in installments if a > p]
    assert len(reduced.open_amounts) == len(unpaid)
    assert all(0 <= r <= u for r, u in zip(reduced.open_amounts, unpaid, strict=True))
    assert sum(reduced.open_amounts) == reduced.remaining
    if new < old:
        assert paid + reduced.remaining - reduced.to_refund == total * new // old
