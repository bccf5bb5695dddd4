"""The pure shapes of slowing down: a doubling backoff that always ends, and a ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.throttle import backoff_until, later, scheduled_until

T = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_backoff_is_free_below_the_threshold_then_doubles_up_to_the_cap():
    assert backoff_until(4, 5, T, base=MIN, cap=10 * MIN) is None
    waits = [backoff_until(n, 5, T, base=MIN, cap=10 * MIN) for n in range(5, 10)]
    assert waits == [T + MIN, T + 2 * MIN, T + 4 * MIN, T + 8 * MIN, T + 10 * MIN]
    assert backoff_until(10**6, 5, T, base=MIN, cap=10 * MIN) == T + 10 * MIN


def test_a_ladder_lets_the_first_through_and_repeats_its_last_step():
    ladder = (MIN, 5 * MIN)
    assert scheduled_until(0, None, ladder) is None
    assert scheduled_until(1, T, ladder) == T + MIN
    assert scheduled_until(2, T, ladder) == T + 5 * MIN
    assert scheduled_until(9, T, ladder) == T + 5 * MIN


def test_later_keeps_only_moments_still_ahead():
    assert later(T, None, T - MIN, T) is None
    assert later(T, T + MIN, None, T + 2 * MIN) == T + 2 * MIN
