"""Statistics of experiments (issue 22): Wilson score intervals for a share and the
two-proportion z-test between two arms. Pure arithmetic on counts; ``math`` only."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Interval", "TwoProportions", "two_proportion_z_test", "wilson_interval"]

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal


class Interval(NamedTuple):
    low: float
    high: float


class TwoProportions(NamedTuple):
    """``z`` (arm a minus arm b, pooled standard error) and its two-sided p-value."""

    z: float
    p_value: float


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval:
    """The Wilson score interval of ``successes`` out of ``trials`` (0..1 with no trials)."""
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError("successes must be between 0 and trials")
    if trials == 0:
        return Interval(0.0, 1.0)
    share = successes / trials
    z2 = z * z
    scale = 1 + z2 / trials
    center = (share + z2 / (2 * trials)) / scale
    half = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials)) / scale
    # At 0 or every success the bound is exactly 0 or 1; rounding would leave a crumb.
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == trials else min(1.0, center + half)
    return Interval(min(low, share), max(high, share))


def two_proportion_z_test(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> TwoProportions:
    """The pooled two-proportion z-test; z = 0 and p = 1 when it cannot tell (no trials,
    or every trial alike)."""
    for successes, trials in ((successes_a, trials_a), (successes_b, trials_b)):
        if trials < 0 or not 0 <= successes <= trials:
            raise ValueError("successes must be between 0 and trials")
    if trials_a == 0 or trials_b == 0:
        return TwoProportions(0.0, 1.0)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if error == 0:
        return TwoProportions(0.0, 1.0)
    z = (successes_a / trials_a - successes_b / trials_b) / error
    return TwoProportions(z, math.erfc(abs(z) / math.sqrt(2)))
