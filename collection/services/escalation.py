"""Escalation within the law: prior notice, negativação and its removal, protesto, judicial."""

from __future__ import annotations

from datetime import date

from core.db import Database


async def advance(db: Database, today: date) -> dict[str, int]:
    """Move escalations on by the calendar: waits that ended, removals that are due."""
    raise NotImplementedError  # written in this change
