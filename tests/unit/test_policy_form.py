"""The policy editor's form: a policy shown as a form reads back as the same policy, and
every check is the policy file reader's, naming the field by its path."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings

from collection.debtor.page import DEFAULT_POLICY
from collection.domain.errors import PolicyError
from collection.domain.policy_file import load_policy_toml
from collection.negotiation.policy_form import (
    add_band,
    form_from_data,
    form_of,
    label_of,
    remove_band,
    to_toml,
)
from tests.unit.domain.strategies import policies


def _data(form) -> dict[str, str]:
    data = {
        "name": form.name,
        "grace_days": form.grace_days,
        "charges.late_fee_rate": form.late_fee_rate,
        "charges.late_interest_monthly": form.late_interest_monthly,
        "charges.fees_rate": form.fees_rate,
    }
    if form.monetary_correction:
        data["monetary_correction"] = "on"
    for index, band in enumerate(form.buckets):
        data.update({f"buckets[{index}].{k}": v for k, v in band.items()})
    return data


def test_the_default_policy_survives_the_form_unchanged() -> None:
    policy = load_policy_toml(DEFAULT_POLICY.read_text(encoding="utf-8"))
    assert load_policy_toml(to_toml(form_from_data(_data(form_of(policy))))) == policy


@settings(max_examples=60, deadline=None)
@given(policies())
def test_any_valid_policy_reads_back_the_same_through_the_form(policy) -> None:
    assert load_policy_toml(to_toml(form_of(policy))) == policy


def test_form_errors_are_the_policy_readers_with_the_field_path() -> None:
    form = form_of(load_policy_toml(DEFAULT_POLICY.read_text(encoding="utf-8")))
    bands = [dict(b) for b in form.buckets]
    bands[1]["installment_discount_charges"] = "95"  # above the cash discount of 90%
    with pytest.raises(PolicyError) as caught:
        load_policy_toml(to_toml(replace(form, buckets=tuple(bands))))
    assert caught.value.field == "buckets[1].installment_discount_charges"
    assert "desconto à vista" in caught.value.message
    assert label_of(caught.value.field).startswith("Faixa 2 · ")
    bands[1]["installment_discount_charges"] = ""  # a blank is refused, not defaulted
    with pytest.raises(PolicyError) as blank:
        load_policy_toml(to_toml(replace(form, buckets=tuple(bands))))
    assert blank.value.field == "buckets[1].installment_discount_charges"
    bands[1]["installment_discount_charges"] = "50"
    bands[1]["max_installments"] = "doze"
    with pytest.raises(PolicyError) as word:
        load_policy_toml(to_toml(replace(form, buckets=tuple(bands))))
    assert word.value.field == "buckets[1].max_installments"


def test_a_name_with_quotes_cannot_inject_settings() -> None:
    form = form_of(load_policy_toml(DEFAULT_POLICY.read_text(encoding="utf-8")))
    sneaky = replace(form, name='x"\ngrace_days = 60\nname = "y')
    policy = load_policy_toml(to_toml(sneaky))
    assert policy.grace_days == 5 and policy.name == sneaky.name


def test_bands_added_and_removed_stay_contiguous() -> None:
    form = form_of(load_policy_toml(DEFAULT_POLICY.read_text(encoding="utf-8")))
    grown = add_band(form)
    assert len(grown.buckets) == 4
    load_policy_toml(to_toml(grown))  # still valid
    for index in range(4):
        load_policy_toml(to_toml(remove_band(grown, index)))
    assert remove_band(replace(form, buckets=form.buckets[:1]), 0).buckets == form.buckets[:1]
