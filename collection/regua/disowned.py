"""Contacts a person disowned ("não é meu contato", a wrong number on a call), kept apart
from any creditor: every later copy of that address or number, imported at this creditor
or another, or sent through the API, comes in already stopped, so a re-import never
re-activates what the person disowned."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import ContactKind, DisownedContact

# For the import's set-based SQL: the report of the row ``x`` (kind, value), if any.
REPORTED_AT_SQL = (
    "(SELECT d.reported_at FROM disowned_contacts d WHERE d.kind = x.kind AND d.value = x.value)"
)


async def disown(session: AsyncSession, kind: ContactKind, value: str, now: datetime) -> None:
    """Record that ``value`` is not the person's (once; the first report is kept)."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(DisownedContact).values(
        id=uuid.uuid4(), kind=kind, value=value, reported_at=now
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["kind", "value"]))


async def disowned_at(session: AsyncSession, kind: ContactKind, value: str) -> datetime | None:
    """When ``value`` was reported as not the person's; None if it never was."""
    return await session.scalar(
        select(DisownedContact.reported_at).where(
            DisownedContact.kind == kind, DisownedContact.value == value
        )
    )
