"""What a verified person sees: every debt of their CPF, across creditors, itemised."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collection.domain import valuation as v
from collection.domain.documents import format_cnpj
from collection.models import Debt, Debtor, DebtStatus
from core.db import Database, Scope
from tenants.models import Tenant

OPEN = (DebtStatus.OPEN,)


@dataclass(frozen=True, slots=True)
class DebtView:
    id: uuid.UUID
    contract: str
    product: str
    due_date: date
    original_amount: int
    status: DebtStatus
    valuation: v.Valuation | None  # None for a debt that is no longer open

    @property
    def prescribed(self) -> bool:
        return self.valuation is not None and self.valuation.is_prescribed


@dataclass
class CreditorView:
    tenant_id: uuid.UUID
    name: str
    legal_name: str
    cnpj: str
    address: str
    debts: list[DebtView] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(d.valuation.total for d in self.debts if d.valuation is not None)


def terms_of(tenant: Tenant) -> v.ContractTerms:
    """The tenant's contractual charges, checked against the legal caps by the domain."""
    return v.ContractTerms(
        late_fee_rate=Decimal(tenant.late_fee_rate),
        late_interest_monthly=(
            Decimal(tenant.late_interest_monthly) if tenant.late_interest_monthly else None
        ),
    )


async def debts_of_person(db: Database, cpf_hash: str, on: date) -> list[CreditorView]:
    """Every debt of the CPF at every creditor, open ones valued on ``on``."""
    async with db.session(Scope.system()) as session:
        rows = await session.execute(
            select(Debt, Tenant)
            .join(Debtor, Debtor.id == Debt.debtor_id)
            .join(Tenant, Tenant.id == Debt.tenant_id)
            .where(Debtor.cpf_hash == cpf_hash, Tenant.is_active.is_(True))
            .options(selectinload(Debt.items))
            .order_by(Tenant.name, Debt.due_date)
        )
        creditors: dict[uuid.UUID, CreditorView] = {}
        for debt, tenant in rows.all():
            view = creditors.setdefault(
                tenant.id,
                CreditorView(
                    tenant_id=tenant.id,
                    name=tenant.name,
                    legal_name=tenant.legal_name,
                    cnpj=format_cnpj(tenant.cnpj),
                    address=tenant.address,
                ),
            )
            valuation = None
            if debt.status in OPEN and debt.items:
                valuation = v.valuate(
                    v.Debt(
                        reference=debt.contract,
                        items=tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items),
                    ),
                    on,
                    terms=terms_of(tenant),
                )
            view.debts.append(
                DebtView(
                    id=debt.id,
                    contract=debt.contract,
                    product=debt.product,
                    due_date=debt.due_date,
                    original_amount=debt.original_amount,
                    status=debt.status,
                    valuation=valuation,
                )
            )
    return list(creditors.values())
