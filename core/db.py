"""SQLAlchemy foundation: the declarative base, column types, engines and sessions.

One ``Database`` per event loop owns an async engine and hands out sessions. A session
always knows its *scope* (``tenant`` with a tenant id, or ``system``); the tenancy
module turns that scope into query criteria and, on PostgreSQL, into the settings the
row-level security policies read. Work is committed only by an explicit
``await session.commit()``: leaving the ``session()`` block without it rolls back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import DateTime, MetaData, event, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC (infrastructure only, never the domain)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


class UUIDPrimaryKey:
    """A random UUID primary key: ids are not guessable nor countable."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamped:
    """``created_at`` set when the row is written."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Updated:
    """``updated_at``: set when the row is written and on every change, for clients that
    sync incrementally. ORM flushes and ORM ``update()`` statements set it (``onupdate``);
    raw SQL must set it itself. A child row declares ``__touches__`` (the name of its
    many-to-one relationship) so that changing, adding or deleting it counts as a change
    of its parent (an installment of its debt or agreement)."""

    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _touch_parents(session: Session, _context: Any, _instances: Any) -> None:
    touched: dict[tuple[type[Any], Any], None] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        name = getattr(type(obj), "__touches__", None)
        if name is None or (obj in session.dirty and not session.is_modified(obj)):
            continue
        relation = sa_inspect(type(obj)).relationships[name]
        local = next(iter(relation.local_columns))
        parent_id = getattr(obj, local.key)
        if parent_id is not None:
            touched[(relation.mapper.class_, parent_id)] = None
    now = utcnow()
    for target, parent_id in touched:
        parent = session.identity_map.get(session.identity_key(target, parent_id))
        if parent is not None:
            parent.updated_at = now
        else:
            session.execute(update(target).where(target.id == parent_id).values(updated_at=now))


event.listen(Session, "before_flush", _touch_parents)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A pooled connection idle for longer than this is pinged before it is handed out (and
# replaced if dead): a database restart or a dropped idle connection costs no request.
# Unlike ``pool_pre_ping`` (three round trips on asyncpg, at every checkout), a
# connection in constant use is not pinged; if one dies in use, the error invalidates
# the pool and the next checkouts connect afresh.
IDLE_PING_SECONDS = 5.0
_CHECKED_IN = "quita_checked_in"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get(_CHECKED_IN)
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("idle connection is gone") from exc


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """Build an async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, poolclass=NullPool, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


class Scope:
    """What a session may see: one tenant's rows, or everything (``system``).

    ``agency_id`` narrows a tenant scope to the accounts that tenant handed over to that
    agency (agency staff working in a creditor's portal); see ``core.tenancy``.
    """

    __slots__ = ("agency_id", "tenant_id")

    def __init__(self, tenant_id: uuid.UUID | None, agency_id: uuid.UUID | None = None) -> None:
        if agency_id is not None and tenant_id is None:
            raise ValueError("an agency scope needs a tenant")
        self.tenant_id = tenant_id
        self.agency_id = agency_id

    @classmethod
    def system(cls) -> Scope:
        return cls(None)

    @classmethod
    def tenant(cls, tenant_id: uuid.UUID, *, agency_id: uuid.UUID | None = None) -> Scope:
        return cls(tenant_id, agency_id)

    @property
    def is_system(self) -> bool:
        return self.tenant_id is None

    @property
    def is_agency(self) -> bool:
        return self.agency_id is not None

    def __repr__(self) -> str:
        if self.is_system:
            return "Scope(system)"
        if self.agency_id is not None:
            return f"Scope(tenant={self.tenant_id}, agency={self.agency_id})"
        return f"Scope(tenant={self.tenant_id})"


AfterCommit = Callable[[], None]


class Database:
    """An engine and a session factory; one per event loop (async engines are loop-bound)."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo, pool_size=pool_size)
        self._factory = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")

    @asynccontextmanager
    async def session(self, scope: Scope, *, snapshot: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: rolled back unless the caller commits before leaving.

        ``snapshot`` makes every statement see the database as of the first one
        (REPEATABLE READ on PostgreSQL), for reads that must agree with each other.
        """
        session = self._factory()
        session.info["scope"] = scope
        session.info["after_commit"] = []
        try:
            if snapshot and self.is_postgres:
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session
        finally:
            # close() rolls back whatever was not committed; unlike rollback() it
            # leaves loaded objects readable (detached) for the caller's rendering.
            await session.close()

    @asynccontextmanager
    async def driver_snapshot(self, scope: Scope) -> AsyncIterator[Any | None]:
        """On PostgreSQL, the driver's own connection (asyncpg) inside a read-only
        REPEATABLE READ transaction carrying ``scope``'s row-level-security settings,
        opened in one round trip and rolled back on leaving; None on other databases.

        For a hot read of one or two statements, where an ORM session's own work (its
        transaction, the settings statement, the rollback: four round trips through
        SQLAlchemy) costs more than the read itself. System scope only: a tenant's reads
        need the tenant criteria that sessions add to every query.
        """
        if not scope.is_system:
            raise ValueError("driver snapshots read in the system scope only")
        if not self.is_postgres:
            yield None
            return
        from core.tenancy import rls_settings_literal

        async with self.engine.connect() as connection:
            raw: Any = (await connection.get_raw_connection()).driver_connection
            await raw.execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; " + rls_settings_literal(scope)
            )
            try:
                yield raw
            except BaseException:
                # Whatever broke, the pool must never get this transaction back open.
                await connection.invalidate()
                raise
            await raw.execute("ROLLBACK")

    async def dispose(self) -> None:
        await self.engine.dispose()


def after_commit(session: AsyncSession | Session, callback: AfterCommit) -> None:
    """Run ``callback`` once this session's transaction commits (never on rollback).

    Used to enqueue background jobs: a worker never looks for a row that was not
    committed, and a rolled-back request sends nothing.
    """
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks: list[AfterCommit] = session.info.get("after_commit", [])
    session.info["after_commit"] = []
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The rows are committed and are the truth; a job that could not be sent
            # (the broker restarting) is sent again by the periodic sweeper. Failing the
            # request here would tell the person their committed action failed.
            structlog.get_logger("quita.db").warning("after_commit.failed", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info["after_commit"] = []
