"""What an agency may see: the accounts handed to it by tenants that still grant it access.

Agency pages work across tenants, so they use a system-scope session and every query
goes through these helpers, which add the two conditions (handed to this agency, and a
live grant from the account's tenant). Anything else answers "not found".
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import Handover, HandoverStatus
from collection.services.accounts import AccountNotFound
from tenants.models import AgencyGrant


def granted_tenants(agency_id: uuid.UUID) -> Select[uuid.UUID]:
    """The tenants that grant ``agency_id`` access (a subquery)."""
    return select(AgencyGrant.tenant_id).where(AgencyGrant.agency_id == agency_id)


def agency_handovers(agency_id: uuid.UUID) -> Select[Handover]:
    """The active hand-overs ``agency_id`` may work, for callers to filter and order."""
    return select(Handover).where(
        Handover.agency_id == agency_id,
        Handover.status == HandoverStatus.ACTIVE,
        Handover.tenant_id.in_(granted_tenants(agency_id)),
    )


async def handover_for_agency(
    session: AsyncSession, agency_id: uuid.UUID, handover_id: uuid.UUID
) -> Handover:
    """The hand-over, if the agency may work it; ``AccountNotFound`` otherwise."""
    handover = await session.scalar(agency_handovers(agency_id).where(Handover.id == handover_id))
    if handover is None:
        raise AccountNotFound(str(handover_id))
    return handover
