"""The periodic scheduler: sends the sweep job on a fixed interval.

It only *sends* jobs; workers run them. In the embedded mode it is a thread of the
web process; in production it is its own process (``quita scheduler``), one per site.
Running two by mistake is harmless: every job is idempotent.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import structlog

from workers.actors import MAINTENANCE_SWEEP

log = structlog.get_logger("quita.scheduler")


class Scheduler:
    """Sends each periodic job every ``interval`` seconds until stopped."""

    def __init__(self, actors: dict[str, dramatiq.Actor[Any, Any]], interval: float = 60.0):
        self.actors = actors
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        self.actors[MAINTENANCE_SWEEP].send()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a broker hiccup must not kill the scheduler
                log.exception("scheduler.tick_failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="quita-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
