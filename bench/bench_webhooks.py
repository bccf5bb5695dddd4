"""Stripe webhooks ingested by one production web process.

N payments (each the first installment of its own agreement) in PostgreSQL; one
`quita web` process with Stripe configured; N signed `payment_intent.succeeded` events
posted by 32 concurrent clients on loopback. Each event is verified with the Stripe SDK
(signature and tolerance), stored once by id and applied in one transaction (payment
counted, installment paid, agreement advanced, audit lines). Prints events/s, p50/p99
and the ratio to the target. Target (issue 7): 1,000 events per second on one process.

    .venv/bin/python bench/bench_webhooks.py [--events N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_debtor_site import _free_port  # noqa: E402
from bench.bench_import import _admin, _cnpj  # noqa: E402
from core.secrets_box import SecretsBox  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-" + "x" * 32
WEBHOOK_SECRET = "whsec_bench_" + "y" * 24
TARGET = 1000.0


async def _seed(url: str, count: int) -> list[str]:
    """``count`` agreements with one pending card payment each; returns the intent ids."""
    from sqlalchemy import insert

    from collection.models import (
        Agreement,
        AgreementInstallment,
        Debtor,
        Payment,
        PaymentMethod,
        PaymentStatus,
    )
    from core.db import Database, Scope
    from tenants.services.directory import create_tenant

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


async def _fire(
    base: str, events: list[tuple[bytes, str]], concurrency: int
) -> tuple[float, list[float], dict[str, int]]:
    queue = list(reversed(events))
    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while queue:
                body, signature = queue.pop()
                started = time.perf_counter()
                try:
                    response = await client.post(
                        "/webhooks/stripe",
                        content=body,
                        headers={"stripe-signature": signature, "content-type": "application/json"},
                    )
                    key = (
                        response.json().get("status", "?")
                        if response.status_code == 200
                        else str(response.status_code)
                    )
                except httpx.HTTPError:
                    key = "error"
                latencies.append(time.perf_counter() - started)
                outcomes[key] = outcomes.get(key, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, outcomes


async def _ping(base: str, count: int, concurrency: int) -> float:
    left = [count]

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while left[0] > 0:
                left[0] -= 1
                await client.get("/ping")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    from quita import migrate

    name = f"quita_hooks_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(PG, f'CREATE DATABASE "{name}"'))
    proc: subprocess.Popen[bytes] | None = None
    try:
        url = f"{PG.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
        migrate.upgrade(url)
        intents = asyncio.run(_seed(url, args.events))
        events = [_signed(intent, n) for n, intent in enumerate(intents)]
        with tempfile.TemporaryDirectory() as tmp:
            port = _free_port()
            env = {
                **os.environ,
                "QUITA_ENV": "production",
                "SECRET_KEY": SECRET,
                "CPF_HASH_KEY": SECRET,
                "QUITA_SECRETS_KEY": SecretsBox.new_key(),
                "DATABASE_URL": url.replace("+asyncpg", ""),
                "BROKER_URL": "redis://127.0.0.1:6379/14",
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LOG_LEVEL": "WARNING",
                "QUITA_VAR_DIR": tmp,
            }
            quita = str(Path(sys.executable).with_name("quita"))
            proc = subprocess.Popen(
                [quita, "web", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            seconds, latencies, outcomes = asyncio.run(_fire(base, events, args.concurrency))
            ordered = sorted(latencies)
            rate = len(events) / seconds
            print(
                f"webhooks events={len(events):,} seconds={seconds:.1f} events/s={rate:,.0f} "
                f"p50={statistics.median(ordered) * 1000:.1f}ms "
                f"p99={ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f}ms outcomes={outcomes}"
            )
            print(
                f"ratio to target = {rate / TARGET:.2f} (target 1,000 events/s on one process, "
                f"{args.concurrency} clients on the same 2-core machine)"
            )
            # The ceiling of this process and load generator: the plain-text /ping.
            pings = asyncio.run(_ping(base, len(events), args.concurrency))
            print(
                f"/ping of the same process: {len(events) / pings:,.0f} requests/s; "
                f"webhooks reach {rate / (len(events) / pings):.2f} of it"
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        asyncio.run(_admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
