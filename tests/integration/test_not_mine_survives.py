""" "Não é meu contato" survives later imports: the same number imported again at the same
creditor (for the person or anyone else) and at another creditor comes in stopped, and
the régua sends nothing to it."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from collection.models import Contact, ContactKind, DisownedContact, Message, ReminderStep
from core.clock import FrozenClock
from core.db import Scope
from tenants.models import Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, valid_cpf
from tests.integration.regua_worker import regua_worker
from tests.integration.test_debtor_agreements import _verified
from workers.runtime import build_import_jobs

T = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # Tuesday: D+10 of debts due 2026-02-28
HEADER = "Nome;CPF;Data de Nascimento;E-mail;Celular;Contrato;Parcela;Vencimento;Valor Original\r\n"


async def _import(client, db, settings, user: str, rows: list[str]) -> None:
    client.cookies.clear()
    await login(client, user, PASSWORD)
    page = await client.get("/portal/imports")
    uploaded = await client.post(
        "/portal/imports",
        data={"portfolio": f"Reimport {uuid.uuid4().hex[:6]}", "_csrf_token": csrf_from(page.text)},
        files={"file": ("nova.csv", (HEADER + "\r\n".join(rows) + "\r\n").encode(), "text/csv")},
    )
    assert uploaded.status_code in (302, 303), uploaded.text[:300]
    job_id = uuid.UUID(uploaded.headers["location"].rsplit("/", 1)[1])
    jobs = build_import_jobs(db, settings, FrozenClock(T))
    assert await jobs.run(job_id) == "previewed"
    page = await client.get(f"/portal/imports/{job_id}")
    await client.post(
        f"/portal/imports/{job_id}/confirm", data={"_csrf_token": csrf_from(page.text)}
    )
    assert await jobs.run(job_id) == "imported"


async def _switch(db, world, on: bool) -> None:
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant)
            .where(Tenant.id.in_([world.a.id, world.b.id]))
            .values(reminders_enabled=on)
        )
        if not on:
            await session.execute(
                delete(Message).where(Message.tenant_id.in_([world.a.id, world.b.id]))
            )
        await session.commit()


async def test_a_disowned_number_stays_stopped_through_later_imports(client, db, settings, world):
    suffix = f"{random.randrange(10_000):04d}"
    number, written = f"+551198765{suffix}", f"(11) 98765-{suffix}"
    async with db.session(Scope.tenant(world.a.id)) as session:
        phone = Contact(debtor_id=world.a.debtor_ids[0], kind=ContactKind.PHONE, value=number)
        session.add(phone)
        await session.commit()
    # The person says, on the debtor site, that the number is not theirs.
    page = await _verified(client, world)
    action = f"/contatos/{phone.id}/nao-e-meu"
    assert action in page
    reported = await client.post(action, data={"_csrf_token": csrf_from(page)})
    assert reported.status_code in (302, 303)
    # Both creditors import the number again: for the person and for someone else.
    person = f"{world.a.debtor_names[0]};{world.shared_cpf};01/01/1980;;{written}"
    rng = random.Random()
    await _import(
        client,
        db,
        settings,
        world.a.users[Role.ANALYST],
        [
            f"{person};RA-{suffix};1;28/02/2026;300,00",
            f"Outra Pessoa;{valid_cpf(rng)};02/02/1990;;{written};RB-{suffix};1;28/02/2026;90,00",
        ],
    )
    await _import(
        client,
        db,
        settings,
        world.b.users[Role.ANALYST],
        [
            f"{person};RC-{suffix};1;28/02/2026;300,00",
            f"Mais Alguém;{valid_cpf(rng)};03/03/1991;;{written};RD-{suffix};1;28/02/2026;40,00",
        ],
    )
    async with db.session(Scope.system()) as session:
        copies = list(await session.scalars(select(Contact).where(Contact.value == number)))
        assert {c.tenant_id for c in copies} == {world.a.id, world.b.id} and len(copies) == 4
        assert all(c.not_mine_at is not None for c in copies), [
            (c.tenant_id, c.not_mine_at) for c in copies
        ]
        assert await session.scalar(
            select(DisownedContact.id).where(DisownedContact.value == number)
        )
    # The régua's SMS of D+10 reaches none of the copies.
    await _switch(db, world, True)
    try:
        with regua_worker(settings, T) as worker:
            await worker.run(T)
            assert [t for t in worker.texts.sent if t[1] == number] == []
        async with db.session(Scope.system()) as session:
            rules = set(
                await session.scalars(
                    select(Message.rule)
                    .join(ReminderStep, ReminderStep.id == Message.step_id)
                    .where(
                        Message.tenant_id.in_([world.a.id, world.b.id]),
                        ReminderStep.name == "SMS de lembrete",
                    )
                )
            )
        assert rules == {"not_mine"}, rules
    finally:
        await _switch(db, world, False)
