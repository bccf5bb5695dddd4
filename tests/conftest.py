"""Shared fixtures: databases (SQLite always; PostgreSQL with CI=true), the app, factories.

Every database test runs once per backend. Each backend's database is created and
migrated once per test process (the Alembic migrations, not ``create_all``) and dropped
at the end. Tests make their own tenants with unique slugs, so they never depend on
each other's data.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

# The cheapest argon2id parameters for every process of the test run (xdist workers and
# the servers they start inherit it); test_production_password_parameters keeps the real
# ones checked. Set before core.security is imported.
os.environ.setdefault("QUITA_TEST_FAST_HASHING", "1")
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.db import Database, Scope
from core.settings import BrokerSettings, DatabaseSettings, MailSettings, SecuritySettings, Settings
from quita import migrate
from quita.app import create_app
from tests.factories import TenantWorld, make_world
from tests.log_guard import LOG_DIR, offending_lines

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Property tests check values, never time: on a shared 2-core machine a first call that
# loads data (the bank calendar) can take longer than Hypothesis' 200 ms default deadline.
# Speed targets live in bench/, not in tests.
hypothesis_settings.register_profile("quita", deadline=None)
hypothesis_settings.load_profile("quita")

PG_ADMIN_URL = os.environ.get("QUITA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"] if CI or os.environ.get("QUITA_TEST_PG") else ["sqlite"]
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Every process of the run (this one, xdist workers, the servers they start) appends
    # its log lines under test-artifacts/logs; the controller reads them all at the end.
    if _is_controller(config):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for old in LOG_DIR.glob("*.log"):
            old.unlink()
    os.environ["QUITA_LOG_FILE"] = str(
        LOG_DIR / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _is_controller(session.config):
        return
    hits = offending_lines()
    if hits:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"personal data in {len(hits)} log line(s):", red=True)
            for name, number, kinds in hits[:20]:
                reporter.write_line(f"  test-artifacts/logs/{name}:{number}: {', '.join(kinds)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Modules whose SQL differs between the backends (bulk loads, set-based planning, row-level
# security, conditional updates, migrations, reports): with CI=true they run on SQLite and
# on PostgreSQL. Every other database test speaks HTTP through the same ORM queries and
# runs on PostgreSQL alone in CI (SQLite alone outside CI), which halves the suite's time.
BOTH_BACKENDS = {
    "test_imports",
    "test_erp_imports",
    "test_reminders",
    "test_regua_portal",
    "test_tenancy",
    "test_migrations",
    "test_payments",
    "test_money_lifecycle",
    "test_escalation",
    "test_dashboards",
    "test_handover",
    "test_work_queue",
    "test_agency_jobs",
    "test_agreement_calendar",
    "test_cross_tenant",
    "test_agency_scope",
    "test_retention",
    "test_account_search",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if len(BACKENDS) < 2:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec else None
        module = item.path.stem
        if backend == "sqlite" and module not in BOTH_BACKENDS:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each backend for this test process."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "quita.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate.upgrade(url)
        yield url
        return
    name = f"quita_test_{_worker_id()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # CI must fail, not skip, when PostgreSQL is missing
        pytest.fail(f"PostgreSQL is required (CI=true) but unreachable: {exc!r}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    migrate.upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(database_url: str, tmp: Path, **changes: Any) -> Settings:
    settings = Settings(
        env="test",
        base_url="https://testserver.local",
        var_dir=tmp,
        log_json=True,
        database=DatabaseSettings(url=database_url, pool_size=5),
        broker=BrokerSettings(),
        mail=MailSettings(outbox_dir=str(tmp / "mail")),
        security=SecuritySettings(
            secret_key=TEST_SECRET, cpf_hash_key=TEST_SECRET, secure_cookies=True
        ),
    )
    return settings.with_changes(**changes) if changes else settings


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings, run_workers=False)


@pytest.fixture(scope="session")
async def _client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="https://testserver.local") as client:
        client.follow_redirects = False
        yield client


async def _forget_login_attempts(db: Database) -> None:
    # Every test client speaks from one address; each test starts with a clean window.
    from sqlalchemy import delete

    from collection.models import DebtorAttempt, DebtorCodeSend
    from tenants.models import LoginAttempt

    async with db.session(Scope.system()) as session:
        await session.execute(delete(LoginAttempt))
        await session.execute(delete(DebtorAttempt))
        await session.execute(delete(DebtorCodeSend))
        await session.commit()


@pytest.fixture
async def client(
    db: Database, _client: AsyncTestClient[Litestar]
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app's test client with a clean cookie jar and no recent sign-in failures."""
    _client.cookies.clear()
    await _forget_login_attempts(db)
    _TEST_DATABASES[id(_client._transport)] = db
    yield _client
    _client.cookies.clear()


