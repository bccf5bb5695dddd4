"""Incoming texts: Twilio (SMS, WhatsApp, status callbacks) signed with X-Twilio-Signature,
the WhatsApp Cloud API verified by hub.challenge and X-Hub-Signature-256; each text stored
once by its provider id, processed by the worker, stop words honoured with their rule."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, func, select

from collection.models import (
    Channel,
    ChannelOptOut,
    Contact,
    ContactKind,
    DisownedContact,
    PrivacyRequest,
)
from collection.regua import inbound_texts
from collection.text_models import InboundText, TextReceipt
from core.clock import FrozenClock
from core.db import Database, Scope
from core.settings import Settings, TextSettings
from integrations import whatsapp_cloud
from integrations.texts import twilio_signature
from quita.app import create_app
from tests.fake_twilio import SID, SMS_FROM, TOKEN, WHATSAPP_FROM
from tests.integration.regua_worker import regua_worker

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
BASE = "https://testserver.local"
APP_SECRET = "meta-app-secret"
VERIFY = "meta-verify-token"


def _phone() -> str:
    return "+551198" + str(uuid.uuid4().int)[:7]


@pytest.fixture
async def phone(db: Database, world) -> AsyncIterator[str]:
    """A number two people hold: one at creditor A, one at creditor B."""
    number = _phone()
    async with db.session(Scope.system()) as session:
        for data in (world.a, world.b):
            session.add(
                Contact(
                    tenant_id=data.id,
                    debtor_id=data.debtor_ids[0],
                    kind=ContactKind.PHONE,
                    value=number,
                    whatsapp_opt_in=True,
                )
            )
        await session.commit()
    yield number
    async with db.session(Scope.system()) as session:
        await session.execute(delete(InboundText).where(InboundText.sender == number))
        await session.execute(delete(DisownedContact).where(DisownedContact.value == number))
        await session.commit()


@pytest.fixture
async def texts_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    text = TextSettings(
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        sms_from=SMS_FROM,
        whatsapp_from=WHATSAPP_FROM,
        cloud_verify_token=VERIFY,
        cloud_app_secret=APP_SECRET,
    )
    app = create_app(settings.with_changes(text=text), clock=FrozenClock(NOW), run_workers=False)
    async with AsyncTestClient(app, base_url=BASE) as client:
        yield client


async def _twilio(
    client: AsyncTestClient[Any], path: str, form: dict[str, str], *, forged: bool = False
) -> Any:
    signature = twilio_signature(TOKEN, BASE + path, form)
    if forged:
        signature = twilio_signature("not-the-token", BASE + path, form)
    return await client.post(path, data=form, headers={"x-twilio-signature": signature})


def _sms(number: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "From": number,
        "To": SMS_FROM,
        "Body": body,
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": SID,
    }


async def _stored(db: Database, number: str) -> list[InboundText]:
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(select(InboundText).where(InboundText.sender == number))
        return list(rows)


async def _process_with_the_worker(settings: Settings, text_ids: list[uuid.UUID]) -> None:
    with regua_worker(settings, NOW) as worker:
        for text_id in text_ids:
            worker.actors[inbound_texts.PROCESS].send(str(text_id))
        await asyncio.to_thread(worker.broker.join, f"{worker.prefix}texts", timeout=60_000)


async def test_an_sms_stop_word_stops_sms_at_every_creditor_holding_the_number(
    db, settings, world, phone, texts_client
):
    form = _sms(phone, "  Parar! ")
    assert (await _twilio(texts_client, "/webhooks/twilio/sms", form)).status_code == 200
    again = await _twilio(texts_client, "/webhooks/twilio/sms", form)  # Twilio's retry
    assert again.status_code == 200
    (stored,) = await _stored(db, phone)
    assert stored.processed_at is None and stored.channel == "sms"
    await _process_with_the_worker(settings, [stored.id])
    (stored,) = await _stored(db, phone)
    assert stored.outcome == "opt_out" and stored.processed_at is not None
    async with db.session(Scope.system()) as session:
        stops = list(
            await session.scalars(
                select(ChannelOptOut).where(
                    ChannelOptOut.debtor_id.in_([world.a.debtor_ids[0], world.b.debtor_ids[0]])
                )
            )
        )
        assert sorted(s.channel for s in stops) == [Channel.SMS, Channel.SMS]
        requests = list(
            await session.scalars(
                select(PrivacyRequest).where(
                    PrivacyRequest.debtor_id == world.a.debtor_ids[0],
                    PrivacyRequest.kind == "opt_out",
                )
            )
        )
        assert [r.details for r in requests] == [{"channel": "sms", "via": "sms"}]
    # Processing again changes nothing (the job may come twice).
    assert await inbound_texts.process(db, stored.id, NOW) == "opt_out"
    async with db.session(Scope.system()) as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ChannelOptOut)
            .where(ChannelOptOut.debtor_id == world.a.debtor_ids[0])
        )
        assert count == 1


async def test_a_forged_twilio_signature_is_refused_and_nothing_is_stored(
    db, world, phone, texts_client
):
    answer = await _twilio(texts_client, "/webhooks/twilio/sms", _sms(phone, "PARAR"), forged=True)
    assert answer.status_code == 403
    assert await _stored(db, phone) == []


async def test_not_my_number_on_whatsapp_disowns_it_for_every_creditor(
    db, settings, world, phone, texts_client
):
    form = _sms(f"whatsapp:{phone}", "NÃO É MEU NÚMERO")
    form["To"] = f"whatsapp:{WHATSAPP_FROM}"
    assert (await _twilio(texts_client, "/webhooks/twilio/whatsapp", form)).status_code == 200
    (stored,) = await _stored(db, phone)
    await _process_with_the_worker(settings, [stored.id])
    (stored,) = await _stored(db, phone)
    assert stored.outcome == "not_mine"
    async with db.session(Scope.system()) as session:
        contacts = list(await session.scalars(select(Contact).where(Contact.value == phone)))
        assert len(contacts) == 2 and all(c.not_mine_at is not None for c in contacts)
        assert all(c.whatsapp_window_at is not None for c in contacts)
        disowned = await session.scalar(
            select(DisownedContact).where(DisownedContact.value == phone)
        )
        assert disowned is not None


async def test_a_conversation_text_and_an_unknown_number_stop_nothing(
    db, world, phone, texts_client
):
    await _twilio(texts_client, "/webhooks/twilio/sms", _sms(phone, "quero parar de dever"))
    stranger = _phone()
    await _twilio(texts_client, "/webhooks/twilio/sms", _sms(stranger, "PARAR"))
    (mine,) = await _stored(db, phone)
    (theirs,) = await _stored(db, stranger)
    assert await inbound_texts.process(db, mine.id, NOW) == "conversation"
    assert await inbound_texts.process(db, theirs.id, NOW) == "unknown_number"
    async with db.session(Scope.system()) as session:
        stops = await session.scalar(
            select(func.count())
            .select_from(ChannelOptOut)
            .where(ChannelOptOut.debtor_id == world.a.debtor_ids[0])
        )
        assert stops == 0
        await session.execute(delete(InboundText).where(InboundText.sender == stranger))
        await session.commit()


async def test_twilio_status_callbacks_are_recorded_once_per_status(db, texts_client):
    sid = "SM" + uuid.uuid4().hex
    for status in ("sent", "delivered", "delivered", "read"):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": SID}
        assert (await _twilio(texts_client, "/webhooks/twilio/status", form)).status_code == 200
    forged = {"MessageSid": sid, "MessageStatus": "failed", "AccountSid": SID}
    assert (
        await _twilio(texts_client, "/webhooks/twilio/status", forged, forged=True)
    ).status_code == 403
    async with db.session(Scope.system()) as session:
        assert await inbound_texts.receipts_of(session, [sid]) == {
            sid: ["sent", "delivered", "read"]
        }
        await session.execute(delete(TextReceipt).where(TextReceipt.provider_message_id == sid))
        await session.commit()


async def test_the_cloud_api_subscription_check_echoes_the_challenge_only_to_our_token(
    texts_client,
):
    ok = await texts_client.get(
        "/webhooks/whatsapp-cloud",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await texts_client.get(
        "/webhooks/whatsapp-cloud",
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
    )
    assert wrong.status_code == 403


def _cloud_payload(wa_id: str, message_id: str, body: str, status_of: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511900000002", "phone_number_id": "1"},
        "contacts": [{"profile": {"name": "Maria"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": message_id,
                "timestamp": "1772460000",
                "type": "text",
                "text": {"body": body},
            }
        ],
        "statuses": [
            {"id": status_of, "status": "delivered", "timestamp": "1772460000"},
            {"id": status_of, "status": "read", "timestamp": "1772460001"},
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


async def test_a_signed_cloud_api_stop_is_stored_once_and_stops_whatsapp(
    db, settings, world, phone, texts_client
):
    # Meta's id of a Brazilian mobile may lack the ninth digit: 55 11 8765-4321.
    wa_id = phone[1:5] + phone[6:]
    message_id, sent_id = "wamid." + uuid.uuid4().hex, "wamid." + uuid.uuid4().hex
    body = _cloud_payload(wa_id, message_id, "STOP", sent_id)
    headers = {"content-type": "application/json"}
    bad = await texts_client.post(
        "/webhooks/whatsapp-cloud",
        content=body,
        headers={**headers, "x-hub-signature-256": whatsapp_cloud.sign("other", body)},
    )
    assert bad.status_code == 401 and await _stored(db, phone) == []
    signed = {**headers, "x-hub-signature-256": whatsapp_cloud.sign(APP_SECRET, body)}
    first = await texts_client.post("/webhooks/whatsapp-cloud", content=body, headers=signed)
    assert first.status_code == 200 and first.json() == {"messages": 1, "statuses": 2}
    again = await texts_client.post("/webhooks/whatsapp-cloud", content=body, headers=signed)
    assert again.json()["messages"] == 0
    (stored,) = await _stored(db, phone)
    assert stored.provider == "meta" and stored.channel == "whatsapp"
    await _process_with_the_worker(settings, [stored.id])
    async with db.session(Scope.system()) as session:
        stop = await session.scalar(
            select(ChannelOptOut.channel).where(ChannelOptOut.debtor_id == world.a.debtor_ids[0])
        )
        assert stop == Channel.WHATSAPP
        assert await inbound_texts.receipts_of(session, [sent_id]) == {
            sent_id: ["delivered", "read"]
        }
        await session.execute(delete(TextReceipt).where(TextReceipt.provider_message_id == sent_id))
        await session.commit()


async def test_the_account_page_shows_the_whatsapp_window_state(client, db, world, phone):
    from sqlalchemy import update

    from tenants.roles import Role
    from tests.conftest import login
    from tests.factories import PASSWORD

    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = f"/portal/debtors/{world.a.debtor_ids[0]}"
    closed = await client.get(page)
    assert "fora da janela do WhatsApp: só modelos aprovados" in closed.text
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Contact)
            .where(Contact.value == phone)
            .values(whatsapp_window_at=datetime.now(UTC) - timedelta(hours=1))
        )
        await session.commit()
    opened = await client.get(page)
    assert "janela do WhatsApp aberta até" in opened.text
    assert "fora da janela do WhatsApp" not in opened.text


async def test_receipts_of_a_text_sent_through_the_fake_twilio_are_recorded(db, texts_client):
    from integrations.texts import TwilioTransport
    from tests.fake_twilio import serve_fake_twilio
    from tests.integration.regua_worker import TEMPLATE_SID

    callback = BASE + "/webhooks/twilio/status"
    with serve_fake_twilio() as fake:
        transport = TwilioTransport(
            TextSettings(
                twilio_account_sid=SID,
                twilio_auth_token=TOKEN,
                sms_from=SMS_FROM,
                whatsapp_from=WHATSAPP_FROM,
                api_base=fake.api_base,
                status_callback=callback,
            )
        )
        sid = await transport.send_text("whatsapp", _phone(), "", "m-1", content_sid=TEMPLATE_SID)
        assert fake.received[0]["StatusCallback"] == callback
        for url, form, signature in fake.callbacks:
            answer = await texts_client.post(
                url.removeprefix(BASE), data=form, headers={"x-twilio-signature": signature}
            )
            assert answer.status_code == 200
    async with db.session(Scope.system()) as session:
        assert await inbound_texts.receipts_of(session, [sid]) == {
            sid: ["sent", "delivered", "read"]
        }
        await session.execute(delete(TextReceipt).where(TextReceipt.provider_message_id == sid))
        await session.commit()


async def test_the_account_history_shows_what_the_person_wrote_and_the_receipts(
    client, db, settings, world, phone, texts_client
):
    from datetime import date

    from collection.models import Message, MessageStatus
    from tenants.roles import Role
    from tests.conftest import login
    from tests.factories import PASSWORD

    await _twilio(texts_client, "/webhooks/twilio/sms", _sms(phone, "Parar!"))
    (stored,) = await _stored(db, phone)
    assert await inbound_texts.process(db, stored.id, NOW) == "opt_out"
    sid = "SM" + uuid.uuid4().hex
    async with db.session(Scope.system()) as session:
        session.add(
            Message(
                tenant_id=world.a.id,
                debtor_id=world.a.debtor_ids[0],
                subject_key=f"t:{sid[:30]}",
                channel=Channel.WHATSAPP,
                planned_for=date(2026, 3, 2),
                send_after=NOW,
                status=MessageStatus.SENT,
                sent_at=NOW,
                provider_id=sid,
                body="Olá",
            )
        )
        await session.commit()
    for status in ("sent", "delivered", "read"):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": SID}
        await _twilio(texts_client, "/webhooks/twilio/status", form)
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = (await client.get(f"/portal/debtors/{world.a.debtor_ids[0]}")).text
    assert "Mensagem da pessoa" in page and "“Parar!”" in page
    assert "palavra de parada: canal interrompido" in page
    assert " · lida" in page
    async with db.session(Scope.system()) as session:
        await session.execute(delete(TextReceipt).where(TextReceipt.provider_message_id == sid))
        await session.execute(delete(Message).where(Message.provider_id == sid))
        await session.commit()
