"""Hand-over of accounts to agencies by the tenants' rules, and the queue's scores."""

from __future__ import annotations

from datetime import datetime

from core.db import Database


async def hand_over(db: Database, now: datetime) -> dict[str, int]:
    """Place the accounts the rules select, take back those no longer granted, rescore."""
    raise NotImplementedError  # written in this change
