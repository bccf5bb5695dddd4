"""Human numbers for documents a person quotes: dispute protocols (``CT-2026-000123``)
and agreements (``AC-2026-000045``), consecutive per tenant and year.

A counter row per (tenant, kind, year) is created when missing (``ON CONFLICT DO
NOTHING``, so two first numbers at once do not collide) and then incremented by one
``UPDATE ... RETURNING``, which holds the row until commit: two requests never get the
same number, and a rolled-back request gives its number back.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import DocumentCounter
from core.clock import SAO_PAULO

DISPUTE = "CT"  # contestação
AGREEMENT = "AC"  # acordo


def format_number(kind: str, year: int, number: int) -> str:
    """``CT``, 2026, 123 → ``CT-2026-000123``."""
    return f"{kind}-{year}-{number:06d}"


async def next_number(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, now: datetime | date
) -> str:
    """The next number of ``kind`` at ``tenant_id`` in the year of ``now`` (an instant,
    read in São Paulo, or a local date)."""
    year = now.astimezone(SAO_PAULO).year if isinstance(now, datetime) else now.year
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(DocumentCounter)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, kind=kind, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "year"])
    )
    number = await session.scalar(
        update(DocumentCounter)
        .where(
            DocumentCounter.tenant_id == tenant_id,
            DocumentCounter.kind == kind,
            DocumentCounter.year == year,
        )
        .values(last=DocumentCounter.last + 1)
        .returning(DocumentCounter.last)
        .execution_options(synchronize_session=False)
    )
    assert number is not None  # the row exists: inserted above or before
    return format_number(kind, year, int(number))
