"""Slowing down guesses and floods without locking anyone out for good.

Two shapes, both pure (the caller counts rows and passes ``now``):

* ``backoff_until``: a run of failures is free up to a threshold, then each further try
  waits a delay that doubles from ``base`` up to ``cap``. Refused tries are not counted
  by the callers, so the wait always ends.
* ``scheduled_until``: a ladder of delays between things that are each fine once (one-time
  codes sent): the first at once, the next after the first delay, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def backoff_until(
    failures: int,
    threshold: int,
    last: datetime | None,
    *,
    base: timedelta,
    cap: timedelta,
) -> datetime | None:
    """When a run of ``failures`` (the last one at ``last``) stops being refused, or None
    while it is below ``threshold``."""
    if failures < threshold or last is None:
        return None
    steps = min(failures - threshold, 20)
    return last + min(base * (1 << steps), cap)


def scheduled_until(
    done: int, last: datetime | None, delays: Sequence[timedelta]
) -> datetime | None:
    """When the next of a series may happen after ``done`` of them (the last at ``last``):
    the ``done``-th delay of ``delays`` (the last delay repeats), or None for the first."""
    if done <= 0 or last is None or not delays:
        return None
    return last + delays[min(done, len(delays)) - 1]


def later(now: datetime, *moments: datetime | None) -> datetime | None:
    """The latest of ``moments`` still in the future, or None when nothing waits."""
    future = [m for m in moments if m is not None and m > now]
    return max(future) if future else None
