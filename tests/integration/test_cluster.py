"""The production shape under faults: 2 web processes, 2 workers and the scheduler
(`quita.cluster.Cluster`, what `make cluster` runs) on PostgreSQL and RabbitMQ.

Each fault is its own test: a web process killed in the middle of requests, a worker
killed in the middle of jobs, RabbitMQ restarted, PostgreSQL restarted. After each, no
accepted agreement, payment or planned message is lost or duplicated, and the service
recovers by itself (the cluster restarts a dead process as systemd or the container
runtime would; connections and consumers reconnect on their own).

The cluster has its own PostgreSQL database and its own RabbitMQ virtual host, and the
database and broker outages are made on those alone: every connection to them is cut and
new ones are refused for a while, which is what the processes see of a server restart.
So these tests run in the parallel session beside the rest of the suite, which keeps using
the same servers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, insert, select

from collection.accounts.creditors import create_tenant
from collection.models import (
    Agreement,
    AgreementInstallment,
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    GatewayEvent,
    Message,
    MessageStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Portfolio,
)
from core.db import Database, Scope
from core.security import keyed_hash
from core.settings import Settings
from quita.cli import build_parser
from quita.cluster import Cluster
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_admin
from tests.factories import valid_cnpj, valid_cpf
from tests.integration.test_processes import _run

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_cluster_" + "z" * 24
# A Tuesday morning in São Paulo: every debtor (in SP) may be contacted.
CLOCK_START = "2026-01-13T10:00:00-03:00"
TODAY = date(2026, 1, 13)
PEOPLE = 24
pytestmark = pytest.mark.xdist_group("processes")
needs_services = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="needs PostgreSQL and RabbitMQ (CI)"
)


# -- the container files name real commands ---------------------------------------------


def test_every_compose_service_runs_a_real_quita_command():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    quita = {name: s for name, s in services.items() if s.get("image") == "quita:latest"}
    assert {"migrate", "web1", "web2", "worker1", "worker2", "scheduler"} <= set(quita)
    for name, service in quita.items():
        args = build_parser().parse_args(service["command"])
        assert callable(args.func), name
    assert quita["migrate"]["command"] == ["db", "upgrade"]
    for name in ("web1", "web2", "worker1", "worker2", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["environment"]["QUITA_ENV"] == "production"
    # Secrets are never written in the file: each one must come from the environment.
    for key in ("SECRET_KEY", "CPF_HASH_KEY", "QUITA_SECRETS_KEY"):
        assert quita["web1"]["environment"][key].startswith("${")


def test_the_image_starts_quita_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["quita"]' in dockerfile
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    assert callable(build_parser().parse_args(json.loads(cmd.group(1))).func)
    assert re.search(r"^USER quita$", dockerfile, re.M)
    assert "QUITA_ENV=production" in dockerfile


# -- the cluster -------------------------------------------------------------------------


class World:
    """What the faults act on: people who accept offers, payments waiting for webhooks."""

    def __init__(self, url: str, cluster: Cluster) -> None:
        self.url = url
        self.cluster = cluster
        self.tenant_id: uuid.UUID | None = None
        self.people: list[tuple[str, str]] = []  # (cpf, birth date dd/mm/yyyy)
        self.intents: list[str] = []
        self.sent_events: set[str] = set()

    @property
    def web(self) -> list[str]:
        return self.cluster.urls


async def _seed(world: World, settings: Settings) -> None:
    rng = random.Random(7)
    db = Database(world.url)
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug="cluster",
                name="Credor Cluster",
                legal_name="Credor Cluster Ltda.",
                cnpj=valid_cnpj(rng),
                address="Rua A, 1, São Paulo/SP",
            )
            tenant.stripe_account = "acct_cluster"
            tenant.reminders_enabled = True  # the régua plans messages during the faults
            await session.flush()
            world.tenant_id = tenant.id
            portfolio = Portfolio(id=uuid.uuid4(), tenant_id=tenant.id, name="Carteira")
            session.add(portfolio)
            for n in range(PEOPLE * 2):
                cpf = valid_cpf(rng)
                born = date(1960 + n % 30, 1 + n % 12, 1 + n % 27)
                debtor = Debtor(
                    id=uuid.uuid4(),
                    tenant_id=tenant.id,
                    cpf=cpf,
                    cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
                    name=f"Pessoa Cluster {n}",
                    birth_date=born,
                    state="SP",
                    city="São Paulo",
                )
                debtor.contacts.append(
                    Contact(
                        tenant_id=tenant.id,
                        kind=ContactKind.EMAIL,
                        value=f"pessoa{n}@example.test",
                    )
                )
                due = TODAY - timedelta(days=3)  # the régua's D+3 e-mail is due today
                session.add(debtor)
                session.add(
                    Debt(
                        tenant_id=tenant.id,
                        portfolio_id=portfolio.id,
                        debtor=debtor,
                        contract=f"CL-{n}",
                        original_amount=100_000,
                        due_date=due,
                        items=[
                            DebtItem(tenant_id=tenant.id, number=1, due_date=due, amount=100_000)
                        ],
                    )
                )
                world.people.append((cpf, born.strftime("%d/%m/%Y")))
            await session.flush()
            # Agreements waiting for their card payment's webhook.
            agreements, installments, payments = [], [], []
            debtor_ids = list(
                await session.scalars(select(Debtor.id).where(Debtor.tenant_id == tenant.id))
            )
            for n in range(200):
                agreement_id = uuid.uuid4()
                agreements.append(
                    {
                        "id": agreement_id,
                        "tenant_id": tenant.id,
                        "debtor_id": debtor_ids[PEOPLE + n % PEOPLE],
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
                        "accepted_on": TODAY,
                        "idempotency_key": f"cluster-{n}",
                        "terms": {},
                    }
                )
                installments.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "agreement_id": agreement_id,
                        "number": 1,
                        "due_date": TODAY + timedelta(days=7),  # a business day
                        "amount": 10_000,
                        "paid": 0,
                    }
                )
                intent = f"pi_cluster_{n:05d}"
                world.intents.append(intent)
                payments.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "agreement_id": agreement_id,
                        "installment_number": 1,
                        "method": PaymentMethod.CARD,
                        "amount": 10_000,
                        "status": PaymentStatus.PENDING,
                        "idempotency_key": f"pay-cluster-{n}",
                        "provider_id": intent,
                    }
                )
            await session.execute(insert(Agreement), agreements)
            await session.execute(insert(AgreementInstallment), installments)
            await session.execute(insert(Payment), payments)
            await session.commit()
    finally:
        await db.dispose()


def _two_free_ports() -> int:
    """A port whose next one is free too (the web processes listen on both)."""
    rng = random.Random()
    while True:
        base = rng.randrange(20_000, 40_000)
        try:
            for port in (base, base + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if "postgresql" not in BACKENDS:
        pytest.skip("needs PostgreSQL and RabbitMQ (CI)")
    name = f"quita_cluster_{uuid.uuid4().hex[:8]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    var = tmp_path_factory.mktemp("cluster")
    logs = ROOT / "test-artifacts" / "cluster"
    logs.mkdir(parents=True, exist_ok=True)
    log = (logs / f"{name}.log").open("wb")  # kept for a failed run
    web_port = _two_free_ports()
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    cluster = Cluster(
        database_url=url,
        broker_url=f"amqp://guest:guest@127.0.0.1:5672/{name}",
        web=2,
        workers=2,
        base_port=web_port,
        var_dir=var,
        queue_prefix=f"cl{uuid.uuid4().hex[:6]}-",
        scheduler_interval=1.0,
        extra_env={
            "QUITA_CLOCK_START": CLOCK_START,
            "STRIPE_SECRET_KEY": "sk_test_cluster",
            "STRIPE_API_BASE": "http://127.0.0.1:9",  # never reached: no call leaves the host
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOG_LEVEL": "WARNING",
        },
        log_to=log,
    )
    try:
        cluster.prepare()
        world = World(url.replace("postgresql://", "postgresql+asyncpg://"), cluster)
        _run(_seed(world, Settings()))
        cluster.start(within=90)
        yield world
    finally:
        cluster.stop()
        log.close()
        _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        _rabbitmqctl("delete_vhost", name)


async def _pg_count(sql: str, *args: object) -> int:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _database_name(world: World) -> str:
    return world.url.rsplit("/", 1)[1]


def _broker_down(world: World) -> None:
    """RabbitMQ going away for this cluster only: its virtual host refuses new connections
    and every open one is closed, as a broker restart closes them."""
    vhost = _database_name(world)
    _rabbitmqctl("clear_permissions", "-p", vhost, "guest")
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "-p", vhost, "pid"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [line for line in listed.stdout.splitlines() if line.strip()]  # the workers' own
    _rabbitmqctl("close_all_connections", "--vhost", vhost, "broker restart (test)")


def _broker_up(world: World) -> None:
    _rabbitmqctl("set_permissions", "-p", _database_name(world), "guest", ".*", ".*", ".*")


def _database_restart(world: World, down_for: float = 3.0) -> None:
    """PostgreSQL restarting, for this cluster's database only: new connections refused,
    every backend serving it terminated mid-transaction, then accepted again."""
    name = _database_name(world)
    _run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
    try:
        cut = _run(
            _pg_count(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
        assert cut > 0  # the web processes' and workers' pooled connections
        time.sleep(down_for)
    finally:
        _run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


# -- what the people and the gateway do ---------------------------------------------------

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
FIELD = re.compile(r'<input type="hidden" name="(key|total|valid_until)" value="([^"]*)"')


async def _offer_form(base: str, cpf: str, born: str) -> tuple[httpx.Cookies, str, dict[str, str]]:
    """Look up, verify, open the first offer: the cookies, the accept URL and its fields."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        home = await client.get("/")
        token = CSRF.search(home.text).group(1)  # type: ignore[union-attr]
        await client.post("/consulta", data={"cpf": cpf, "_csrf_token": token})
        # Each form carries the token of its own page: once the look-up opens a session,
        # the CSRF token is bound to it.
        verify = await client.get("/verificar")
        token = CSRF.search(verify.text).group(1)  # type: ignore[union-attr]
        done = await client.post("/verificar", data={"birth_date": born, "_csrf_token": token})
        assert done.headers.get("location") == "/minhas-dividas", done.status_code
        page = await client.get("/minhas-dividas")
        offer_path = re.search(r'href="(/ofertas/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        offer = await client.get(offer_path)
        fields = dict(FIELD.findall(offer.text))
        fields["_csrf_token"] = CSRF.search(offer.text).group(1)  # type: ignore[union-attr]
        return client.cookies, f"{offer_path}/aceitar", fields


async def _accept(base: str, cookies: httpx.Cookies, path: str, fields: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=20) as client:
        response = await client.post(path, data=fields)
        if response.status_code != 302:
            raise RuntimeError(f"accept answered {response.status_code}")
        return response.headers["location"]


def _signed(intent: str, n: int) -> tuple[bytes, str]:
    stamp = int(time.time())
    body = json.dumps(
        {
            "id": f"evt_cluster_{n:05d}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": stamp,
            "account": "acct_cluster",
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


async def _post_events(world: World, numbers: range) -> dict[int, int]:
    """Post the events like the gateway: retried until a 2xx (Stripe retries for days)."""
    statuses: dict[int, int] = {}

    async def one(client: httpx.AsyncClient, n: int) -> None:
        body, signature = _signed(world.intents[n], n)
        for attempt in range(40):
            base = world.web[(n + attempt) % len(world.web)]
            try:
                response = await client.post(
                    f"{base}/webhooks/stripe",
                    content=body,
                    headers={"stripe-signature": signature, "content-type": "application/json"},
                )
                statuses[n] = response.status_code
                if response.status_code == 200:
                    world.sent_events.add(world.intents[n])
                    return
            except httpx.HTTPError:
                statuses[n] = 0
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(timeout=20) as client:
        await asyncio.gather(*(one(client, n) for n in numbers))
    return statuses


async def _payments(url: str, tenant_id: uuid.UUID) -> dict[str, tuple[str, int]]:
    """Each payment's status and what its agreement received (installments and credit)."""
    db = Database(url)
    try:
        async with db.session(Scope.tenant(tenant_id)) as session:
            received = (
                select(func.sum(AgreementInstallment.paid))
                .where(AgreementInstallment.agreement_id == Payment.agreement_id)
                .scalar_subquery()
            )
            rows = await session.execute(
                select(Payment.provider_id, Payment.status, received + Agreement.credit).join(
                    Agreement, Agreement.id == Payment.agreement_id
                )
            )
            return {str(p): (str(s), int(paid)) for p, s, paid in rows.all()}
    finally:
        await db.dispose()


def _wait_applied(world: World, within: float) -> dict[str, tuple[str, int]]:
    assert world.tenant_id is not None
    deadline = time.monotonic() + within
    while True:
        found = _run(_payments(world.url, world.tenant_id))
        done = [i for i in world.sent_events if found[i][0] == PaymentStatus.SUCCEEDED]
        if len(done) == len(world.sent_events) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


async def _events_of(url: str, intents: list[str]) -> list[tuple[str, str, str]]:
    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            rows = await session.execute(
                select(
                    GatewayEvent.object_id, GatewayEvent.outcome, GatewayEvent.received_at
                ).where(GatewayEvent.object_id.in_(intents))
            )
            return [(str(o), str(outcome), str(at)) for o, outcome, at in rows.all()]
    finally:
        await db.dispose()


def _assert_each_payment_applied_once(world: World, found: dict[str, tuple[str, int]]) -> None:
    wrong = [
        i
        for i in world.intents
        if found[i]
        != ((PaymentStatus.SUCCEEDED, 10_000) if i in world.sent_events else ("pending", 0))
    ]
    assert not wrong, (len(wrong), _run(_events_of(world.url, wrong[:5])))
    for intent in world.intents:
        status, paid = found[intent]
        if intent in world.sent_events:
            assert (status, paid) == (PaymentStatus.SUCCEEDED, 10_000), intent  # not twice
        else:
            assert (status, paid) == (PaymentStatus.PENDING, 0), intent


async def _agreements_by_debtor(url: str, tenant_id: uuid.UUID) -> dict[str, list[str]]:
    db = Database(url)
    try:
        async with db.session(Scope.tenant(tenant_id)) as session:
            rows = await session.execute(
                select(Debtor.cpf, Agreement.id)
                .join(Agreement, Agreement.debtor_id == Debtor.id)
                .where(~Agreement.idempotency_key.like("cluster-%"))
            )
            found: dict[str, list[str]] = {}
            for cpf, agreement_id in rows.all():
                found.setdefault(cpf, []).append(str(agreement_id))
            return found
    finally:
        await db.dispose()


async def _message_counts(url: str, tenant_id: uuid.UUID) -> tuple[dict[str, int], int, int]:
    db = Database(url)
    try:
        async with db.session(Scope.tenant(tenant_id)) as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Message.status, func.count()).group_by(Message.status)
                    )
                ).all()
            )
            total = await session.scalar(select(func.count()).select_from(Message))
            distinct = await session.scalar(
                select(func.count()).select_from(
                    select(Message.step_id, Message.subject_key).distinct().subquery()
                )
            )
            return (
                {str(k): int(v) for k, v in statuses.items()},
                int(total or 0),
                int(distinct or 0),
            )
    finally:
        await db.dispose()


