"""A small in-process cache whose entries are only valid for the version they were made
from: the caller reads the (cheap) version on every use, and a value made from another
version is never returned. So several processes may each keep one without going stale."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class VersionedCache(Generic[K, T]):
    """The latest value per key with the version it was computed from (LRU-bounded)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, tuple[Hashable, T]] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, key: K, version: Hashable) -> T | None:
        """The value kept for ``key`` if it was made from ``version``, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def keep(self, key: K, version: Hashable, value: T) -> None:
        """Keep ``value`` as made from ``version`` (replacing any older one of ``key``)."""
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def get(self, key: K, version: Hashable, compute: Callable[[], T]) -> T:
        """The value for ``key`` at ``version``, computed (and kept) when not at hand."""
        found = self.find(key, version)
        if found is None:
            found = compute()
            self.keep(key, version, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
