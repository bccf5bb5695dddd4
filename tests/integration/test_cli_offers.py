"""`quita offers simulate`: the documented policy example, as the creditor would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUITA = str(Path(sys.executable).with_name("quita"))


def _simulate(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QUITA, "offers", "simulate", "--policy", str(ROOT / "docs/examples/policy.toml"), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_simulate_prints_itemised_valuation_and_offers_as_json():
    result = _simulate("--amount", "100000", "--due", "2025-06-10", "--on", "2026-11-23")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    valuation = data["valuation"]
    assert valuation["principal"] == 100000
    assert valuation["late_fee"] == 2000  # 2 %, the legal cap
    assert valuation["total"] == sum(
        valuation[k] for k in ("principal", "late_fee", "interest", "correction", "fees")
    )
    kinds = {offer["kind"] for offer in data["offers"]}
    assert kinds == {"cash", "installments"}
    for offer in data["offers"]:
        assert {
            "kind",
            "total",
            "down_payment",
            "installments",
            "monthly_rate",
            "cet_yearly",
            "discount",
            "valid_until",
        } <= offer.keys()
        paid = offer["down_payment"] + sum(i["amount"] for i in offer["installments"])
        assert paid == offer["total"]
        assert offer["discount"] == valuation["total"] - offer["total"] or offer["kind"] != "cash"
        for item in offer["installments"]:
            assert set(item) >= {"number", "due_date", "amount"}


def test_simulate_without_an_interest_rate_needs_the_legal_rate_table(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(
        (ROOT / "docs/examples/policy.toml")
        .read_text(encoding="utf-8")
        .replace('late_interest_monthly = "0.01"', ""),
        encoding="utf-8",
    )
    args = [
        "offers",
        "simulate",
        "--policy",
        str(policy),
        "--amount",
        "50000",
        "--due",
        "2024-10-01",
        "--on",
        "2024-12-20",
    ]
    refused = subprocess.run([QUITA, *args], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "taxa legal" in refused.stderr
    ok = subprocess.run(
        [QUITA, *args, "--legal-rates", str(ROOT / "docs/examples/taxa_legal.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["valuation"]["interest_basis"] != "contractual"


def test_a_contradictory_policy_is_refused_naming_the_field(tmp_path):
    policy = tmp_path / "bad.toml"
    policy.write_text(
        (ROOT / "docs/examples/policy.toml")
        .read_text(encoding="utf-8")
        .replace("validity_days = 5 ", "validity_days = 1 "),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            QUITA,
            "offers",
            "simulate",
            "--policy",
            str(policy),
            "--amount",
            "1000",
            "--due",
            "2025-01-01",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "validity_days" in result.stderr