def _accept_all(world: World, people: list[tuple[str, str]], kill: str | None) -> dict[str, str]:
    """Every person accepts their first offer on web1; ``kill`` dies while they do.

    A person whose request failed tries again with the same form (the same idempotency
    key) on the other web process, as a browser retry or a proxy's failover would.
    """
    first, second = world.web[0], world.web[1]

    async def run() -> dict[str, str]:
        forms = await asyncio.gather(*(_offer_form(second, cpf, born) for cpf, born in people))
        outcomes: dict[str, str] = {}

        async def person(n: int) -> None:
            cookies, path, fields = forms[n]
            try:
                outcomes[people[n][0]] = await _accept(first, cookies, path, fields)
            except (httpx.HTTPError, RuntimeError):
                for _ in range(20):
                    try:
                        outcomes[people[n][0]] = await _accept(second, cookies, path, fields)
                        return
                    except (httpx.HTTPError, RuntimeError):
                        await asyncio.sleep(0.5)

        async def killer() -> None:
            if kill is not None:
                await asyncio.sleep(0.05)
                world.cluster.kill(kill)

        await asyncio.gather(killer(), *(person(n) for n in range(len(people))))
        return outcomes

    return _run(run())


def _assert_one_agreement_each(
    world: World, outcomes: dict[str, str], people: list[tuple[str, str]]
) -> None:
    assert world.tenant_id is not None
    found = _run(_agreements_by_debtor(world.url, world.tenant_id))
    for cpf, _born in people:
        assert len(found.get(cpf, [])) == 1, (cpf[-2:], found.get(cpf))  # none lost, none twice
        assert outcomes[cpf] == f"/acordos/{found[cpf][0]}"


