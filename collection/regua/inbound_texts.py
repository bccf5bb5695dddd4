"""Incoming texts (SMS, WhatsApp) and delivery receipts: stored once by the provider's
id (the inbox), then processed by a worker, all or nothing.

Processing matches the sender's number to the contacts that hold it, at every creditor
(one sender number serves all), opens the WhatsApp window, and honours a stop word at
once with the rule that applied: ``opt_out`` stops the channel for each person at each
creditor (as the signed link does), ``not_mine`` disowns the number for every creditor
(as the site's "não é meu contato" does). Nothing logs the whole number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.stop_words import StopRule, stop_rule
from collection.models import Channel, Contact, ContactKind, Debtor
from collection.regua import opt_out
from collection.regua.disowned import disown
from collection.text_models import InboundText, TextReceipt
from core.db import Database, Scope
from core.tasks import enqueue_after_commit
from tenants.services import audit

PROCESS = "texts.process_inbound"
CHANNELS = {"sms": Channel.SMS, "whatsapp": Channel.WHATSAPP}
_LIFECYCLE = {
    status: n
    for n, status in enumerate(
        ("accepted", "queued", "sending", "sent", "delivered", "read", "undelivered", "failed")
    )
}


@dataclass(frozen=True, slots=True)
class Incoming:
    """An incoming text as a verified webhook gave it."""

    provider: str  # twilio | meta
    message_id: str
    channel: str  # sms | whatsapp
    sender: str  # E.164
    body: str


def _insert(db: Database):  # type: ignore[no-untyped-def]
    return (postgresql if db.is_postgres else sqlite).insert


async def receive(db: Database, text: Incoming, now: datetime) -> str:
    """Store the text once and hand it to a worker: "received" or "duplicate" (the
    provider retries a webhook until it gets a 2xx)."""
    async with db.session(Scope.system()) as session:
        inserted = await session.scalar(
            _insert(db)(InboundText)
            .values(
                id=uuid.uuid4(),
                provider=text.provider,
                provider_message_id=text.message_id[:120],
                channel=text.channel,
                sender=text.sender,
                body=text.body[:1600],
                received_at=now,
                outcome="",
            )
            .on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])
            .returning(InboundText.id)
        )
        if inserted is None:
            return "duplicate"
        enqueue_after_commit(session, PROCESS, str(inserted))
        await session.commit()
        return "received"


async def process(db: Database, inbound_id: uuid.UUID, now: datetime) -> str:
    """Process a stored text exactly once; returns the rule that applied (also when it
    was processed before): ``opt_out``, ``not_mine``, ``conversation`` or
    ``unknown_number`` (no creditor holds the number: nothing is said to it)."""
    async with db.session(Scope.system()) as session:
        text = await session.scalar(
            select(InboundText).where(InboundText.id == inbound_id).with_for_update()
        )
        if text is None:
            return "missing"
        if text.processed_at is not None:
            return text.outcome
        text.outcome = await _apply(session, text, now)
        text.processed_at = now
        await session.commit()
        return text.outcome


async def _apply(session: AsyncSession, text: InboundText, now: datetime) -> str:
    contacts = list(
        await session.scalars(
            select(Contact).where(Contact.kind == ContactKind.PHONE, Contact.value == text.sender)
        )
    )
    if not contacts:
        return "unknown_number"
    if text.channel == "whatsapp":
        for contact in contacts:
            contact.whatsapp_window_at = max(contact.whatsapp_window_at or now, now)
    rule = stop_rule(text.body)
    if rule is StopRule.NOT_MINE:
        await _disown(session, contacts, text, now)
        return rule.value
    if rule is StopRule.OPT_OUT:
        channel = CHANNELS[text.channel]
        for debtor_id in sorted({c.debtor_id for c in contacts}):
            debtor = await session.get_one(Debtor, debtor_id)
            await opt_out.stop_channel(session, debtor, channel, now, via=text.channel)
        return rule.value
    return "conversation"


async def _disown(
    session: AsyncSession, contacts: list[Contact], text: InboundText, now: datetime
) -> None:
    await session.execute(
        update(Contact)
        .where(
            Contact.kind == ContactKind.PHONE,
            Contact.value == text.sender,
            Contact.not_mine_at.is_(None),
        )
        .values(not_mine_at=now)
        .execution_options(synchronize_session=False)
    )
    await disown(session, ContactKind.PHONE, text.sender, now)  # and every later copy
    for contact in contacts:
        audit.record(
            session,
            audit.Actor(None, "devedor", "", contact.tenant_id),
            "contact.not_mine",
            target=str(contact.id),
            details={"kind": contact.kind, "via": text.channel},
        )


async def unprocessed(db: Database, received_before: datetime) -> list[uuid.UUID]:
    """Texts stored but not processed yet (a lost job, a worker that died)."""
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(
            select(InboundText.id)
            .where(InboundText.processed_at.is_(None), InboundText.received_at < received_before)
            .limit(1000)
        )
        return list(rows)


async def record_receipt(
    db: Database, provider: str, message_id: str, status: str, error_code: str, now: datetime
) -> str:
    """Record a delivery/read status of a sent text once: "recorded" or "duplicate"."""
    async with db.session(Scope.system()) as session:
        inserted = await session.scalar(
            _insert(db)(TextReceipt)
            .values(
                id=uuid.uuid4(),
                provider=provider,
                provider_message_id=message_id[:120],
                status=status[:20],
                error_code=error_code[:20],
                at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "provider_message_id", "status"])
            .returning(TextReceipt.id)
        )
        await session.commit()
        return "duplicate" if inserted is None else "recorded"


async def receipts_of(session: AsyncSession, provider_ids: list[str]) -> dict[str, list[str]]:
    """The statuses recorded for each sent text (by provider id), oldest first."""
    if not provider_ids:
        return {}
    rows = await session.execute(
        select(TextReceipt.provider_message_id, TextReceipt.status, TextReceipt.at).where(
            TextReceipt.provider_message_id.in_(provider_ids)
        )
    )
    # Callbacks may come in the same second: ties go by the message's lifecycle.
    ordered = sorted(rows, key=lambda row: (row[2], _LIFECYCLE.get(row[1], len(_LIFECYCLE))))
    found: dict[str, list[str]] = {}
    for message_id, status, _at in ordered:
        found.setdefault(message_id, []).append(status)
    return found


async def texts_from(session: AsyncSession, numbers: list[str]) -> list[InboundText]:
    """The texts received from these numbers, newest first (at most 200)."""
    if not numbers:
        return []
    rows = await session.scalars(
        select(InboundText)
        .where(InboundText.sender.in_(numbers))
        .order_by(InboundText.received_at.desc())
        .limit(200)
    )
    return list(rows)
