"""PostgreSQL row-level security: the SQL the migrations run for tenant-owned tables.

Defence in depth behind the session's automatic criteria (``core.tenancy``): the app
works as the ``quita_app`` role, which is not exempt from the policies, and each
transaction sets ``quita.scope`` and ``quita.tenant_id``.
"""

from __future__ import annotations

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
