"""Wilson intervals and the two-proportion z-test against values computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.domain.experiment_stats import two_proportion_z_test, wilson_interval


def test_wilson_interval_of_half_matches_the_hand_computation() -> None:
    # p = 0.5, n = 100, z = 1.96: centre 0.5, half-width 1.96·√(0.0025 + 0.00009604)/1.038416
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.40383, abs=1e-4)
    assert high == pytest.approx(0.59617, abs=1e-4)


def test_wilson_interval_of_zero_successes_starts_at_zero() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.27753, abs=1e-4)  # z²/(n + z²) = 3.8415/13.8415


def test_two_proportion_test_matches_the_hand_computation() -> None:
    # 60/100 against 40/100: pooled 0.5, se = √(0.25·0.02) = 0.0707107, z = 2.828427,
    # p = erfc(2) = 0.0046777.
    z, p = two_proportion_z_test(60, 100, 40, 100)
    assert z == pytest.approx(2.828427, abs=1e-6)
    assert p == pytest.approx(math.erfc(2), abs=1e-9)
    assert p == pytest.approx(0.0046777, abs=1e-6)


def test_a_test_that_cannot_tell_says_so() -> None:
    assert two_proportion_z_test(0, 0, 5, 10) == (0.0, 1.0)
    assert two_proportion_z_test(10, 10, 20, 20) == (0.0, 1.0)
    with pytest.raises(ValueError):
        two_proportion_z_test(11, 10, 0, 10)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_observed_share(case: tuple[int, int]) -> None:
    successes, trials = case
    low, high = wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0
