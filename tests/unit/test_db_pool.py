"""Pooled connections are pinged only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import DisconnectionError

from core import db
from core.cache import VersionedCache


class _Connection:
    def __init__(self, alive: bool = True) -> None:
        self.alive = alive
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        if not self.alive:
            raise OSError("connection reset")


def test_a_connection_in_constant_use_is_not_pinged() -> None:
    connection, record = _Connection(), SimpleNamespace(info={})
    db._ping_if_idle(connection, record, None)  # fresh from connect()
    db._note_checkin(connection, record)
    db._ping_if_idle(connection, record, None)
    assert connection.pings == 0


def test_an_idle_connection_is_pinged_and_a_dead_one_refused() -> None:
    record = SimpleNamespace(info={db._CHECKED_IN: time.monotonic() - db.IDLE_PING_SECONDS - 1})
    alive = _Connection()
    db._ping_if_idle(alive, record, None)
    assert alive.pings == 1
    with pytest.raises(DisconnectionError):
        db._ping_if_idle(_Connection(alive=False), record, None)


def test_a_cached_value_is_only_returned_for_its_own_version() -> None:
    cache: VersionedCache[str, str] = VersionedCache(size=2)
    assert cache.get("ana", 1, lambda: "page 1") == "page 1"
    assert cache.get("ana", 1, lambda: "recomputed") == "page 1"
    assert cache.find("ana", 2) is None
    assert cache.get("ana", 2, lambda: "page 2") == "page 2"
    cache.keep("bia", 1, "b")
    cache.keep("caio", 1, "c")  # the least recently used person goes
    assert cache.find("ana", 2) is None and len(cache) == 2
