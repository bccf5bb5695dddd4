"""Where a document for the person goes: their own e-mail on file.

Receipts, dispute answers and the declaração de quitação answer the person's own
request or payment, so they are not collection messages (no opt-out applies, no
contact hours), but they never go to an address the person said is not theirs.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import Contact, ContactKind


async def person_email(session: AsyncSession, debtor_id: uuid.UUID) -> str | None:
    """The debtor's first e-mail on file that was not reported as "not mine"."""
    found: str | None = await session.scalar(
        select(Contact.value)
        .where(
            Contact.debtor_id == debtor_id,
            Contact.kind == ContactKind.EMAIL,
            Contact.not_mine_at.is_(None),
        )
        .order_by(Contact.created_at, Contact.id)
        .limit(1)
    )
    return found
