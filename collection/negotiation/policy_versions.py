"""Publishing a tenant's negotiation policy as an immutable, numbered, audited version.

Every way in (the portal's editor, the API, a file) ends in ``publish``, which checks the
text with the one reader of policy files (``load_policy_toml``: the same rules, the same
field paths in its errors) and, only when it is valid, adds the next version and makes
it the tenant's policy, in the caller's unit of work. Versions are never changed or
deleted; the agreement made from an offer records the version in force
(``current_version_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.debtor.page import DEFAULT_POLICY
from collection.domain.errors import PolicyError
from collection.domain.policy import NegotiationPolicy
from collection.domain.policy_file import load_policy_toml
from tenants.models import PolicyVersion, Tenant
from tenants.services import audit
from tenants.services.audit import Actor

__all__ = [
    "CurrentPolicy",
    "PolicyError",
    "current",
    "current_version_id",
    "numbers",
    "publish",
    "version",
    "versions",
]


@dataclass(frozen=True, slots=True)
class CurrentPolicy:
    """The policy in force: its text, its reading, and its version (None: the default)."""

    toml: str
    policy: NegotiationPolicy
    version: PolicyVersion | None
    is_default: bool


async def versions(session: AsyncSession, tenant_id: uuid.UUID) -> list[PolicyVersion]:
    """Every published version of the tenant's policy, newest first."""
    rows = await session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.tenant_id == tenant_id)
        .order_by(PolicyVersion.number.desc())
    )
    return list(rows.all())


async def numbers(session: AsyncSession, ids: Collection[uuid.UUID | None]) -> dict[uuid.UUID, int]:
    """The number of each version among ``ids`` (Nones ignored), for listing agreements."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(PolicyVersion.id, PolicyVersion.number).where(PolicyVersion.id.in_(wanted))
    )
    return {row[0]: row[1] for row in rows}


async def version(session: AsyncSession, tenant_id: uuid.UUID, number: int) -> PolicyVersion:
    """One version by its number; LookupError when the tenant has no such version."""
    found = await session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.tenant_id == tenant_id, PolicyVersion.number == number
        )
    )
    if found is None:
        raise LookupError(number)
    return found


async def _latest(session: AsyncSession, tenant_id: uuid.UUID) -> PolicyVersion | None:
    found: PolicyVersion | None = await session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.tenant_id == tenant_id)
        .order_by(PolicyVersion.number.desc())
        .limit(1)
    )
    return found


async def current_version_id(session: AsyncSession, tenant: Tenant) -> uuid.UUID | None:
    """The id of the version in force, or None when the tenant uses the default policy."""
    if tenant.policy_toml is None:
        return None
    latest = await _latest(session, tenant.id)
    # A policy set outside ``publish`` (none should be) is not claimed as a version.
    return latest.id if latest is not None and latest.toml == tenant.policy_toml else None


async def current(session: AsyncSession, tenant_id: uuid.UUID) -> CurrentPolicy:
    """The tenant's policy in force, read, with its version."""
    tenant = await session.get_one(Tenant, tenant_id)
    text = tenant.policy_toml or DEFAULT_POLICY.read_text(encoding="utf-8")
    latest = await _latest(session, tenant_id) if tenant.policy_toml is not None else None
    if latest is not None and latest.toml != tenant.policy_toml:
        latest = None
    return CurrentPolicy(text, load_policy_toml(text), latest, tenant.policy_toml is None)


async def _next_number(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    latest = await session.scalar(
        select(func.max(PolicyVersion.number)).where(PolicyVersion.tenant_id == tenant_id)
    )
    return (latest or 0) + 1


async def publish(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    toml: str,
    by: Actor,
    *,
    source: str,
) -> PolicyVersion:
    """Check ``toml`` and, when valid, make it the next version and the tenant's policy,
    audited. Raises PolicyError (naming the field) and changes nothing otherwise; the
    caller commits. Two publishes at once cannot take the same number (unique key)."""
    load_policy_toml(toml)
    tenant = await session.get_one(Tenant, tenant_id)
    number = await _next_number(session, tenant_id)
    row = PolicyVersion(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        number=number,
        toml=toml,
        published_by=by.user_id,
        published_by_label=by.label[:254],
        source=source[:20],
    )
    session.add(row)
    tenant.policy_toml = toml
    await session.flush()
    audit.record(
        session,
        by,
        "policy.published",
        target=str(row.id),
        tenant_id=tenant_id,
        details={"version": number, "source": row.source},
    )
    return row
