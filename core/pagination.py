"""Keyset pagination of the API's listings, in creation order or, for incremental sync,
in change order (``updated_since``).

A cursor is the position of the last row of a page, opaque to the client: (created_at,
id) for the plain listings, ("updated", updated_at, id) for the sync ones, so a cursor of
one order is refused by the other. In change order each row appears once per walk, and
a row changed while a client walks the pages moves to the end (its ``updated_at`` is
newer), so it is seen again, never missed. Rows changed in the last ``SYNC_SETTLE`` are
held back until the next call: a unit of work that stamped a row just before the walk
passed that instant may not have committed yet. Clients resume with the ``updated_at``
of the last row they received (inclusive: that row comes again, harmlessly).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Timestamped
from core.errors import Refusal
from core.i18n import gettext as _

MAX_PAGE = 200
SYNC_SETTLE = timedelta(seconds=60)
_UPDATED = "updated"
T = TypeVar("T", bound=Timestamped)


class InvalidInput(Refusal):
    """Values the API refuses; ``errors`` maps each field path to its reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(_("Some values are not valid."))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the cursor of the next one (None at the end)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Changes:
    """A change-order listing: rows changed at or after ``since``, as seen at ``now``."""

    since: datetime
    now: datetime


def encode_cursor(at: datetime, row_id: uuid.UUID, *, updated: bool = False) -> str:
    """An opaque cursor: the position of the last row of a page."""
    position = [at.isoformat(), str(row_id)]
    raw = json.dumps([_UPDATED, *position] if updated else position, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, updated: bool = False) -> tuple[datetime, uuid.UUID]:
    """The position a cursor stands for; InvalidInput when it was not made by us for
    this order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(parts, list) or (len(parts) == 3) != updated:
            raise ValueError("another order")
        if updated and parts.pop(0) != _UPDATED:
            raise ValueError("another order")
        at, row_id = parts
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        message = _("Invalid cursor: use the next_cursor of a page.")
        raise InvalidInput({"cursor": message}) from None


async def page_of(
    session: AsyncSession,
    statement: Select[T],
    model: type[T],
    cursor: str | None,
    limit: int,
    changes: Changes | None = None,
) -> Page[T]:
    """Rows after ``cursor`` in (created_at, id) order, or with ``changes`` in
    (updated_at, id) order: each row appears exactly once across the pages of a walk."""
    limit = max(1, min(limit, MAX_PAGE))
    updated = changes is not None
    key: Any = model.updated_at if updated else model.created_at  # type: ignore[attr-defined]
    row_id = model.id  # type: ignore[attr-defined]
    if changes is not None:
        statement = statement.where(key >= changes.since, key <= changes.now - SYNC_SETTLE)
    if cursor:
        at, last = decode_cursor(cursor, updated=updated)
        statement = statement.where(or_(key > at, and_(key == at, row_id > last)))
    rows = list((await session.scalars(statement.order_by(key, row_id).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return Page(rows, None)
    last_row: Any = rows[-1]
    at = last_row.updated_at if updated else last_row.created_at
    return Page(rows, encode_cursor(at, last_row.id, updated=updated))
