"""CDC art. 42-A in every channel: each e-mail, SMS and WhatsApp message names the creditor,
its CNPJ and its address (texts by a link to the creditor's page), and a creditor without
an address cannot switch the régua on nor send in its name."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from collection.domain.documents import format_cnpj
from collection.models import Contact, ContactKind, Message
from core.db import Database, Scope
from tenants.models import AuditEvent, Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.regua_worker import regua_worker, use_whatsapp_template

D3 = datetime(2026, 1, 13, 13, 0, tzinfo=UTC)  # the e-mail step of debt 0 (due 2026-01-10)
D10 = datetime(2026, 1, 20, 13, 0, tzinfo=UTC)  # the SMS step
D20 = datetime(2026, 1, 30, 13, 0, tzinfo=UTC)  # the WhatsApp step
PHONE = "+5511987654322"
PAGE = re.compile(r"https://testserver\.local/credor/[a-z0-9-]+")


async def _switch(db: Database, tenant_id: uuid.UUID, on: bool, address: str | None = None) -> None:
    values: dict[str, object] = {"reminders_enabled": on}
    if address is not None:
        values["address"] = address
    async with db.session(Scope.system()) as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(**values))
        await session.commit()


@pytest.fixture
async def regua_on(db: Database, world) -> AsyncIterator[uuid.UUID]:
    await _switch(db, world.a.id, True)
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
    yield world.a.id
    await _switch(db, world.a.id, False)
    async with db.session(Scope.system()) as session:
        await session.execute(delete(Message).where(Message.tenant_id == world.a.id))
        await session.commit()


async def test_every_channel_names_the_creditor_its_cnpj_and_its_address(
    client, db, settings, world, regua_on
):
    tenant = world.a.tenant
    cnpj = format_cnpj(tenant.cnpj)
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    with regua_worker(settings, D3) as worker:
        for at in (D3, D10, D20):
            await worker.run(at)
        (email,) = worker.mail.to(address)
        texts = {channel: body for channel, to, body in worker.texts.sent if to == PHONE}
    assert tenant.legal_name in email.body_text and cnpj in email.body_text
    assert tenant.address in email.body_text
    assert set(texts) == {"sms", "whatsapp"}
    for channel, body in texts.items():
        assert tenant.legal_name in body and cnpj in body, channel
        link = PAGE.search(body)
        assert link and link.group(0).endswith(f"/credor/{tenant.slug}"), body
    page = await client.get(f"/credor/{tenant.slug}")
    assert page.status_code == 200
    assert tenant.legal_name in page.text and cnpj in page.text and tenant.address in page.text
    assert (await client.get("/credor/nao-existe")).status_code == 404


async def test_the_regua_cannot_be_switched_on_without_the_creditors_address(client, db, world):
    await _switch(db, world.a.id, False, address="")
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/regua")
    refused = await client.post(
        "/portal/regua/ligar", data={"enabled": "on", "_csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 400
    assert "A régua não pode ser ligada sem o endereço do credor" in refused.text
    assert "art. 42-A" in refused.text
    short = await client.post(
        "/portal/regua/endereco", data={"address": "Rua", "_csrf_token": csrf_from(page.text)}
    )
    assert short.status_code == 400 and "Cadastre o endereço completo do credor" in short.text
    async with db.session(Scope.system()) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        assert not tenant.reminders_enabled and tenant.address == ""
    saved = await client.post(
        "/portal/regua/endereco",
        data={"address": "Av. Paulista,  1000, São Paulo/SP", "_csrf_token": csrf_from(page.text)},
    )
    assert saved.status_code in (302, 303)
    switched = await client.post(
        "/portal/regua/ligar", data={"enabled": "on", "_csrf_token": csrf_from(page.text)}
    )
    assert switched.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        assert tenant.reminders_enabled and tenant.address == "Av. Paulista, 1000, São Paulo/SP"
        actions = set(await session.scalars(select(AuditEvent.action)))
        assert {"tenant.address_changed", "regua.switched"} <= actions
    await _switch(db, world.a.id, False)


async def test_nothing_is_sent_for_a_creditor_whose_address_is_missing(db, settings, world):
    # Switched on before the rule existed (or by hand): the worker still sends nothing.
    await _switch(db, world.a.id, True, address="")
    try:
        with regua_worker(settings, D3) as worker:
            await worker.run(D3)
            assert worker.mail.to(f"{world.a.debtor_names[0].lower()}@example.test") == []
        async with db.session(Scope.tenant(world.a.id)) as session:
            assert list(await session.scalars(select(Message))) == []
    finally:
        await _switch(db, world.a.id, False)
