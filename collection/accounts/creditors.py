"""Opening a creditor: its tenant row and what every creditor starts with.

The default régua is added here, by an explicit call, instead of by a session hook that
worked only where some module happened to import it (issue 18).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from collection.regua.defaults import add_default_regua
from tenants.models import Tenant
from tenants.services import directory


async def create_tenant(
    session: AsyncSession, *, slug: str, name: str, legal_name: str, cnpj: str, address: str
) -> Tenant:
    """Register a creditor company (system scope) with the default régua, switched off.
    The CNPJ must be valid (``DirectoryError`` names the field otherwise)."""
    tenant = await directory.create_tenant_row(
        session, slug=slug, name=name, legal_name=legal_name, cnpj=cnpj, address=address
    )
    await session.flush()  # the steps refer to the tenant's row
    add_default_regua(session, tenant.id)
    return tenant
