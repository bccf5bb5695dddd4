"""Old debts imported today get a "primeiro contato": the régua's steps counted from the due
date are already past for them, so a step counted from the day the debt entered reaches
them; the dry run shows it and the worker sends it. A debt that entered before the first
reminder's day is left to the usual steps."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, update

from collection.models import Message
from core.clock import FrozenClock
from core.db import Scope
from tenants.models import Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.regua_worker import regua_worker
from workers.runtime import build_import_jobs

T = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # Tuesday 10:00 in São Paulo: import day
HEADER = "Nome;CPF;Data de Nascimento;E-mail;Celular;Contrato;Parcela;Vencimento;Valor Original\r\n"


async def _import(client, db, settings, rows: list[str]) -> None:
    page = await client.get("/portal/imports")
    uploaded = await client.post(
        "/portal/imports",
        data={"portfolio": "Carteira antiga", "_csrf_token": csrf_from(page.text)},
        files={"file": ("antiga.csv", (HEADER + "\r\n".join(rows) + "\r\n").encode(), "text/csv")},
    )
    assert uploaded.status_code in (302, 303), uploaded.text[:300]
    job_id = uuid.UUID(uploaded.headers["location"].rsplit("/", 1)[1])
    jobs = build_import_jobs(db, settings, FrozenClock(T))
    assert await jobs.run(job_id) == "previewed"
    page = await client.get(f"/portal/imports/{job_id}")
    confirm = await client.post(
        f"/portal/imports/{job_id}/confirm", data={"_csrf_token": csrf_from(page.text)}
    )
    assert confirm.status_code in (302, 303)
    assert await jobs.run(job_id) == "imported"


async def test_an_old_debt_imported_today_gets_a_first_contact(
    client, app, db, settings, world, monkeypatch
):
    tag = uuid.uuid4().hex[:8]
    old, recent = f"antiga-{tag}@example.test", f"recente-{tag}@example.test"
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    await _import(
        client,
        db,
        settings,
        [
            f"Maria Antiga {tag};111.444.777-35;15/04/1985;{old};;OLD-{tag};1;05/01/2026;500,00",
            # D+1 on the import day: the D+3 reminder is still ahead of it.
            f"João Recente {tag};529.982.247-25;01/01/1970;{recent};;NEW-{tag};1;09/03/2026;80,00",
        ],
    )
    monkeypatch.setattr(app.state, "clock", FrozenClock(T))
    dry_run = await client.get("/portal/regua/previa?dias=3")
    assert dry_run.status_code == 200
    rows = re.findall(
        r"<tr><td>[^<]*</td><td>([^<]*)</td><td>[^<]*</td><td>([^<]*)</td>", dry_run.text
    )
    assert ("Primeiro contato", f"Maria Antiga {tag}") in rows, rows
    assert not [r for r in rows if r[1] == f"João Recente {tag}" and r[0] == "Primeiro contato"]
    assert ("Lembrete", f"João Recente {tag}") in rows  # its D+3, on 2026-03-12
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=True)
        )
        await session.commit()
    try:
        with regua_worker(settings, T) as worker:
            await worker.run(T)
            (first,) = worker.mail.to(old)
            assert worker.mail.to(recent) == []
    finally:
        async with db.session(Scope.system()) as session:
            await session.execute(
                update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=False)
            )
            await session.execute(delete(Message).where(Message.tenant_id == world.a.id))
            await session.commit()
    assert first.subject.endswith(f"contrato OLD-{tag} em aberto")
    assert f"OLD-{tag}" in first.body_text and "vencido em 05/01/2026" in first.body_text
