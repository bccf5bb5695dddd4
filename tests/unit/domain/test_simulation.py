import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from collection.domain.policy_file import load_policy_toml
from collection.domain.simulation import rate_text, simulate

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "policy.toml"
POLICY = load_policy_toml(EXAMPLE.read_text(encoding="utf-8"))
ON = date(2025, 6, 2)


def test_simulation_prints_the_documented_json_shape() -> None:
    result = simulate(POLICY, 150000, date(2025, 1, 10), ON)
    assert set(result) == {"valuation", "offers", "notes"}
    valuation = result["valuation"]
    for key in ("principal", "late_fee", "interest", "correction", "fees", "total"):
        assert isinstance(valuation[key], int)
    assert valuation["computed_on"] == "2025-06-02"
    assert valuation["total"] == sum(
        valuation[k] for k in ("principal", "late_fee", "interest", "correction", "fees")
    )
    assert result["offers"]
    kinds = {offer["kind"] for offer in result["offers"]}
    assert kinds == {"cash", "installments"}
    for offer in result["offers"]:
        for key in ("total", "down_payment", "discount"):
            assert isinstance(offer[key], int)
        Decimal(offer["monthly_rate"])
        Decimal(offer["cet_yearly"])
        date.fromisoformat(offer["valid_until"])
        assert offer["installments"]
        for item in offer["installments"]:
            assert set(item) == {"number", "due_date", "amount"}
            assert isinstance(item["amount"], int)
            date.fromisoformat(item["due_date"])
        assert (
            offer["down_payment"] + sum(i["amount"] for i in offer["installments"])
            == offer["total"]
        )
        assert offer["discount"] == valuation["total"] - offer["total"] + offer["interest"]
    json.dumps(result)


def test_same_simulation_prints_the_same_text() -> None:
    first = json.dumps(simulate(POLICY, 98765, date(2024, 11, 3), ON), sort_keys=True)
    second = json.dumps(simulate(POLICY, 98765, date(2024, 11, 3), ON), sort_keys=True)
    assert first == second


def test_monthly_rate_is_a_plain_decimal_string() -> None:
    result = simulate(POLICY, 150000, date(2025, 1, 10), ON)
    plan = next(o for o in result["offers"] if o["kind"] == "installments")
    assert plan["monthly_rate"] == "0.0199"
    assert rate_text(Decimal("0.0200")) == "0.02"
    assert rate_text(Decimal("0E-4")) == "0"


def test_prescribed_debt_gets_no_offers_and_says_why() -> None:
    result = simulate(POLICY, 150000, date(2019, 1, 10), ON)
    assert result["offers"] == []
    assert result["valuation"]["is_prescribed"] is True
    assert "prescrita" in result["notes"][0]
