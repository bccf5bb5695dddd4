"""PostgreSQL row-level security: the SQL the migrations run for tenant-owned tables.

Defence in depth behind the session's automatic criteria (``core.tenancy``): the app
works as the ``quita_app`` role, which is not exempt from the policies, and each
transaction sets ``quita.scope`` and ``quita.tenant_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.tenancy import APP_ROLE

ROLE_SQL = [
    f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END
    $$
    """,
    f"""
    DO $$
    BEGIN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    EXCEPTION WHEN others THEN NULL;
    END
    $$
    """,
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
]

_RULE = (
    "current_setting('quita.scope', true) = 'system' "
    "OR tenant_id = NULLIF(current_setting('quita.tenant_id', true), '')::uuid"
)


def enable_sql(table: str) -> list[str]:
    """Statements that put ``table`` under the tenant isolation policy."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({_RULE}) WITH CHECK ({_RULE})",
    ]


def disable_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def protect(op: Any, tables: Sequence[str], *, create_role: bool = False) -> None:
    """In a migration's upgrade: put ``tables`` under the policy (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in ROLE_SQL if create_role else []:
        op.execute(statement)
    for table in tables:
        for statement in enable_sql(table):
            op.execute(statement)


def unprotect(op: Any, tables: Sequence[str]) -> None:
    """In a migration's downgrade: the reverse of ``protect``."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        for statement in disable_sql(table):
            op.execute(statement)
