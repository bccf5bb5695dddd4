"""Creating tenants, agencies, grants and users (platform administration, demo, tests)."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.documents import InvalidDocument, normalize_cnpj
from core.i18n import gettext as _
from core.security import hash_password
from tenants.models import Agency, AgencyGrant, AgencyMembership, Tenant, TenantMembership, User
from tenants.roles import Role

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")


class DirectoryError(ValueError):
    """Invalid data for a tenant, agency or user; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def create_tenant_row(
    session: AsyncSession, *, slug: str, name: str, legal_name: str, cnpj: str, address: str
) -> Tenant:
    """Register a creditor company's row (system scope). The CNPJ must be valid. A creditor
    is opened by ``collection.accounts.creditors.create_tenant``, which adds what every
    creditor starts with."""
    if not _SLUG.match(slug):
        raise DirectoryError("slug", _("Use lower-case letters, digits and hyphens (3 to 60)."))
    try:
        cnpj = normalize_cnpj(cnpj)
    except InvalidDocument as exc:
        raise DirectoryError("cnpj", str(exc)) from exc
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        raise DirectoryError("slug", _("A creditor with this identifier already exists."))
    if await session.scalar(select(Tenant.id).where(Tenant.cnpj == cnpj)):
        raise DirectoryError("cnpj", _("A creditor with this CNPJ already exists."))
    tenant = Tenant(
        id=uuid.uuid4(), slug=slug, name=name, legal_name=legal_name, cnpj=cnpj, address=address
    )
    session.add(tenant)
    return tenant


async def create_agency(session: AsyncSession, *, slug: str, name: str, cnpj: str) -> Agency:
    """Register a collection agency (system scope)."""
    try:
        cnpj = normalize_cnpj(cnpj)
    except InvalidDocument as exc:
        raise DirectoryError("cnpj", str(exc)) from exc
    agency = Agency(id=uuid.uuid4(), slug=slug, name=name, cnpj=cnpj)
    session.add(agency)
    return agency


def grant_agency(
    session: AsyncSession, tenant: Tenant, agency: Agency, commission_rate: str = "0"
) -> AgencyGrant:
    """Let an agency work a tenant's accounts."""
    grant = AgencyGrant(tenant_id=tenant.id, agency_id=agency.id, commission_rate=commission_rate)
    session.add(grant)
    return grant


async def ensure_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str | None = None,
    platform_admin: bool = False,
) -> User:
    """Find a user by e-mail or create one (without a password unless given)."""
    email = email.strip().lower()
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            id=uuid.uuid4(),
            email=email,
            name=name,
            password_hash=hash_password(password) if password else None,
            is_platform_admin=platform_admin,
        )
        session.add(user)
    return user


def add_tenant_member(session: AsyncSession, tenant: Tenant, user: User, role: Role) -> None:
    if not role.is_tenant_role:
        raise DirectoryError("role", _("Invalid role for a creditor."))
    session.add(TenantMembership(tenant_id=tenant.id, user_id=user.id, role=role))


def add_agency_member(session: AsyncSession, agency: Agency, user: User, role: Role) -> None:
    if not role.is_agency_role:
        raise DirectoryError("role", _("Invalid role for an agency."))
    session.add(AgencyMembership(agency_id=agency.id, user_id=user.id, role=role))
