"""Planning a day of the régua for 1,000,000 open debts on PostgreSQL.

One creditor with the default régua switched on; 500,000 people (each an e-mail, half a
phone, a quarter WhatsApp opt-in), 1,000,000 open debts falling due over the last 60
days, so each debt step fires for about 1/60 of them today. Times ``reminders.plan``
(every step's INSERT … SELECT into the outbox, the bulk contact rules, the hours) and
prints the messages planned and blocked. Target (issue 7): under 20 s.

    .venv/bin/python bench/bench_reminders.py [--debts N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_import import _admin, _cnpj  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_SECONDS = 20.0
ON = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo


async def _seed(url: str, debts: int) -> uuid.UUID:
    from sqlalchemy import text, update

    from collection.accounts.creditors import create_tenant
    from core.db import Database, Scope
    from tenants.models import Tenant

    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug="bench-regua",
                name="Bench",
                legal_name="Bench Ltda.",
                cnpj=_cnpj(),
                address="",
            )
            await session.flush()
            await session.execute(
                update(Tenant).where(Tenant.id == tenant.id).values(reminders_enabled=True)
            )
            await session.commit()
            tenant_id = tenant.id
        people = debts // 2
        statements = [
            "INSERT INTO portfolios (id, tenant_id, name, created_at) "
            "VALUES (gen_random_uuid(), :t, 'P', now())",
            "CREATE TEMP TABLE p AS SELECT n, gen_random_uuid() AS id "
            "FROM generate_series(1, :people) n",
            "INSERT INTO debtors (id, tenant_id, cpf, cpf_hash, name, address, city, state, "
            "zip_code, created_at) SELECT id, :t, lpad(n::text, 11, '0'), md5(n::text), "
            "'Pessoa ' || n, '', '', (ARRAY['SP','RJ','MG','BA','RS'])[1 + n % 5], '', now() "
            "FROM p",
            "INSERT INTO contacts (id, tenant_id, debtor_id, kind, value, whatsapp_opt_in, "
            "created_at) SELECT gen_random_uuid(), :t, id, 'email', 'p' || n || '@example.test', "
            "false, now() FROM p",
            "INSERT INTO contacts (id, tenant_id, debtor_id, kind, value, whatsapp_opt_in, "
            "created_at) SELECT gen_random_uuid(), :t, id, 'phone', '+55119' || lpad(n::text, 8, "
            "'0'), n % 4 = 0, now() FROM p WHERE n % 2 = 0",
            "CREATE INDEX p_n ON p (n)",
            "CREATE TEMP TABLE d AS SELECT k, gen_random_uuid() AS id, p.id AS debtor_id, "
            "CAST(:on AS date) - (k % 60)::int AS due "
            "FROM generate_series(1, :debts) k JOIN p ON p.n = 1 + (k - 1) / 2",
            "INSERT INTO debts (id, tenant_id, portfolio_id, debtor_id, contract, product, "
            "original_amount, due_date, status, created_at) "
            "SELECT d.id, :t, (SELECT id FROM portfolios WHERE tenant_id = :t), d.debtor_id, "
            "'C-' || k, 'Cartão', 10000, d.due, 'open', now() FROM d",
            "INSERT INTO debt_items (id, tenant_id, debt_id, number, due_date, amount) "
            "SELECT gen_random_uuid(), :t, id, 1, due, 10000 FROM d",
            "ANALYZE",
        ]
        async with db.engine.begin() as conn:
            for sql in statements:
                params = {"t": tenant_id, "people": people, "debts": debts, "on": ON}
                await conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
        return tenant_id
    finally:
        await db.dispose()


async def _plan(url: str, on: date = ON, now: datetime = NOW) -> tuple[float, int, int]:
    from collection.regua import service as reminders
    from core.db import Database

    db = Database(url)
    try:
        started = time.perf_counter()
        result = await reminders.plan(db, on, now)
        return time.perf_counter() - started, result.planned, result.blocked
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debts", type=int, default=1_000_000)
    args = parser.parse_args()
    from quita import migrate
    from quita.models import load_all_models

    load_all_models()
    name = f"quita_regua_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(PG, f'CREATE DATABASE "{name}"'))
    try:
        url = f"{PG.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
        migrate.upgrade(url)
        started = time.perf_counter()
        asyncio.run(_seed(url, args.debts))
        print(f"seeded {args.debts:,} open debts in {time.perf_counter() - started:.0f} s")
        # The first run ever also catches up the two days before (three days' messages).
        first, planned_first, _ = asyncio.run(
            _plan(url, ON - timedelta(days=1), NOW - timedelta(days=1))
        )
        print(f"first run (with catch-up days): {first:.1f} s, messages={planned_first:,}")
        seconds, planned, blocked = asyncio.run(_plan(url))
        print(
            f"plan a day: {seconds:.1f} s for {args.debts:,} open debts; "
            f"messages planned={planned:,} blocked={blocked:,}; "
            f"ratio to target = {TARGET_SECONDS / seconds:.2f} (target < 20 s; > 1 is better)"
        )
        again, planned_again, _ = asyncio.run(_plan(url))
        print(f"plan again (idempotent): {again:.1f} s, new messages={planned_again:,}")
    finally:
        asyncio.run(_admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
