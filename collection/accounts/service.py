"""Reading a tenant's accounts: debtors, their contacts and debts (portal views)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.models import Agreement, Debt, DebtItem, Debtor, DebtStatus


class AccountNotFound(LookupError):
    """No such debtor or debt in the current tenant."""


async def get_debtor(session: AsyncSession, debtor_id: uuid.UUID) -> Debtor:
    """A debtor of the current tenant with contacts and debts, or AccountNotFound."""
    debtor = await session.scalar(
        select(Debtor)
        .where(Debtor.id == debtor_id)
        .options(
            selectinload(Debtor.contacts),
            selectinload(Debtor.debts).selectinload(Debt.items),
            selectinload(Debtor.debts).selectinload(Debt.portfolio),
        )
    )
    if debtor is None:
        raise AccountNotFound(debtor_id)
    return debtor


async def agreements_of_debtor(session: AsyncSession, debtor_id: uuid.UUID) -> Sequence[Agreement]:
    """The debtor's agreements at the current tenant, newest first, with installments."""
    rows = await session.scalars(
        select(Agreement)
        .where(Agreement.debtor_id == debtor_id)
        .options(selectinload(Agreement.installments))
        .order_by(Agreement.created_at.desc())
    )
    return rows.all()


async def get_debt(session: AsyncSession, debt_id: uuid.UUID) -> Debt:
    """A debt of the current tenant with its installments, or AccountNotFound."""
    debt = await session.scalar(
        select(Debt)
        .where(Debt.id == debt_id)
        .options(selectinload(Debt.items), selectinload(Debt.debtor), selectinload(Debt.portfolio))
    )
    if debt is None:
        raise AccountNotFound(debt_id)
    return debt


async def portfolio_totals(session: AsyncSession) -> dict[str, int]:
    """Headline numbers for the tenant's home page."""
    debtors = await session.scalar(select(func.count()).select_from(Debtor))
    open_count, open_amount = (
        await session.execute(
            select(func.count(Debt.id), func.coalesce(func.sum(Debt.original_amount), 0)).where(
                Debt.status == DebtStatus.OPEN
            )
        )
    ).one()
    items = await session.scalar(select(func.count()).select_from(DebtItem))
    return {
        "debtors": int(debtors or 0),
        "open_debts": int(open_count),
        "open_amount": int(open_amount),
        "installments": int(items or 0),
    }
