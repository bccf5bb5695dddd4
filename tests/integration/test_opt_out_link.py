"""The opt-out link of every message: one click (or a mail client's RFC 8058 one-click
POST) stops that channel of that creditor, the régua honours it on the worker path, and
the person can undo it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from collection.models import (
    Channel,
    ChannelOptOut,
    Contact,
    ContactKind,
    Message,
    MessageStatus,
    PrivacyRequest,
    ReminderStep,
)
from collection.regua import opt_out
from core.db import Database, Scope
from core.mail import EmailMessage
from integrations.mail import _mime
from tenants.models import Tenant
from tests.integration.regua_worker import regua_worker, use_whatsapp_template

# The world's debt 0 falls due on Saturday 2026-01-10.
D3 = datetime(2026, 1, 13, 13, 0, tzinfo=UTC)  # Tuesday 10:00 in São Paulo: the e-mail
D10 = datetime(2026, 1, 20, 13, 0, tzinfo=UTC)  # Tuesday: the SMS
D20 = datetime(2026, 1, 30, 13, 0, tzinfo=UTC)  # Friday: the WhatsApp message
D30 = datetime(2026, 2, 9, 13, 0, tzinfo=UTC)  # Monday: "Nova oferta" by e-mail
PHONE = "+5511987654321"
LINK = re.compile(r"https://testserver\.local/parar/[A-Za-z0-9_-]+")


@pytest.fixture
async def regua_on(db: Database, world) -> AsyncIterator[uuid.UUID]:
    tenant_id = world.a.id
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == tenant_id).values(reminders_enabled=True)
        )
        await session.commit()
    yield tenant_id
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == tenant_id).values(reminders_enabled=False)
        )
        await session.execute(delete(Message).where(Message.tenant_id == tenant_id))
        await session.commit()


def _address(world) -> str:
    return f"{world.a.debtor_names[0].lower()}@example.test"


async def _message_of(db: Database, world, step_name: str) -> Message:
    async with db.session(Scope.tenant(world.a.id)) as session:
        found = await session.scalar(
            select(Message)
            .join(ReminderStep, ReminderStep.id == Message.step_id)
            .where(Message.debtor_id == world.a.debtor_ids[0], ReminderStep.name == step_name)
        )
        assert found is not None, step_name
        return found


async def _stopped(db: Database, debtor_id: uuid.UUID, channel: Channel) -> bool:
    async with db.session(Scope.system()) as session:
        return await opt_out.channel_stopped(session, debtor_id, channel)


async def test_one_click_in_an_email_stops_the_next_email_of_that_creditor(
    client, db, settings, world, regua_on
):
    address = _address(world)
    with regua_worker(settings, D3) as worker:
        await worker.run(D3)
        (first,) = worker.mail.to(address)
        headers = dict(first.headers)
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = headers["List-Unsubscribe"].removeprefix("<").removesuffix(">")
        assert LINK.fullmatch(url) and url in first.body_text  # the same link in the text
        mime = _mime(first, "quita@example.test")
        assert mime["List-Unsubscribe"] == f"<{url}>"
        assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # RFC 8058: the mail client posts, with no cookie, no session and no CSRF token.
        stopped = await client.post(
            url.removeprefix("https://testserver.local"), data={"List-Unsubscribe": "One-Click"}
        )
        assert stopped.status_code == 200, stopped.text[:300]
        assert "Mensagens paradas" in stopped.text and world.a.tenant.name in stopped.text
        assert "Desfazer" in stopped.text
        await worker.run(D30)
        assert worker.mail.to(address) == [first]  # "Nova oferta" did not go out
    blocked = await _message_of(db, world, "Nova oferta")
    assert blocked.status == MessageStatus.BLOCKED and blocked.rule == "opted_out"
    async with db.session(Scope.tenant(world.a.id)) as session:
        (request,) = await session.scalars(
            select(PrivacyRequest).where(PrivacyRequest.debtor_id == world.a.debtor_ids[0])
        )
        assert request.kind == "opt_out"
        assert request.details == {"channel": "email", "via": "one-click"}
    # The other creditor's messages to the same person are not affected.
    assert not await _stopped(db, world.b.debtor_ids[0], Channel.EMAIL)


async def test_the_link_in_a_text_stops_only_that_channel_and_can_be_undone(
    client, db, settings, world, regua_on
):
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(
            Contact(
                debtor_id=world.a.debtor_ids[0],
                kind=ContactKind.PHONE,
                value=PHONE,
                whatsapp_opt_in=True,
            )
        )
        await session.commit()
    await use_whatsapp_template(db, world.a.id)
    debtor_id = world.a.debtor_ids[0]
    with regua_worker(settings, D10) as worker:
        await worker.run(D10)
        ((channel, _to, body),) = [t for t in worker.texts.sent if t[1] == PHONE]
        assert channel == "sms"
        url = LINK.search(body)
        assert url, body
        path = url.group(0).removeprefix("https://testserver.local")
        # A link preview (the messaging app's robot) shows the page and stops nothing.
        preview = await client.get(path, headers={"user-agent": "WhatsApp/2.23.20 A"})
        assert preview.status_code == 200 and "Parar as mensagens por SMS" in preview.text
        assert not await _stopped(db, debtor_id, Channel.SMS)
        # The person's click stops SMS at once, with a confirmation and an undo.
        page = await client.get(path)
        assert page.status_code == 200 and "Mensagens paradas" in page.text
        assert "por SMS" in page.text and f'action="{path}/desfazer"' in page.text
        assert await _stopped(db, debtor_id, Channel.SMS)
        # WhatsApp is another channel: its message still goes, with its own stop line.
        await worker.run(D20)
        whatsapp = [t for t in worker.texts.sent if t[0] == "whatsapp" and t[1] == PHONE]
        assert len(whatsapp) == 1
        other = LINK.search(whatsapp[0][2])
        assert other and other.group(0) != url.group(0)
    undone = await client.post(f"{path}/desfazer")
    assert undone.status_code == 200 and "Mensagens reativadas" in undone.text
    assert not await _stopped(db, debtor_id, Channel.SMS)
    async with db.session(Scope.tenant(world.a.id)) as session:
        kinds = list(
            await session.scalars(
                select(PrivacyRequest.kind)
                .where(PrivacyRequest.debtor_id == debtor_id)
                .order_by(PrivacyRequest.created_at)
            )
        )
        assert kinds == ["opt_out", "opt_out_undone"]
        assert not list(await session.scalars(select(ChannelOptOut)))


def test_an_email_without_a_link_gets_no_unsubscribe_headers():
    mime = _mime(EmailMessage("p@example.test", "Assunto", "Corpo", ""), "q@example.test")
    assert "List-Unsubscribe" not in mime and "List-Unsubscribe-Post" not in mime
