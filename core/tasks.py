"""Background work as a port: services ask for a job; the composition root decides how.

A job is only sent after the session commits (``core.db.after_commit``), so a worker
never looks for a row that does not exist yet and a rolled-back request sends nothing.
Jobs carry ids, never objects; the database row is the source of truth.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import after_commit


class TaskSender(Protocol):
    """Sends a job by actor name with JSON-serialisable arguments."""

    def send(self, actor_name: str, *args: str | int) -> None: ...


class _NoSender:
    def send(self, actor_name: str, *args: str | int) -> None:
        # Without a broker (CLI one-offs) the periodic sweeper picks the rows up later.
        return None


_sender: TaskSender = _NoSender()


def set_task_sender(sender: TaskSender) -> None:
    """Install the sender (done once by the composition root)."""
    global _sender
    _sender = sender


def enqueue_after_commit(session: AsyncSession, actor_name: str, *args: str | int) -> None:
    """Send a job once ``session`` commits."""
    after_commit(session, lambda: _sender.send(actor_name, *args))
