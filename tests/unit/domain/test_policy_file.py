from decimal import Decimal
from pathlib import Path

import pytest

from collection.domain.errors import PolicyError
from collection.domain.policy_file import load_policy_toml

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "policy.toml"

MINIMAL = """
[[buckets]]
min_days = 0
"""


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as err:
        load_policy_toml(text)
    return err.value


def test_documented_example_loads() -> None:
    policy = load_policy_toml(EXAMPLE.read_text(encoding="utf-8"))
    assert len(policy.buckets) == 3
    assert policy.charges.late_fee_rate == Decimal("0.02")
    first, second, last = policy.buckets
    assert first.max_installments == 6  # its own value
    assert second.max_installments == 12  # inherited from [defaults]
    assert second.min_down_payment == 10000  # "R$ 100,00"
    assert second.min_down_payment_rate == Decimal("0.10")  # "10%"
    assert last.max_days is None
    assert last.monthly_rate == Decimal("0.0149")


def test_minimal_file_gets_the_defaults() -> None:
    policy = load_policy_toml(MINIMAL)
    assert policy.buckets[0].max_installments == 1
    assert policy.grace_days == 5
    assert policy.charges.late_interest_monthly is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [('"0.0199"', "0.0199"), ('"1,99%"', "0.0199"), ('"2%"', "0.02"), ("0.02", "0.02"), ("0", "0")],
)
def test_rates_may_be_fractions_or_percentages(value: str, expected: str) -> None:
    policy = load_policy_toml(f"[defaults]\nmonthly_rate = {value}\n{MINIMAL}")
    assert policy.buckets[0].monthly_rate == Decimal(expected)


def test_unknown_key_is_an_error_naming_it() -> None:
    assert _error(f"[defaults]\nmax_instalments = 3\n{MINIMAL}").field == "defaults.max_instalments"
    assert _error(f"grace = 3\n{MINIMAL}").field == "grace"
    assert _error("[[buckets]]\nmin_days = 0\nfoo = 1\n").field == "buckets[0].foo"


def test_bucket_error_names_the_bucket_and_field() -> None:
    text = MINIMAL + "max_days = 30\n[[buckets]]\nmin_days = 31\nmax_installments = 0\n"
    error = _error(text)
    assert error.field == "buckets[1].max_installments"


def test_inherited_value_that_contradicts_a_bucket_says_so() -> None:
    text = '[defaults]\ninstallment_discount_charges = "0.5"\n' + MINIMAL
    error = _error(text)
    assert error.field == "buckets[0].installment_discount_charges"
    assert "[defaults]" in error.message


def test_charges_above_the_cap_name_the_charges_field() -> None:
    assert _error(f'[charges]\nlate_fee_rate = "10%"\n{MINIMAL}').field == "charges.late_fee_rate"


def test_overlapping_buckets_in_a_file_are_rejected() -> None:
    text = "[[buckets]]\nmin_days = 0\nmax_days = 60\n[[buckets]]\nmin_days = 30\n"
    assert _error(text).field == "buckets[1].min_days"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "buckets"),
        ("[[buckets]]\nmax_days = 3\n", "buckets[0].min_days"),
        ('[[buckets]]\nmin_days = "zero"\n', "buckets[0].min_days"),
        ('[defaults]\nmonthly_rate = "dois"\n' + MINIMAL, "defaults.monthly_rate"),
        ('[defaults]\nmin_installment = "cinquenta"\n' + MINIMAL, "defaults.min_installment"),
        ("[defaults]\nmin_installment = true\n" + MINIMAL, "defaults.min_installment"),
        ("allow_voluntary_prescribed = 1\n" + MINIMAL, "allow_voluntary_prescribed"),
        ("version = 2\n" + MINIMAL, "version"),
        ("this is not toml", "arquivo"),
        ("validity = [\n", "arquivo"),
    ],
)
def test_bad_files_are_rejected_naming_the_field(text: str, field: str) -> None:
    assert _error(text).field == field


def test_example_in_the_format_document_loads() -> None:
    text = (Path(__file__).parents[3] / "docs" / "POLICY.md").read_text(encoding="utf-8")
    block = text.split("## Example", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    policy = load_policy_toml(block)
    assert policy.buckets[1].max_installments == 24
    assert policy.buckets[0].min_installment == 5000
    assert policy.buckets[0].monthly_rate == Decimal("0.0199")
