"""What an agency may see: the accounts handed to it by tenants that still grant it access.

One rule, two doors. Agency pages work across tenants, so they use a system-scope
session and every query goes through ``agency_handovers`` / ``handover_for_agency``.
Agency staff working *inside* a creditor's portal (or anything else that opens
``Scope.tenant(t, agency_id=a)``) get the same rule added by the session to every query
(``core.tenancy``): rows of accounts ``t`` did not hand over to ``a`` do not exist there,
so reads leave them out and writes answer "not found". A tenant-owned table this module
does not know is hidden entirely from an agency scope (fail closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    InstrumentedAttribute,
    LoaderCriteriaOption,
    Session,
    with_loader_criteria,
)

from collection.accounts.service import AccountNotFound
from collection.models import (
    Agreement,
    Debt,
    Debtor,
    Escalation,
    Handover,
    HandoverStatus,
    NoticeBatch,
    Portfolio,
    ReminderStep,
)
from core.db import Base
from core.tenancy import TenantOwned, register_agency_rule, register_agency_write_check
from tenants.models import AgencyGrant

# Tenant reference data an agency may read while working the tenant's accounts: the
# portfolio names and the régua the accounts follow. No personal data, no settings.
REFERENCE_TABLES: tuple[type[TenantOwned], ...] = (Portfolio, ReminderStep)


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


def handed_over_debtors(tenant_id: uuid.UUID, agency_id: uuid.UUID) -> Select[uuid.UUID]:
    """The accounts (debtor ids) of ``tenant_id`` that ``agency_id`` may see and work."""
    return select(Handover.debtor_id).where(
        Handover.tenant_id == tenant_id,
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


def _tenant_owned_classes() -> list[type[TenantOwned]]:
    found = [m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)]
    return sorted(found, key=lambda cls: cls.__name__)


def _criterion(
    cls: type[TenantOwned], tenant_id: uuid.UUID, agency_id: uuid.UUID
) -> ColumnElement[bool]:
    """Which rows of ``cls`` an agency scope sees: those of a handed-over account."""
    debtors = handed_over_debtors(tenant_id, agency_id)
    debts = select(Debt.id).where(Debt.debtor_id.in_(debtors))
    if cls is Debtor:
        return Debtor.id.in_(debtors)
    if cls is Handover:
        return Handover.agency_id == agency_id
    if cls is AgencyGrant:
        return AgencyGrant.agency_id == agency_id
    if cls is NoticeBatch:
        return NoticeBatch.id.in_(select(Escalation.batch_id).where(Escalation.debt_id.in_(debts)))
    if cls in REFERENCE_TABLES:
        return cls.tenant_id == tenant_id
    # By the column that ties a row to an account, nearest first.
    agreements = select(Agreement.id).where(Agreement.debtor_id.in_(debtors))
    links: tuple[tuple[str, Select[uuid.UUID]], ...] = (
        ("debtor_id", debtors),
        ("debt_id", debts),
        ("agreement_id", agreements),
    )
    for name, allowed in links:
        column: InstrumentedAttribute[uuid.UUID] | None = getattr(cls, name, None)
        if column is not None:
            return column.in_(allowed)
    return false()


@register_agency_rule
def handed_over_only(tenant_id: uuid.UUID, agency_id: uuid.UUID) -> Sequence[LoaderCriteriaOption]:
    """The loader criteria of ``Scope.tenant(tenant_id, agency_id=agency_id)``."""
    return [
        with_loader_criteria(cls, _criterion(cls, tenant_id, agency_id), include_aliases=True)
        for cls in _tenant_owned_classes()
    ]


# The account a row is tied to, by the column that names it.
_ACCOUNT_LINKS: tuple[tuple[str, type[Debtor] | type[Debt] | type[Agreement]], ...] = (
    ("debtor_id", Debtor),
    ("debt_id", Debt),
    ("agreement_id", Agreement),
)


@register_agency_write_check
def writes_handed_over_only(session: Session, rows: Sequence[TenantOwned]) -> bool:
    """Every row an agency scope writes that names a debtor, debt or agreement names one
    the scope can see (the session's criteria answer the look-up)."""
    wanted: dict[type[Debtor] | type[Debt] | type[Agreement], set[uuid.UUID]] = {}
    for row in rows:
        if isinstance(row, Debtor):
            wanted.setdefault(Debtor, set()).add(row.id)
        for name, model in _ACCOUNT_LINKS:
            value = getattr(row, name, None)
            if isinstance(value, uuid.UUID):
                wanted.setdefault(model, set()).add(value)
    with session.no_autoflush:
        for model, ids in wanted.items():
            seen = set(session.scalars(select(model.id).where(model.id.in_(ids))))
            if not ids <= seen:
                return False
    return True
