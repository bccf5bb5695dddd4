"""Benchmark: the full offer set for one debtor with three debts (issue 4, item 7).

Run with ``.venv/bin/python bench/bench_offers.py``. Times ``make_offers`` end to end
(valuation of each debt, buckets, every cash and Price-table plan with its CET) on one
core, and prints the median per debtor, offers per second and the ratio to the 1 ms
target (``ratio = target / median``: above 1 is faster than the target). Not a test.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from collection.domain.offers import make_offers
from collection.domain.policy_file import load_policy_toml
from collection.domain.valuation import Debt, DebtItem

TARGET_MS = 1.0
ITERATIONS = 3000
WARMUP = 200
ON = date(2025, 6, 2)
POLICY_FILE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "policy.toml"


def scenarios() -> dict[str, list[Debt]]:
    """Debtors to time: three old debts (24-payment plans, the heaviest) and mixed ages."""
    old = [
        Debt("cartao-001", (DebtItem(184_790, ON - timedelta(days=420)),)),
        Debt(
            "emprestimo-002",
            (
                DebtItem(95_000, ON - timedelta(days=700)),
                DebtItem(95_000, ON - timedelta(days=670)),
            ),
        ),
        Debt("loja-003", (DebtItem(42_350, ON - timedelta(days=1000)),)),
    ]
    mixed = [
        Debt("cartao-101", (DebtItem(184_790, ON - timedelta(days=45)),)),
        Debt("emprestimo-102", (DebtItem(350_000, ON - timedelta(days=200)),)),
        Debt("loja-103", (DebtItem(42_350, ON - timedelta(days=800)),)),
    ]
    return {"three debts 420-1000 days late": old, "three debts 45-800 days late": mixed}


def run(debts: list[Debt]) -> tuple[float, float, int]:
    """Median and 95th percentile in ms per debtor, and the number of offers."""
    policy = load_policy_toml(POLICY_FILE.read_text(encoding="utf-8"))
    for _ in range(WARMUP):
        offers = make_offers(debts, policy, ON)
    samples: list[float] = []
    clock = time.perf_counter_ns
    gc.disable()  # collector pauses are not the engine's cost; they would only add noise
    try:
        for _ in range(ITERATIONS):
            start = clock()
            make_offers(debts, policy, ON)
            samples.append((clock() - start) / 1e6)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)], len(offers)


def main() -> int:
    """Print one line per scenario; exit status 0 whatever the figures."""
    print(f"python {sys.version.split()[0]}, {ITERATIONS} runs each, target {TARGET_MS} ms")
    for name, debts in scenarios().items():
        median, p95, count = run(debts)
        print(
            f"{name}: {count} offers, median {median:.3f} ms/debtor, p95 {p95:.3f} ms, "
            f"{count / median * 1000:,.0f} offers/s, ratio {TARGET_MS / median:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