def _wait_recovered(world: World, name: str, restarts_before: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while world.cluster.members[name].restarts <= restarts_before:
        assert time.monotonic() < deadline, f"{name} was not started again"
        time.sleep(0.2)
    world.cluster.wait_healthy(within=within)


# -- the faults ------------------------------------------------------------------------------


@needs_services
def test_a_web_process_killed_mid_request_loses_and_duplicates_no_agreement(world):
    people = world.people[:12]
    before = world.cluster.members["web1"].restarts
    outcomes = _accept_all(world, people, kill="web1")
    assert set(outcomes) == {cpf for cpf, _ in people}
    _assert_one_agreement_each(world, outcomes, people)
    _wait_recovered(world, "web1", before)
    assert httpx.get(f"{world.web[0]}/healthz", timeout=5).json()["status"] == "ok"


@needs_services
def test_a_worker_killed_mid_job_applies_every_payment_exactly_once(world):
    before = world.cluster.members["worker1"].restarts

    async def run() -> dict[int, int]:
        async def killer() -> None:
            await asyncio.sleep(0.3)
            world.cluster.kill("worker1")

        statuses, _ = await asyncio.gather(_post_events(world, range(0, 120)), killer())
        return statuses

    assert set(_run(run()).values()) == {200}
    _wait_recovered(world, "worker1", before)
    found = _wait_applied(world, within=150)
    _assert_each_payment_applied_once(world, found)


@needs_services
def test_the_regua_plans_each_message_once_and_sends_it_despite_the_faults(world):
    assert world.tenant_id is not None
    deadline = time.monotonic() + 120
    while True:
        statuses, total, distinct = _run(_message_counts(world.url, world.tenant_id))
        waiting = statuses.get(MessageStatus.PLANNED, 0) + statuses.get(MessageStatus.SENDING, 0)
        if (total and not waiting) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert total >= PEOPLE, statuses  # the D+3 e-mail for each person still without agreement
    assert total == distinct  # planned once per step and debt
    assert waiting == 0, statuses  # none stuck


@needs_services
def test_rabbitmq_restarting_loses_no_payment_and_the_workers_reconnect(world):
    _broker_down(world)
    try:
        # The gateway keeps delivering: the events are stored while the broker is away.
        statuses = _run(_post_events(world, range(120, 160)))
        assert set(statuses.values()) == {200}
    finally:
        _broker_up(world)
    world.cluster.wait_healthy(within=60)
    # The sweeper re-sends the events whose job was lost with the broker.
    found = _wait_applied(world, within=240)
    _assert_each_payment_applied_once(world, found)


@needs_services
def test_postgresql_restarting_loses_nothing_and_the_service_recovers(world):
    _database_restart(world)
    world.cluster.wait_healthy(within=60)  # each web process recovers by itself
    people = world.people[12:PEOPLE]
    outcomes = _accept_all(world, people, kill=None)
    _assert_one_agreement_each(world, outcomes, people)
    _run(_post_events(world, range(160, 200)))
    found = _wait_applied(world, within=150)
    _assert_each_payment_applied_once(world, found)
