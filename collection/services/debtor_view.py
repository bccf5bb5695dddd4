"""What a verified person sees: every debt of their CPF across creditors, itemised, and
each creditor's offers from its negotiation policy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collection.domain import valuation as v
from collection.domain.documents import format_cnpj
from collection.domain.offers import Offer, make_offers
from collection.domain.policy import NegotiationPolicy
from collection.domain.policy_file import load_policy_toml
from collection.models import Debt, Debtor, DebtStatus
from collection.services.disputes import disputed_debt_ids
from core.db import Database, Scope
from tenants.models import Tenant

DEFAULT_POLICY = Path(__file__).with_name("default_policy.toml")


@dataclass(frozen=True, slots=True)
class DebtView:
    id: uuid.UUID
    contract: str
    product: str
    due_date: date
    original_amount: int
    status: DebtStatus
    valuation: v.Valuation | None  # None for a debt that is no longer open
    disputed: bool = False

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
    offers: list[Offer] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(d.valuation.total for d in self.debts if d.valuation is not None)


@lru_cache(maxsize=256)
def _parse_policy(text: str) -> NegotiationPolicy:
    return load_policy_toml(text)


def policy_of(tenant: Tenant) -> NegotiationPolicy:
    """The tenant's negotiation policy (charges and offers), or the platform default."""
    return _parse_policy(tenant.policy_toml or DEFAULT_POLICY.read_text(encoding="utf-8"))


async def debts_of_person(db: Database, cpf_hash: str, on: date) -> list[CreditorView]:
    """Every debt of the CPF at every creditor; open ones valued on ``on`` and offered."""
    creditors: dict[uuid.UUID, CreditorView] = {}
    open_debts: dict[uuid.UUID, list[v.Debt]] = {}
    policies: dict[uuid.UUID, NegotiationPolicy] = {}
    async with db.session(Scope.system()) as session:
        rows = await session.execute(
            select(Debt, Tenant)
            .join(Debtor, Debtor.id == Debt.debtor_id)
            .join(Tenant, Tenant.id == Debt.tenant_id)
            .where(Debtor.cpf_hash == cpf_hash, Tenant.is_active.is_(True))
            .options(selectinload(Debt.items))
            .order_by(Tenant.name, Debt.due_date)
        )
        found = rows.all()
        frozen = await disputed_debt_ids(session, [debt.id for debt, _ in found])
        for debt, tenant in found:
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
            policy = policies.setdefault(tenant.id, policy_of(tenant))
            valuation = None
            if debt.status == DebtStatus.OPEN and debt.items:
                domain_debt = v.Debt(
                    reference=debt.contract,
                    items=tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items),
                )
                valuation = v.valuate(domain_debt, on, terms=policy.charges)
                if debt.id not in frozen:  # a disputed debt is not offered until answered
                    open_debts.setdefault(tenant.id, []).append(domain_debt)
            view.debts.append(
                DebtView(
                    id=debt.id,
                    contract=debt.contract,
                    product=debt.product,
                    due_date=debt.due_date,
                    original_amount=debt.original_amount,
                    status=debt.status,
                    valuation=valuation,
                    disputed=debt.id in frozen,
                )
            )
    for tenant_id, debts in open_debts.items():
        # Prescribed debts are left out of offers: nothing here may push their collection.
        creditors[tenant_id].offers = make_offers(debts, policies[tenant_id], on)
    return list(creditors.values())
