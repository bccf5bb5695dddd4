"""A worker killed in the middle of a batch of régua messages, with RabbitMQ and a real
SMTP server on loopback: nothing is lost, and every message is recorded sent once."""

from __future__ import annotations

import asyncio
import email
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from collection.accounts.creditors import create_tenant
from collection.models import (
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    Message,
    MessageStatus,
    Portfolio,
    ReminderStep,
)
from core.db import Database, Scope
from core.settings import BrokerSettings
from quita import migrate
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_admin
from tests.integration.test_processes import QUITA, _env, _port, _run

pytestmark = pytest.mark.xdist_group("processes")

MESSAGES = 40
# A Tuesday morning in São Paulo: every debtor (in SP) may be contacted.
CLOCK_START = "2026-01-13T10:00:00-03:00"
NOW = datetime(2026, 1, 13, 13, 0, tzinfo=UTC)


async def _seed(url: str) -> list[uuid.UUID]:
    db = Database(url)
    ids: list[uuid.UUID] = []
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug="faults",
                name="Credor Falhas",
                legal_name="Credor Falhas Ltda.",
                cnpj="11.222.333/0001-81",
                address="Rua A, 1, São Paulo/SP",
            )
            await session.flush()
            step = await session.scalar(
                select(ReminderStep).where(
                    ReminderStep.tenant_id == tenant.id, ReminderStep.name == "Lembrete"
                )
            )
            assert step is not None
            portfolio = Portfolio(tenant_id=tenant.id, name="P")
            session.add(portfolio)
            await session.flush()
            for n in range(MESSAGES):
                debtor = Debtor(
                    tenant_id=tenant.id,
                    cpf=f"{n:011d}",
                    cpf_hash=f"hash-{n}-{uuid.uuid4().hex}",
                    name=f"Pessoa {n}",
                    state="SP",
                )
                contact = Contact(kind=ContactKind.EMAIL, value=f"p{n}@example.test")
                contact.tenant_id = tenant.id
                debtor.contacts.append(contact)
                debt = Debt(
                    tenant_id=tenant.id,
                    portfolio_id=portfolio.id,
                    debtor=debtor,
                    contract=f"C-{n}",
                    product="Cartão",
                    original_amount=10_000,
                    due_date=date(2026, 1, 10),
                    items=[
                        DebtItem(
                            tenant_id=tenant.id, number=1, due_date=date(2026, 1, 10), amount=10_000
                        )
                    ],
                )
                session.add(debt)
                await session.flush()
                message = Message(
                    tenant_id=tenant.id,
                    step_id=step.id,
                    subject_key=f"d:{debt.id}",
                    debtor_id=debtor.id,
                    debt_id=debt.id,
                    channel="email",
                    planned_for=date(2026, 1, 13),
                    send_after=NOW - timedelta(minutes=1),
                    contact_id=contact.id,
                )
                session.add(message)
                await session.flush()
                ids.append(message.id)
            await session.commit()
    finally:
        await db.dispose()
    return ids


async def _statuses(url: str) -> Counter[str]:
    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            rows = await session.scalars(select(Message.status))
            return Counter(s.value for s in rows)
    finally:
        await db.dispose()


async def _expire_leases(url: str) -> int:
    """What five minutes would do: leases of the dead worker run out."""
    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            result = await session.execute(
                update(Message)
                .where(Message.status == MessageStatus.SENDING)
                .values(lease_until=NOW - timedelta(minutes=10))
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)
    finally:
        await db.dispose()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL and RabbitMQ (CI)")
def test_a_worker_killed_mid_batch_loses_nothing_and_records_each_message_once(tmp_path):
    received: list[str] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(0.05)  # a slow relay: the batch takes seconds
            received.append(email.message_from_bytes(envelope.content)["Message-ID"])
            return "250 OK"

    smtp_port = _port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    name = f"quita_fault_{uuid.uuid4().hex[:8]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    prefix = f"fault{uuid.uuid4().hex[:6]}-"
    env = _env(
        DATABASE_URL=url,
        BROKER_URL="amqp://guest:guest@127.0.0.1:5672/",
        BROKER_QUEUE_PREFIX=prefix,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        QUITA_VAR_DIR=str(tmp_path),
        QUITA_CLOCK_START=CLOCK_START,
        LOG_LEVEL="WARNING",
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        migrate.upgrade(url)
        ids = _run(_seed(url))

        import dramatiq

        from core.settings import Settings
        from workers.actors import MESSAGES_DISPATCH, register
        from workers.broker import build_broker
        from workers.runtime import build_runtime

        settings = Settings().with_changes(
            broker=BrokerSettings(url="amqp://guest:guest@127.0.0.1:5672/", queue_prefix=prefix)
        )
        broker = build_broker(settings.broker)
        actors = register(broker, build_runtime(settings))
        dramatiq.set_broker(broker)

        def start_worker() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                [QUITA, "worker", "--threads", "1"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            workers.append(proc)
            return proc

        first = start_worker()
        actors[MESSAGES_DISPATCH].send()
        deadline = time.monotonic() + 60
        while len(received) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert received, "the first worker sent nothing"
        first.send_signal(signal.SIGKILL)  # mid-batch, without any chance to clean up
        first.wait(timeout=10)
        sent_before = len(received)
        assert sent_before < MESSAGES, "the batch finished before the kill"

        _run(_expire_leases(url))
        start_worker()  # RabbitMQ gives the unacknowledged dispatch job to the new worker
        actors[MESSAGES_DISPATCH].send()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if _run(_statuses(url)).get("sent", 0) == MESSAGES:
                break
            time.sleep(0.3)
        statuses = _run(_statuses(url))
        assert statuses == Counter({"sent": MESSAGES}), statuses
        delivered = Counter(received)
        expected = {f"<{i}@quita>" for i in ids}
        assert set(delivered) == expected  # nothing lost
        # At-least-once across a crash: only the one message in flight when the worker
        # died may reach the relay twice, and it carries the same Message-ID.
        assert sum(delivered.values()) - len(delivered) <= 1, delivered.most_common(3)
        broker.close()
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        smtp.stop()
        _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