# The tests' own database handle for each app transport, so `login` can open a staff
# session on the tests' event loop (the app's engine belongs to the app's loop).
_TEST_DATABASES: dict[int, Database] = {}


@pytest.fixture
async def other_client(
    db: Database, _client: AsyncTestClient[Litestar]
) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (own cookies) on the same running app and event loop."""
    _TEST_DATABASES[id(_client._transport)] = db
    # Not closed: closing would close the shared transport of the main client.
    yield httpx.AsyncClient(
        transport=_client._transport, base_url=str(_client.base_url), follow_redirects=False
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The test's own handle on the app's database.

    The app runs on the test client's event loop (a blocking portal); an async engine
    belongs to one loop, so the tests keep a separate one on theirs.
    """
    database = Database(settings.database.url, pool_size=3)
    yield database
    await database.dispose()


@pytest.fixture
async def world(db: Database, settings: Settings) -> TenantWorld:
    """Two tenants with staff of every role and a few debtors each, unique to this test."""
    return await make_world(db, settings)


_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def csrf(client: httpx.AsyncClient, path: str = "/portal/") -> str:
    """Load a page and return the CSRF token its forms carry."""
    response = await client.get(path)
    return csrf_from(response.text)


async def login(client: httpx.AsyncClient, email: str, password: str, expect: int = 302) -> Any:
    """Sign ``email`` in for a test that is not about signing in: the session a completed
    password sign-in opens (through ``AuthService``), without the form's round trips.

    The password is still checked. A failure the test expects, or an account with a second
    factor (its own step), goes through the form; the sign-in tests use the form always
    (``login_via_form``)."""
    db = _TEST_DATABASES.get(id(client._transport))
    if expect != 302 or db is None:  # a failure expected, or a client the test made itself
        return await login_via_form(client, email, password, expect)
    from sqlalchemy import select

    from core.security import verify_password
    from portal.auth import SESSION_COOKIE
    from tenants.models import User

    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email.strip().lower()))
        assert user is not None and user.is_active, f"no active account {email}"
        assert verify_password(user.password_hash, password), f"wrong password for {email}"
        if user.totp_secret is not None:
            return await login_via_form(client, email, password, expect)
        token = _client_app(client).state.auth._open(
            session, user, ip="127.0.0.1", user_agent="tests", mfa_pending=False
        )
        await session.commit()
    client.cookies.set(SESSION_COOKIE, token, path="/portal")
    return None


def _client_app(client: httpx.AsyncClient) -> Litestar:
    # Both test clients share the app's transport, which knows the app's own client.
    owner: AsyncTestClient[Litestar] = client._transport.client  # type: ignore[attr-defined]
    return owner.app


async def login_via_form(
    client: httpx.AsyncClient, email: str, password: str, expect: int = 302
) -> Any:
    """Sign in through the portal's form, as a person does."""
    token = await csrf(client)
    response = await client.post(
        "/portal/login", data={"email": email, "password": password, "_csrf_token": token}
    )
    assert response.status_code == expect, response.text[:500]
    return response


@dataclass
class Outbox:
    """Recent e-mails of the outbox, read straight from the database."""

    db: Database
    seen: list[Any] = field(default_factory=list)

    async def to(self, address: str) -> list[Any]:
        from sqlalchemy import select

        from core.mail import OutboundEmail

        async with self.db.session(Scope.system()) as session:
            rows = await session.scalars(
                select(OutboundEmail)
                .where(OutboundEmail.to_address == address)
                .order_by(OutboundEmail.created_at)
            )
            return list(rows.all())


@pytest.fixture
def outbox(db: Database) -> Outbox:
    return Outbox(db)
