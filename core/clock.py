"""Time as a port: services ask a Clock, so tests and the scheduler can move time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


class Clock(Protocol):
    """Source of the current instant (always timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, previews of future days)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = at

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ShiftedClock:
    """Real time, started at another instant (demos and process tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs a timezone-aware datetime")
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def clock_from(start: datetime | None) -> Clock:
    """The system clock, or one started at ``start`` (setting QUITA_CLOCK_START)."""
    return SystemClock() if start is None else ShiftedClock(start)


def local_today(clock: Clock) -> date:
    """Today's date in São Paulo, the date a person in Brazil would write down."""
    return clock.now().astimezone(SAO_PAULO).date()
