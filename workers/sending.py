"""Jobs sent from a web process without holding up its event loop.

Dramatiq's brokers are synchronous: sending a job to Redis or RabbitMQ waits for the
broker's answer, and a web process sends its jobs right after a commit, on the thread of
its event loop. Every request in flight waited for that round trip (the webhook bench:
a fifth of the process's time, with nothing else able to run meanwhile). Here the web
process hands each job to one thread of its own, which sends them in order.

A job is a hint, the committed row is the truth: if the process dies before its thread
sent a job, the periodic sweeper sends it again from the rows (as for a broker that was
down at the moment of the commit).
"""

from __future__ import annotations

import queue
import threading

import structlog

from core.tasks import TaskSender

log = structlog.get_logger("quita.tasks")

_STOP = ("", ())


class BackgroundTaskSender(TaskSender):
    """Queues jobs for a thread that sends them through ``sender``."""

    def __init__(self, sender: TaskSender) -> None:
        self._sender = sender
        self._jobs: queue.SimpleQueue[tuple[str, tuple[str | int, ...]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="task-sender", daemon=True)
        self._thread.start()

    def send(self, actor_name: str, *args: str | int) -> None:
        self._jobs.put((actor_name, args))

    def close(self, timeout: float = 10) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop the thread."""
        self._jobs.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            actor_name, args = self._jobs.get()
            if (actor_name, args) == _STOP:
                return
            try:
                self._sender.send(actor_name, *args)
            except Exception:
                # The rows are committed; the sweeper sends the job again later.
                log.warning("task.send_failed", actor=actor_name, exc_info=True)
