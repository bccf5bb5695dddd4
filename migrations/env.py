"""Alembic environment: runs migrations on the async engine of the configured database."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from core.db import Base, make_engine
from quita.models import load_all_models

load_all_models()
target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL given to Alembic")
    return str(url)


def _compare_type(*_args: Any) -> bool | None:
    return None  # use Alembic's default comparison


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="core.db.",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(_url())
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # SQLite rebuilds a table to alter it; with foreign keys on, dropping the
                # old copy would cascade-delete every row that refers to it.
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():  # pragma: no cover - we always migrate online
    raise SystemExit("offline migrations are not supported")
run_migrations_online()
