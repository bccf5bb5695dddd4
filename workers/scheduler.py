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

from workers.actors import (
    AGENCY_HANDOVER,
    AGREEMENTS_ADVANCE,
    ESCALATION_ADVANCE,
    MAINTENANCE_SWEEP,
    MESSAGES_DISPATCH,
    PAYMENTS_RECONCILE,
    PRIVACY_RETENTION,
    REMINDERS_PLAN,
    WEBHOOKS_DISPATCH,
)

log = structlog.get_logger("quita.scheduler")


# Every how many ticks each job is sent (a tick is ``interval`` seconds; 1 minute).
EVERY: dict[str, int] = {
    MAINTENANCE_SWEEP: 1,
    MESSAGES_DISPATCH: 1,
    AGREEMENTS_ADVANCE: 30,
    PAYMENTS_RECONCILE: 15,
    REMINDERS_PLAN: 30,
    AGENCY_HANDOVER: 15,
    ESCALATION_ADVANCE: 60,
    WEBHOOKS_DISPATCH: 1,
    PRIVACY_RETENTION: 24 * 60,  # daily
}


class Scheduler:
    """Sends each periodic job on its period until stopped (all of them on the first tick)."""

    def __init__(self, actors: dict[str, dramatiq.Actor[Any, Any]], interval: float = 60.0):
        self.actors = actors
        self.interval = interval
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        for name, every in EVERY.items():
            if self.ticks % every == 0:
                self.actors[name].send()
        self.ticks += 1

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
