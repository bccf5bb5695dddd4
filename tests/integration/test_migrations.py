"""The Alembic migrations and the models agree, and migrations go down and up."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.secrets_box import SecretsBox
from quita import migrate
from tests.conftest import PG_ADMIN_URL, _pg_admin


def test_models_and_migrations_agree(database_url):
    migrate.check(database_url)  # raises when autogenerate would find a change


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        migrate.upgrade(url)
        migrate.downgrade(url, "base")
        migrate.upgrade(url)
        migrate.check(url)
        return
    name = f"quita_scratch_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{name}"
        migrate.upgrade(url)
        migrate.downgrade(url, "base")
        migrate.upgrade(url)
        migrate.check(url)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("bad", ["", "dev-insecure-secret-change-me", "short"])
def test_production_refuses_a_default_or_empty_secret(bad):
    from core.settings import ConfigurationError, Settings

    with pytest.raises(ConfigurationError):
        Settings.from_env(
            {
                "QUITA_ENV": "production",
                "SECRET_KEY": bad,
                "DATABASE_URL": "postgresql://x@127.0.0.1/db",
            }
        )


def test_production_accepts_real_secrets():
    from core.settings import Settings

    settings = Settings.from_env(
        {
            "QUITA_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "CPF_HASH_KEY": "k" * 40,
            "QUITA_SECRETS_KEY": SecretsBox.new_key(),
            "DATABASE_URL": "postgresql://x@127.0.0.1/db",
            "BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
        }
    )
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.broker.kind == "rabbitmq"
    assert settings.security.secure_cookies


def test_a_sqlite_downgrade_keeps_the_rows_that_refer_to_a_rebuilt_table(tmp_path):
    """SQLite rebuilds ``tenants`` to drop a column; that must not cascade to debts."""
    import sqlite3

    url = f"sqlite+aiosqlite:///{tmp_path / 'keep.db'}"
    migrate.upgrade(url)
    with sqlite3.connect(tmp_path / "keep.db") as conn:
        tenant = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO tenants (id, slug, name, legal_name, cnpj, address, is_active, "
            "created_at, stripe_account, reminders_enabled) "
            "VALUES (?, 't', 'T', 'T Ltda', '11222333000181', '', 1, '2026-01-01', '', 0)",
            (tenant,),
        )
        conn.execute(
            "INSERT INTO portfolios (id, tenant_id, name, created_at) "
            "VALUES (?, ?, 'P', '2026-01-01')",
            (uuid.uuid4().hex, tenant),
        )
    migrate.downgrade(url, "0008")
    migrate.upgrade(url)
    with sqlite3.connect(tmp_path / "keep.db") as conn:
        assert conn.execute("SELECT count(*) FROM portfolios").fetchone() == (1,)
        # The default régua was given to the tenant that existed before it.
        assert conn.execute("SELECT count(*) FROM reminder_steps").fetchone() == (9,)


def test_policy_versions_migration_keeps_each_tenants_policy_as_version_1(tmp_path):
    # Issue 25 item 2: a tenant's policy of before the versions becomes its version 1;
    # tenants on the default policy get none, and agreements keep no version (NULL).
    import sqlite3

    from alembic.script import ScriptDirectory

    url = f"sqlite+aiosqlite:///{tmp_path / 'versions.db'}"
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    before = script.get_revision("0080_policy_versions").down_revision
    assert isinstance(before, str)
    migrate.upgrade(url, before)
    connection = sqlite3.connect(tmp_path / "versions.db")
    columns = connection.execute("PRAGMA table_info(tenants)").fetchall()
    ids = []
    for n, policy in enumerate(["name = 'própria'\n", None]):
        tenant_id = uuid.uuid4()
        ids.append(tenant_id)
        values: dict[str, object] = {
            "id": tenant_id.hex,
            "policy_toml": policy,
            "cnpj": f"{n:014d}",
            "slug": f"t{n}",
        }
        for _, name, kind, notnull, default, _pk in columns:
            if name not in values and notnull and default is None:
                values[name] = 0 if "INT" in kind or "BOOL" in kind else "2026-01-01 00:00:00"
        keys = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        # The column names come from the schema itself (PRAGMA), the values are bound.
        insert = f"INSERT INTO tenants ({keys}) VALUES ({marks})"  # noqa: S608
        connection.execute(insert, list(values.values()))
    connection.commit()
    connection.close()
    migrate.upgrade(url)
    connection = sqlite3.connect(tmp_path / "versions.db")
    rows = connection.execute(
        "SELECT tenant_id, number, toml, source FROM policy_versions"
    ).fetchall()
    connection.close()
    assert rows == [(ids[0].hex, 1, "name = 'própria'\n", "migration")]
