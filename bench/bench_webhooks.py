"""Stripe webhooks ingested by one production web process, driven by wrk.

N payments (each the first installment of its own agreement) in PostgreSQL; one
`quita web` process with Stripe configured; N signed `payment_intent.succeeded` events,
signed beforehand, posted once each by wrk for 10 s (32 connections, a Lua script reading the
bodies and their `Stripe-Signature` headers from a file). Each event is verified with the
Stripe SDK (signature and tolerance), stored once by id and enqueued; a `quita worker`
started afterwards applies them (payment counted, installment paid, agreement advanced).
Prints events/s, p50/p99 beside `/ping` of the same process in the same run, then checks
that every event was stored once and applied. Targets (issue 19): 2,000 events/s,
p99 < 60 ms, each event stored once.

    .venv/bin/python bench/bench_webhooks.py [--events N] [--connections C]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402
from bench.bench_debtor_site import start_web  # noqa: E402
from bench.bench_import import _admin, _cnpj  # noqa: E402
from core.secrets_box import SecretsBox  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-" + "x" * 32
WEBHOOK_SECRET = "whsec_bench_" + "y" * 24
TARGET = 2000.0


async def _seed(url: str, count: int) -> list[str]:
    """``count`` agreements with one pending card payment each; returns the intent ids."""
    from sqlalchemy import insert

    from collection.accounts.creditors import create_tenant
    from collection.models import (
        Agreement,
        AgreementInstallment,
        Debtor,
        Payment,
        PaymentMethod,
        PaymentStatus,
    )
    from core.db import Database, Scope

    db = Database(url)
    intents: list[str] = []
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug="bench-hooks",
                name="Bench",
                legal_name="Bench Ltda.",
                cnpj=_cnpj(),
                address="",
            )
            tenant.stripe_account = "acct_bench"
            await session.flush()
            due = date(2026, 12, 1)
            for start in range(0, count, 1000):
                debtors, agreements, installments, payments = [], [], [], []
                for n in range(start, min(count, start + 1000)):
                    debtor_id, agreement_id = uuid.uuid4(), uuid.uuid4()
                    debtors.append(
                        {
                            "id": debtor_id,
                            "tenant_id": tenant.id,
                            "cpf": f"{n:011d}",
                            "cpf_hash": f"h{n}",
                            "name": f"Pessoa {n}",
                        }
                    )
                    agreements.append(
                        {
                            "id": agreement_id,
                            "tenant_id": tenant.id,
                            "debtor_id": debtor_id,
                            "offer_code": "cash",
                            "kind": "cash",
                            "status": "awaiting_first_payment",
                            "balance": 10_000,
                            "discount": 0,
                            "total": 10_000,
                            "down_payment": 0,
                            "monthly_rate": "0",
                            "cet_yearly": "0",
                            "grace_days": 5,
                            "accepted_on": date(2026, 11, 20),
                            "idempotency_key": f"bench-{n}",
                            "terms": {},
                        }
                    )
                    installments.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tenant.id,
                            "agreement_id": agreement_id,
                            "number": 1,
                            "due_date": due,
                            "amount": 10_000,
                            "paid": 0,
                        }
                    )
                    intent = f"pi_bench_{n:08d}"
                    intents.append(intent)
                    payments.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tenant.id,
                            "agreement_id": agreement_id,
                            "installment_number": 1,
                            "method": PaymentMethod.CARD,
                            "amount": 10_000,
                            "status": PaymentStatus.PENDING,
                            "idempotency_key": f"pay-bench-{n}",
                            "provider_id": intent,
                        }
                    )
                await session.execute(insert(Debtor), debtors)
                await session.execute(insert(Agreement), agreements)
                await session.execute(insert(AgreementInstallment), installments)
                await session.execute(insert(Payment), payments)
            await session.commit()
    finally:
        await db.dispose()
    return intents


def _signed(intent: str, n: int) -> tuple[bytes, str]:
    stamp = int(time.time())
    body = json.dumps(
        {
            "id": f"evt_bench_{n:08d}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": stamp,
            "account": "acct_bench",
            "data": {
                "object": {
                    "id": intent,
                    "object": "payment_intent",
                    "amount": 10_000,
                    "amount_received": 10_000,
                    "status": "succeeded",
                }
            },
        }
    ).encode()
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return body, f"t={stamp},v1={mac.hexdigest()}"


async def _stored(url: str) -> tuple[int, int, int]:
    """Events stored, distinct event ids among them, and events applied."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT provider_event_id), count(*) FILTER "
            "(WHERE outcome <> '') FROM gateway_events"
        )
        return int(row[0]), int(row[1]), int(row[2])
    finally:
        await conn.close()


async def _confirmed(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM payments WHERE status = 'succeeded'"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=40_000, help="more than a run posts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--apply-within", type=float, default=300)
    args = parser.parse_args()
    wrk.require_wrk()
    from quita import migrate

    name = f"quita_hooks_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(PG, f'CREATE DATABASE "{name}"'))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url = f"{PG.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
        migrate.upgrade(url)
        intents = asyncio.run(_seed(url, args.events))
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "QUITA_ENV": "production",
                "SECRET_KEY": SECRET,
                "CPF_HASH_KEY": SECRET,
                "QUITA_SECRETS_KEY": SecretsBox.new_key(),
                "DATABASE_URL": url.replace("+asyncpg", ""),
                "BROKER_URL": "redis://127.0.0.1:6379/14",
                "BROKER_QUEUE_PREFIX": f"{name}.",
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LOG_LEVEL": "WARNING",
                "QUITA_VAR_DIR": tmp,
            }
            proc, base = start_web(env)
            procs.append(proc)
            # Signed now: the SDK's tolerance is 5 minutes.
            events = [_signed(intent, n)[::-1] for n, intent in enumerate(intents)]
            hooks = wrk.post_each(
                "POST /webhooks/stripe",
                f"{base}/webhooks/stripe",
                [(sig, body) for sig, body in events],
                header="Stripe-Signature",
                connections=args.connections,
                seconds=args.seconds,
            )
            ping = wrk.get("/ping", f"{base}/ping", seconds=args.seconds)
            print(wrk.beside(hooks, ping), flush=True)
            # Applied by a worker, started once the posts are in (it would share the cores).
            quita = str(Path(sys.executable).with_name("quita"))
            procs.append(
                subprocess.Popen(
                    [quita, "worker", "--threads", "4"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            started = time.monotonic()
            stored, distinct, applied = asyncio.run(_stored(url))
            while applied < stored and time.monotonic() - started < args.apply_within:
                time.sleep(1)
                stored, distinct, applied = asyncio.run(_stored(url))
            confirmed = asyncio.run(_confirmed(url))
            print(
                f"events posted {hooks.requests:,} of {len(events):,} signed; "
                f"stored {stored:,} ({distinct:,} distinct ids); "
                f"applied by the worker {applied:,} in {time.monotonic() - started:.0f} s; "
                f"payments succeeded {confirmed:,}"
            )
            print(
                f"targets: >= {TARGET:,.0f} events/s, p99 < 60 ms, each event stored once; "
                f"one web process, wrk {args.connections} connections; load "
                + " ".join(f"{v:.2f}" for v in os.getloadavg())
            )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        asyncio.run(_admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
