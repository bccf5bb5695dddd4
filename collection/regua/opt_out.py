"""Stopping one channel of one creditor from the message itself: a signed link per
(person at the creditor, channel), no login, with an undo.

The link carries the debtor row's id (one person at one creditor) and the channel, and
an HMAC over them and the creditor's id; it does not expire (a message read months
later must still stop the channel) and cannot be altered to reach another person,
channel or creditor. The stop is a ``ChannelOptOut`` row: the planner and the
dispatcher block the channel while it exists; an undo removes it. Both are recorded as
privacy requests and the stop is announced to the creditor's webhooks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import Channel, ChannelOptOut, Debtor, PrivacyRequest
from collection.webhooks import outbound as outbound_webhooks
from core.db import Database, Scope
from tenants.models import Tenant

__all__ = [
    "OptOutLink",
    "Stop",
    "channel_stopped",
    "is_stopped",
    "link_for",
    "read_token",
    "sign",
    "stop",
    "stop_channel",
    "undo",
]

PATH = "parar/"
_CODES = {Channel.EMAIL: b"e", Channel.SMS: b"s", Channel.WHATSAPP: b"w"}
_CHANNELS = {code: channel for channel, code in _CODES.items()}
_MAC_BYTES = 12  # 96 bits: far beyond guessing, short enough for an SMS


def _mac(key: str, tenant_id: uuid.UUID, payload: bytes) -> bytes:
    derived = hmac.new(key.encode(), b"quita opt-out link", hashlib.sha256).digest()
    return hmac.new(derived, tenant_id.bytes + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(key: str, tenant_id: uuid.UUID, debtor_id: uuid.UUID, channel: Channel) -> str:
    """The token of the link that stops ``channel`` for this person at this creditor."""
    payload = debtor_id.bytes + _CODES[channel]
    raw = payload + _mac(key, tenant_id, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def link_for(
    key: str, base_url: str, tenant_id: uuid.UUID, debtor_id: uuid.UUID, channel: Channel
) -> str:
    """The whole opt-out address, as written in a message and in ``List-Unsubscribe``."""
    return base_url.rstrip("/") + "/" + PATH + sign(key, tenant_id, debtor_id, channel)


@dataclass(frozen=True, slots=True)
class OptOutLink:
    """A token read back: who and which channel (not yet checked against its creditor)."""

    debtor_id: uuid.UUID
    channel: Channel
    mac: bytes


def read_token(token: str) -> OptOutLink | None:
    """The parts of a token, or None when it is not one of ours at all."""
    if not 20 <= len(token) <= 60:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 17 + _MAC_BYTES or raw[16:17] not in _CHANNELS:
        return None
    return OptOutLink(uuid.UUID(bytes=raw[:16]), _CHANNELS[raw[16:17]], raw[17:])


@dataclass(frozen=True, slots=True)
class Stop:
    """What a valid link stops, for the confirmation page."""

    debtor_id: uuid.UUID
    tenant_id: uuid.UUID
    channel: Channel
    creditor: str
    stopped: bool  # the channel is stopped now


async def _resolve(session: AsyncSession, key: str, token: str) -> tuple[Debtor, Channel] | None:
    link = read_token(token)
    if link is None:
        return None
    debtor = await session.get(Debtor, link.debtor_id)
    if debtor is None:
        return None
    expected = _mac(key, debtor.tenant_id, link.debtor_id.bytes + _CODES[link.channel])
    if not hmac.compare_digest(expected, link.mac):
        return None
    return debtor, link.channel


async def _stop_of(session: AsyncSession, debtor: Debtor, channel: Channel) -> Stop:
    tenant = await session.get_one(Tenant, debtor.tenant_id)
    stopped = await channel_stopped(session, debtor.id, channel)
    return Stop(debtor.id, debtor.tenant_id, channel, tenant.name, stopped)


async def look(db: Database, key: str, token: str) -> Stop | None:
    """What the link is about, changing nothing; None for a link that is not valid."""
    async with db.session(Scope.system()) as session:
        found = await _resolve(session, key, token)
        return None if found is None else await _stop_of(session, *found)


async def stop(db: Database, key: str, token: str, now: datetime, *, via: str) -> Stop | None:
    """Stop the link's channel for the person at that creditor (idempotent); None for a
    link that is not valid. ``via`` says how (``link`` or ``one-click``)."""
    async with db.session(Scope.system()) as session:
        found = await _resolve(session, key, token)
        if found is None:
            return None
        debtor, channel = found
        await stop_channel(session, debtor, channel, now, via=via)
        result = await _stop_of(session, debtor, channel)
        await session.commit()
        return result


async def stop_channel(
    session: AsyncSession, debtor: Debtor, channel: Channel, now: datetime, *, via: str
) -> bool:
    """Stop ``channel`` for the person at this creditor inside the caller's unit of work
    (recorded as a privacy request, announced to the creditor's webhooks); False when it
    was stopped already. ``via``: ``link``, ``one-click``, ``sms``, ``whatsapp``."""
    if await channel_stopped(session, debtor.id, channel):
        return False
    session.add(
        ChannelOptOut(
            id=uuid.uuid4(), tenant_id=debtor.tenant_id, debtor_id=debtor.id, channel=channel
        )
    )
    session.add(_request(debtor, "opt_out", channel, via, now))
    await outbound_webhooks.emit(
        session,
        debtor.tenant_id,
        outbound_webhooks.DEBTOR_OPTED_OUT,
        {"debtor_id": str(debtor.id), "channel": channel.value, "at": now.isoformat()},
        now=now,
    )
    await session.flush()
    return True


async def undo(db: Database, key: str, token: str, now: datetime) -> Stop | None:
    """The person takes the stop back: the channel may be used again."""
    async with db.session(Scope.system()) as session:
        found = await _resolve(session, key, token)
        if found is None:
            return None
        debtor, channel = found
        removed = await session.execute(
            delete(ChannelOptOut)
            .where(ChannelOptOut.debtor_id == debtor.id, ChannelOptOut.channel == channel)
            .execution_options(synchronize_session=False)
        )
        if getattr(removed, "rowcount", 0):
            session.add(_request(debtor, "opt_out_undone", channel, "link", now))
            await session.flush()
        result = await _stop_of(session, debtor, channel)
        await session.commit()
        return result


def _request(
    debtor: Debtor, kind: str, channel: Channel, via: str, now: datetime
) -> PrivacyRequest:
    return PrivacyRequest(
        id=uuid.uuid4(),
        tenant_id=debtor.tenant_id,
        debtor_id=debtor.id,
        kind=kind,
        details={"channel": channel.value, "via": via},
        answered_at=now,
    )


def is_stopped(debtor_id: object, channel: Channel) -> object:
    """``EXISTS (…)``: the person stopped ``channel`` at this creditor (for set-based plans)."""
    return exists().where(ChannelOptOut.debtor_id == debtor_id, ChannelOptOut.channel == channel)


async def channel_stopped(session: AsyncSession, debtor_id: uuid.UUID, channel: Channel) -> bool:
    """True when the person stopped ``channel`` at this creditor."""
    found = await session.scalar(
        select(ChannelOptOut.id).where(
            ChannelOptOut.debtor_id == debtor_id, ChannelOptOut.channel == channel
        )
    )
    return found is not None
