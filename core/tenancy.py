"""Tenant scoping, applied in one place for every query.

Every tenant-owned table mixes in ``TenantOwned``. A session opened with
``Scope.tenant(t)`` gets ``tenant_id = t`` added to every ORM select, update and delete
that touches such a table (``with_loader_criteria``), and new rows are stamped with
``t`` (a row for another tenant is refused). A ``Scope.system()`` session sees
everything: it is used by the debtor site (which filters by the verified CPF), the
workers and the CLI. A session with no scope at all refuses to query.

On PostgreSQL the same rule is repeated by row-level security: each transaction runs as
the ``quita_app`` role with ``quita.tenant_id`` / ``quita.scope`` set locally, and the
policies created by the migrations compare each row with them.

Agency staff working in a creditor's portal get ``Scope.tenant(t, agency_id=a)``: on top
of the tenant rule, every query sees only the accounts ``t`` handed over to ``a``. The
rule itself belongs to the collection area (it knows what an account is), which
registers it here with ``register_agency_rule``; without a registered rule an agency
scope refuses to query, so a missing rule never means "everything".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ForeignKey, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    LoaderCriteriaOption,
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from core.db import Scope

APP_ROLE = "quita_app"


class TenantScopeError(RuntimeError):
    """A query or a write that would cross the tenant boundary."""


class TenantOwned:
    """Mixin of every table that belongs to one tenant."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


AgencyRule = Callable[[uuid.UUID, uuid.UUID], Sequence[LoaderCriteriaOption]]
# Whether rows about to be written all belong to accounts visible in the session's scope.
AgencyWriteCheck = Callable[[Session, Sequence[TenantOwned]], bool]
_agency_rules: list[AgencyRule] = []
_agency_write_checks: list[AgencyWriteCheck] = []


def register_agency_rule(rule: AgencyRule) -> AgencyRule:
    """Register the criteria of an agency scope: ``rule(tenant_id, agency_id)`` returns
    the loader criteria that keep a query to the accounts handed over to the agency."""
    if rule not in _agency_rules:
        _agency_rules.append(rule)
    return rule


def register_agency_write_check(check: AgencyWriteCheck) -> AgencyWriteCheck:
    """Register the check run before an agency scope writes: ``check(session, rows)`` is
    False when a row is tied to an account the scope does not see (defence in depth
    behind the criteria: a service that writes by id without reading is refused too)."""
    if check not in _agency_write_checks:
        _agency_write_checks.append(check)
    return check


def agency_criteria(tenant_id: uuid.UUID, agency_id: uuid.UUID) -> list[LoaderCriteriaOption]:
    """Every registered agency criterion; refuses when none is registered."""
    if not _agency_rules:
        raise TenantScopeError("agency scope without a registered account rule")
    return [option for rule in _agency_rules for option in rule(tenant_id, agency_id)]


def session_scope(session: Session) -> Scope:
    scope = session.info.get("scope")
    if not isinstance(scope, Scope):
        raise TenantScopeError("session opened without a scope")
    return scope


@event.listens_for(Session, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        # The parent statement already carried the criteria (propagated to loaders).
        return
    scope = session_scope(state.session)
    if scope.is_system:
        return
    tenant_id = scope.tenant_id
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )
    if scope.agency_id is not None and tenant_id is not None:
        state.statement = state.statement.options(*agency_criteria(tenant_id, scope.agency_id))


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    scope = session_scope(session)
    if scope.is_system:
        return
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantOwned):
            continue
        current = obj.tenant_id
        if current is None:
            obj.tenant_id = scope.tenant_id  # type: ignore[assignment]
        elif current != scope.tenant_id:
            raise TenantScopeError("write to another tenant's row refused")
    if scope.agency_id is not None:
        rows = [o for o in list(session.new) + list(session.dirty) if isinstance(o, TenantOwned)]
        if rows and not _agency_write_checks:
            raise TenantScopeError("agency scope without a registered write check")
        for check in _agency_write_checks if rows else []:
            if not check(session, rows):
                raise TenantScopeError("write to an account not handed over to the agency refused")


_RLS_SETTINGS = text(
    "SELECT set_config('role', :role, true), set_config('quita.scope', :scope, true), "
    "set_config('quita.tenant_id', :tenant, true)"
)


def rls_settings_literal(scope: Scope) -> str:
    """The statement of ``_RLS_SETTINGS`` with its values written in (for a transaction
    opened on the driver's connection): a role name, a scope word and a UUID only."""
    tenant = "" if scope.tenant_id is None else str(uuid.UUID(str(scope.tenant_id)))
    kind = "system" if scope.is_system else "tenant"
    return (
        f"SELECT set_config('role', '{APP_ROLE}', true), "
        f"set_config('quita.scope', '{kind}', true), "
        f"set_config('quita.tenant_id', '{tenant}', true)"
    )


@event.listens_for(Session, "after_begin")
def _postgres_rls_settings(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name != "postgresql":
        return
    scope = session_scope(session)
    # One round trip: set_config('role', ..., true) is SET LOCAL ROLE.
    connection.execute(
        _RLS_SETTINGS,
        {
            "role": APP_ROLE,
            "scope": "system" if scope.is_system else "tenant",
            "tenant": "" if scope.tenant_id is None else str(scope.tenant_id),
        },
    )
