"""WhatsApp outside the 24-hour window goes only as a provider-approved template (stored
per régua step with its variables); free text only inside a window the person opened by
writing in. The fake Twilio refuses free text outside the window, as WhatsApp does."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, select, update

from collection.domain.documents import format_cnpj
from collection.models import Contact, ContactKind, Message, MessageStatus, ReminderStep
from core.clock import FrozenClock
from core.db import Database, Scope
from core.settings import Settings, TextSettings
from integrations.texts import TextSendError, TwilioTransport, twilio_signature
from quita.app import create_app
from tenants.models import Tenant
from tests.fake_twilio import SID, SMS_FROM, TOKEN, WHATSAPP_FROM, FakeTwilio, serve_fake_twilio
from tests.integration.regua_worker import TEMPLATE_SID, regua_worker, use_whatsapp_template

D20 = datetime(2026, 1, 30, 13, 0, tzinfo=UTC)  # Friday 10:00 in São Paulo: debt 0's D+20
PHONE = "+5511987654323"
TO = f"whatsapp:{PHONE}"
HOOK = "/webhooks/twilio/whatsapp"


@pytest.fixture(scope="module")
def twilio_server() -> Iterator[FakeTwilio]:
    with serve_fake_twilio() as fake:
        yield fake


@pytest.fixture
def twilio(twilio_server: FakeTwilio) -> FakeTwilio:
    twilio_server.received.clear()
    twilio_server.windows.clear()
    twilio_server.answer = None
    twilio_server.now = lambda: D20
    return twilio_server


def _text_settings(fake: FakeTwilio) -> TextSettings:
    return TextSettings(
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        sms_from=SMS_FROM,
        whatsapp_from=WHATSAPP_FROM,
        api_base=fake.api_base,
        timeout_seconds=5,
    )


@pytest.fixture
async def regua_on(db: Database, world) -> AsyncIterator[uuid.UUID]:
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=True)
        )
        session.add(
            Contact(
                tenant_id=world.a.id,
                debtor_id=world.a.debtor_ids[0],
                kind=ContactKind.PHONE,
                value=PHONE,
                whatsapp_opt_in=True,
            )
        )
        await session.commit()
    yield world.a.id
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=False)
        )
        await session.execute(delete(Message).where(Message.tenant_id == world.a.id))
        await session.commit()


async def _whatsapp_message(db: Database, world) -> Message:
    async with db.session(Scope.tenant(world.a.id)) as session:
        found = await session.scalar(
            select(Message)
            .join(ReminderStep, ReminderStep.id == Message.step_id)
            .where(
                Message.debtor_id == world.a.debtor_ids[0],
                ReminderStep.name == "Melhor oferta por WhatsApp",
            )
        )
        assert found is not None
        return found


async def _run(settings: Settings, twilio: FakeTwilio, at: datetime) -> None:
    transport = TwilioTransport(_text_settings(twilio))
    with regua_worker(settings, at, texts=transport) as worker:
        await worker.run(at)


async def test_outside_the_window_the_regua_sends_the_approved_template(
    db, settings, world, regua_on, twilio
):
    await use_whatsapp_template(db, world.a.id)
    await _run(settings, twilio, D20)
    (sent,) = [form for form in twilio.received if form["To"] == TO]
    assert "Body" not in sent and sent["ContentSid"] == TEMPLATE_SID
    variables = json.loads(sent["ContentVariables"])
    tenant = world.a.tenant
    assert list(variables) == ["1", "2", "3", "4", "5"]
    assert variables["2"] == tenant.name and variables["3"] == world.a.contracts[0]
    assert variables["4"] == "https://testserver.local/"
    footer = variables["5"]  # rodape: CDC art. 42-A and the opt-out, in the template too
    assert tenant.legal_name in footer and format_cnpj(tenant.cnpj) in footer
    assert f"/credor/{tenant.slug}" in footer and "/parar/" in footer
    assert "\n" not in "".join(variables.values())
    assert (await _whatsapp_message(db, world)).status == MessageStatus.SENT


async def test_the_fake_refuses_free_text_outside_the_window_as_whatsapp_does(twilio):
    transport = TwilioTransport(_text_settings(twilio))
    with pytest.raises(TextSendError) as refused:
        await transport.send_text("whatsapp", PHONE, "Olá, texto livre", "m-1")
    assert refused.value.code == 63016 and refused.value.retryable is False
    # An SMS is not WhatsApp; a template goes anywhere.
    await transport.send_text("sms", PHONE, "Olá", "m-2")
    await transport.send_text("whatsapp", PHONE, "", "m-3", content_sid=TEMPLATE_SID)
    twilio.wrote_in(PHONE)
    twilio.now = lambda: D20 + timedelta(hours=23)
    await transport.send_text("whatsapp", PHONE, "Olá, texto livre", "m-4")
    twilio.now = lambda: D20 + timedelta(hours=24)
    with pytest.raises(TextSendError):
        await transport.send_text("whatsapp", PHONE, "Olá, texto livre", "m-5")


async def test_a_step_without_a_template_is_blocked_outside_the_window(
    db, settings, world, regua_on, twilio
):
    await _run(settings, twilio, D20)
    assert [form for form in twilio.received if form["To"] == TO] == []
    message = await _whatsapp_message(db, world)
    assert message.status == MessageStatus.BLOCKED and message.rule == "whatsapp_template"


def _twilio_app(settings: Settings, twilio: FakeTwilio, at: datetime) -> Any:
    configured = settings.with_changes(text=_text_settings(twilio))
    return create_app(configured, clock=FrozenClock(at), run_workers=False)


async def _write_in(client: AsyncTestClient[Any], *, signature: str | None = None) -> Any:
    form = {"From": TO, "To": f"whatsapp:{WHATSAPP_FROM}", "Body": "Oi, quero negociar"}
    form |= {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": SID}
    signed = twilio_signature(TOKEN, f"https://testserver.local{HOOK}", form)
    return await client.post(HOOK, data=form, headers={"x-twilio-signature": signature or signed})


async def test_free_text_goes_inside_the_window_the_person_opened_by_writing_in(
    db, settings, world, regua_on, twilio
):
    wrote_at = D20 - timedelta(hours=2)
    app = _twilio_app(settings, twilio, wrote_at)
    async with AsyncTestClient(app, base_url="https://testserver.local") as client:
        forged = await _write_in(client, signature="bm90IHR3aWxpbw==")
        assert forged.status_code == 403
        async with db.session(Scope.system()) as session:
            contact = await session.scalar(select(Contact).where(Contact.value == PHONE))
            assert contact is not None and contact.whatsapp_window_at is None
        answer = await _write_in(client)
        assert answer.status_code == 200 and "<Response/>" in answer.text
    twilio.now = lambda: wrote_at
    twilio.wrote_in(PHONE)  # Twilio opens the same window on its side
    twilio.now = lambda: D20
    await _run(settings, twilio, D20)
    (sent,) = [form for form in twilio.received if form["To"] == TO]
    assert "ContentSid" not in sent and world.a.tenant.legal_name in sent["Body"]
    assert (await _whatsapp_message(db, world)).status == MessageStatus.SENT


async def test_the_portal_stores_the_template_and_its_variables_per_step(client, db, world):
    from tenants.roles import Role
    from tests.conftest import csrf_from, login
    from tests.factories import PASSWORD

    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    async with db.session(Scope.tenant(world.a.id)) as session:
        step = await session.scalar(
            select(ReminderStep).where(ReminderStep.name == "Melhor oferta por WhatsApp")
        )
        assert step is not None
    page = await client.get(f"/portal/regua/{step.id}")
    assert 'name="whatsapp_template"' in page.text and 'name="template_variables"' in page.text
    form = {
        "_csrf_token": csrf_from(page.text),
        "step_id": str(step.id),
        "name": step.name,
        "anchor": "debt_due",
        "offset_days": "20",
        "channel": "whatsapp",
        "body": step.body,
        "is_active": "on",
        "whatsapp_template": TEMPLATE_SID,
        "action": "save",
    }
    without_footer = await client.post(
        "/portal/regua/salvar", data={**form, "template_variables": "nome,link"}
    )
    assert without_footer.status_code == 400 and "rodape" in without_footer.text
    unknown = await client.post(
        "/portal/regua/salvar", data={**form, "template_variables": "nome,cpf,rodape"}
    )
    assert unknown.status_code == 400 and "Variáveis desconhecidas: cpf" in unknown.text
    saved = await client.post(
        "/portal/regua/salvar", data={**form, "template_variables": " nome , oferta,rodape"}
    )
    assert saved.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        stored = await session.get_one(ReminderStep, step.id)
        assert stored.whatsapp_template == TEMPLATE_SID
        assert stored.template_variables == "nome,oferta,rodape"
