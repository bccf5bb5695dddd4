"""Reading a tenant's accounts: debtors, their contacts and debts (portal views)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.models import Agreement, Debt, DebtItem, Debtor, DebtStatus


class AccountNotFound(LookupError):
    """No such debtor or debt in the current tenant."""


@dataclass(frozen=True, slots=True)
class DebtorRow:
    """One line of the accounts list."""

    id: uuid.UUID
    name: str
    cpf: str
    state: str
    open_debts: int
    open_amount: int


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[DebtorRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def list_debtors(
    session: AsyncSession, *, query: str = "", page: int = 1, per_page: int = 25
) -> Page:
    """Debtors of the tenant with their open totals, by name, optionally filtered."""
    page = max(1, page)
    open_debt = (Debt.debtor_id == Debtor.id) & (Debt.status == DebtStatus.OPEN)
    stmt = (
        select(
            Debtor.id,
            Debtor.name,
            Debtor.cpf,
            Debtor.state,
            func.count(Debt.id),
            func.coalesce(func.sum(Debt.original_amount), 0),
        )
        .outerjoin(Debt, open_debt)
        .group_by(Debtor.id, Debtor.name, Debtor.cpf, Debtor.state)
        .order_by(Debtor.name, Debtor.id)
    )
    count_stmt = select(func.count()).select_from(Debtor)
    term = query.strip()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        conditions = [Debtor.name.ilike(f"%{term}%")]
        if len(digits) >= 3:
            conditions.append(Debtor.cpf.like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
        count_stmt = count_stmt.where(or_(*conditions))
    total = int(await session.scalar(count_stmt) or 0)
    result = await session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    rows = [
        DebtorRow(
            id=r[0], name=r[1], cpf=r[2], state=r[3], open_debts=int(r[4]), open_amount=int(r[5])
        )
        for r in result.all()
    ]
    return Page(rows=rows, total=total, page=page, per_page=per_page)


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
