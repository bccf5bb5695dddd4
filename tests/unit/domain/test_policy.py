from decimal import Decimal
from typing import Any

import pytest

from collection.domain.errors import PolicyError
from collection.domain.policy import AgeBucket, NegotiationPolicy, PolicyBook


def _bucket_error(**fields: Any) -> PolicyError:
    with pytest.raises(PolicyError) as err:
        AgeBucket(**{"min_days": 0, **fields})
    return err.value


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"max_installments": 0}, "max_installments"),
        ({"max_installments": 121}, "max_installments"),
        ({"cash_discount_charges": Decimal("1.01")}, "cash_discount_charges"),
        ({"cash_discount_principal": Decimal("-0.1")}, "cash_discount_principal"),
        ({"cash_discount_principal": Decimal("NaN")}, "cash_discount_principal"),
        ({"monthly_rate": Decimal("0.11")}, "monthly_rate"),
        ({"monthly_rate": Decimal(2)}, "monthly_rate"),
        ({"min_installment": 0}, "min_installment"),
        ({"min_down_payment": -1}, "min_down_payment"),
        ({"min_down_payment_rate": Decimal(1)}, "min_down_payment_rate"),
        ({"validity_days": 1}, "validity_days"),
        ({"max_days": -1}, "max_days"),
        ({"min_days": -1}, "min_days"),
        ({"max_installments": True}, "max_installments"),
    ],
)
def test_bucket_out_of_range_is_rejected_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    assert _bucket_error(**fields).field == field


def test_installment_discount_above_the_cash_discount_is_rejected() -> None:
    error = _bucket_error(
        cash_discount_charges=Decimal("0.3"), installment_discount_charges=Decimal("0.4")
    )
    assert error.field == "installment_discount_charges"
    assert "à vista" in error.message


def test_overlapping_buckets_are_rejected() -> None:
    with pytest.raises(PolicyError) as err:
        NegotiationPolicy((AgeBucket(0, 90), AgeBucket(60, None)))
    assert err.value.field == "buckets[1].min_days"


def test_gap_between_buckets_is_rejected() -> None:
    with pytest.raises(PolicyError) as err:
        NegotiationPolicy((AgeBucket(0, 90), AgeBucket(120, None)))
    assert err.value.field == "buckets[1].min_days"
    assert "91" in err.value.message


def test_only_the_last_bucket_may_be_open_ended() -> None:
    with pytest.raises(PolicyError) as err:
        NegotiationPolicy((AgeBucket(0), AgeBucket(91)))
    assert err.value.field == "buckets[0].max_days"


def test_policy_needs_a_bucket() -> None:
    with pytest.raises(PolicyError) as err:
        NegotiationPolicy(())
    assert err.value.field == "buckets"


def test_negative_grace_days_are_rejected() -> None:
    with pytest.raises(PolicyError) as err:
        NegotiationPolicy((AgeBucket(0),), grace_days=-1)
    assert err.value.field == "grace_days"


def test_bucket_for_picks_by_days_late() -> None:
    young, old = AgeBucket(30, 90), AgeBucket(91)
    policy = NegotiationPolicy((young, old))
    assert policy.bucket_for(29) is None
    assert policy.bucket_for(30) is young
    assert policy.bucket_for(90) is young
    assert policy.bucket_for(91) is old
    assert policy.bucket_for(10_000) is old


def test_policy_book_uses_the_portfolios_own_policy() -> None:
    default = NegotiationPolicy((AgeBucket(0),), name="padrão")
    cards = NegotiationPolicy((AgeBucket(0, max_installments=12),), portfolio="cartoes")
    book = PolicyBook(default, {"cartoes": cards})
    assert book.for_portfolio("cartoes") is cards
    assert book.for_portfolio("outra") is default
    assert book.for_portfolio(None) is default


def test_policy_book_refuses_a_policy_filed_under_another_portfolio() -> None:
    cards = NegotiationPolicy((AgeBucket(0),), portfolio="cartoes")
    with pytest.raises(PolicyError):
        PolicyBook(cards, {"veiculos": cards})
