"""The régua in the portal: steps with a checked and previewed text, the switch, the dry
run, and each account's history of messages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import delete, select, update

from collection.models import Message, ReminderStep
from collection.regua import service as reminders
from core.db import Scope
from tenants.models import AuditEvent, Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD


async def _first_step(db, tenant_id) -> ReminderStep:
    async with db.session(Scope.tenant(tenant_id)) as session:
        step = await session.scalar(select(ReminderStep).where(ReminderStep.name == "Lembrete"))
        assert step is not None
        return step


async def test_the_regua_lists_the_default_steps_in_order(client, world):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    page = await client.get("/portal/regua")
    assert page.status_code == 200
    text = page.text
    assert "D+3 do vencimento da dívida" in text and "D-3 do vencimento da parcela" in text
    assert text.index("D+3 do vencimento") < text.index("D+30 do vencimento")
    assert "Desligada" in text and "Ligar" not in text  # a viewer cannot switch it


async def test_a_threatening_text_is_refused_and_a_good_one_previewed_then_saved(client, world, db):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    step = await _first_step(db, world.a.id)
    page = await client.get(f"/portal/regua/{step.id}")
    assert page.status_code == 200
    form = {
        "_csrf_token": csrf_from(page.text),
        "step_id": str(step.id),
        "name": "Lembrete",
        "anchor": "debt_due",
        "offset_days": "3",
        "channel": "email",
        "subject": "Lembrete de {credor}",
        "is_active": "on",
    }
    bad = await client.post(
        "/portal/regua/salvar",
        data={**form, "body": "Pague hoje ou chamaremos a polícia, {nome}. {apelido}"},
    )
    assert bad.status_code == 400
    assert "polícia" in bad.text and "apelido" in bad.text and 'id="e-body"' in bad.text
    body = "Olá, {nome}. Seu contrato {contrato} está em aberto: {valor}. Veja em {link}."
    preview = await client.post(
        "/portal/regua/salvar", data={**form, "body": body, "action": "preview"}
    )
    assert preview.status_code == 200
    sample = re.search(r'<pre class="message-sample">(.*?)</pre>', preview.text, re.S)
    assert sample, preview.text[-1500:]
    assert "Olá, Maria." in sample.group(1) and world.a.tenant.legal_name in sample.group(1)
    assert "CNPJ" in sample.group(1) and "/parar/" in sample.group(1)
    saved = await client.post("/portal/regua/salvar", data={**form, "body": body, "action": "save"})
    assert saved.status_code in (302, 303)
    assert (await _first_step(db, world.a.id)).body == body


async def test_only_editors_change_the_regua_and_switching_it_is_audited(client, world, db):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    page = await client.get("/portal/regua")
    refused = await client.post(
        "/portal/regua/ligar", data={"enabled": "on", "_csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 403
    client.cookies.clear()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/regua")
    switched = await client.post(
        "/portal/regua/ligar", data={"enabled": "on", "_csrf_token": csrf_from(page.text)}
    )
    assert switched.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "regua.switched")
        )
        assert tenant.reminders_enabled and event is not None
        tenant.reminders_enabled = False
        await session.commit()


async def test_another_creditors_step_is_not_found(client, world, db):
    other = await _first_step(db, world.b.id)
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    assert (await client.get(f"/portal/regua/{other.id}")).status_code == 404
    page = await client.get("/portal/regua")
    deleted = await client.post(
        f"/portal/regua/{other.id}/excluir", data={"_csrf_token": csrf_from(page.text)}
    )
    assert deleted.status_code == 404


async def test_the_dry_run_page_lists_what_would_be_sent(client, world):
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    page = await client.get("/portal/regua/previa")
    assert page.status_code == 200
    assert "Simulação" in page.text and "mensagens seriam enviadas" in page.text


async def test_the_account_history_shows_blocked_messages_with_the_reason(client, world, db):
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=True)
        )
        await session.commit()
    try:
        # Debtor 1's e-mail is the only contact; a WhatsApp step blocks for lack of opt-in.
        async with db.session(Scope.tenant(world.a.id)) as session:
            session.add(
                ReminderStep(
                    name="Zap",
                    anchor="debt_due",
                    offset_days=(date(2026, 1, 13) - date(2025, 12, 11)).days,
                    channel="whatsapp",
                    body="Olá, {nome}.",
                )
            )
            await session.commit()
        await reminders.plan(db, date(2026, 1, 13), datetime(2026, 1, 13, 13, tzinfo=UTC))
        await login(client, world.a.users[Role.VIEWER], PASSWORD)
        page = await client.get(f"/portal/debtors/{world.a.debtor_ids[1]}")
        assert page.status_code == 200
        assert "Histórico" in page.text and "sem contato da pessoa para este canal" in page.text
    finally:
        async with db.session(Scope.system()) as session:
            await session.execute(
                update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=False)
            )
            await session.execute(delete(Message).where(Message.tenant_id == world.a.id))
            await session.commit()
