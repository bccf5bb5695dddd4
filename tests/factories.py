"""Test data: tenants, staff and debtors made through the real services."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from collection.accounts.creditors import create_tenant
from collection.domain.documents import complete_cnpj, complete_cpf
from collection.models import Contact, ContactKind, Debt, DebtItem, Debtor, Handover, Portfolio
from core.db import Database, Scope
from core.security import keyed_hash
from core.settings import Settings
from tenants.models import Tenant, TenantMembership
from tenants.roles import Role
from tenants.services.directory import (
    add_agency_member,
    add_tenant_member,
    create_agency,
    ensure_user,
    grant_agency,
)

PASSWORD = "correct horse battery staple"


def valid_cpf(rng: random.Random) -> str:
    while True:
        body = "".join(str(rng.randrange(10)) for _ in range(9))
        if len(set(body)) > 1:
            return complete_cpf(body)


def valid_cnpj(rng: random.Random) -> str:
    return complete_cnpj("".join(str(rng.randrange(10)) for _ in range(8)) + "0001")


@dataclass
class TenantData:
    """A tenant with one user per role and its debtors, as created for a test."""

    tenant: Tenant
    users: dict[Role, str] = field(default_factory=dict)  # role → e-mail
    memberships: dict[Role, uuid.UUID] = field(default_factory=dict)
    debtor_ids: list[uuid.UUID] = field(default_factory=list)
    debt_ids: list[uuid.UUID] = field(default_factory=list)
    debtor_names: list[str] = field(default_factory=list)
    contracts: list[str] = field(default_factory=list)
    cpfs: list[str] = field(default_factory=list)
    portfolio_id: uuid.UUID | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id

    def all_ids(self) -> list[uuid.UUID]:
        return [
            *self.debtor_ids,
            *self.debt_ids,
            *self.memberships.values(),
            *([self.portfolio_id] if self.portfolio_id else []),
        ]


@dataclass
class TenantWorld:
    a: TenantData
    b: TenantData
    agency_users: dict[Role, str]
    shared_cpf: str
    agency_id: uuid.UUID
    # A second agent of the same agency (claims are contested between agents).
    second_agent: str = ""


async def make_tenant(
    db: Database, settings: Settings, rng: random.Random, label: str, shared_cpf: str
) -> TenantData:
    suffix = uuid.uuid4().hex[:8]
    async with db.session(Scope.system()) as session:
        tenant = await create_tenant(
            session,
            slug=f"{label}-{suffix}",
            name=f"Credor {label.upper()} {suffix}",
            legal_name=f"Credor {label.upper()} {suffix} Ltda.",
            cnpj=valid_cnpj(rng),
            address="Rua Teste, 1, São Paulo/SP",
        )
        tenant.stripe_account = f"acct_{label}_{suffix}"
        data = TenantData(tenant=tenant)
        for role in (Role.OWNER, Role.ADMIN, Role.ANALYST, Role.VIEWER):
            email = f"{role.value}-{label}-{suffix}@example.test"
            user = await ensure_user(
                session, email=email, name=f"{role.value.title()} {label}", password=PASSWORD
            )
            await session.flush()
            add_tenant_member(session, tenant, user, role)
            data.users[role] = email
        portfolio = Portfolio(id=uuid.uuid4(), tenant_id=tenant.id, name=f"Carteira {suffix}")
        session.add(portfolio)
        data.portfolio_id = portfolio.id
        for n in range(3):
            cpf = shared_cpf if n == 0 else valid_cpf(rng)
            name = f"Devedor{label.upper()}{suffix}N{n}"
            debtor = Debtor(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                cpf=cpf,
                cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
                name=name,
                birth_date=date(1980, 1, 1 + n),
                state="SP",
                city="São Paulo",
            )
            debtor.contacts.append(
                Contact(
                    tenant_id=tenant.id,
                    kind=ContactKind.EMAIL,
                    value=f"{name.lower()}@example.test",
                )
            )
            session.add(debtor)
            contract = f"CT-{label.upper()}-{suffix}-{n}"
            due = date(2026, 1, 10) - timedelta(days=30 * n)
            debt = Debt(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                portfolio_id=portfolio.id,
                debtor=debtor,
                contract=contract,
                product="Cartão",
                original_amount=150_000,
                due_date=due,
                items=[DebtItem(tenant_id=tenant.id, number=1, due_date=due, amount=150_000)],
            )
            session.add(debt)
            data.debtor_ids.append(debtor.id)
            data.debt_ids.append(debt.id)
            data.debtor_names.append(name)
            data.contracts.append(contract)
            data.cpfs.append(cpf)
        await session.commit()
    async with db.session(Scope.tenant(tenant.id)) as session:
        from sqlalchemy import select

        rows = await session.execute(select(TenantMembership.role, TenantMembership.id))
        data.memberships = {Role(r): i for r, i in rows.all()}
    return data


async def make_world(db: Database, settings: Settings) -> TenantWorld:
    rng = random.Random()
    shared = valid_cpf(rng)
    a = await make_tenant(db, settings, rng, "a", shared)
    b = await make_tenant(db, settings, rng, "b", shared)
    suffix = uuid.uuid4().hex[:8]
    agency_users: dict[Role, str] = {}
    async with db.session(Scope.system()) as session:
        agency = await create_agency(
            session, slug=f"ag-{suffix}", name=f"Assessoria {suffix}", cnpj=valid_cnpj(rng)
        )
        await session.flush()
        tenant_a = await session.get_one(Tenant, a.id)
        grant_agency(session, tenant_a, agency)
        for role in (Role.SUPERVISOR, Role.AGENT):
            email = f"{role.value}-ag-{suffix}@example.test"
            user = await ensure_user(
                session, email=email, name=f"{role.value} agência", password=PASSWORD
            )
            await session.flush()
            add_agency_member(session, agency, user, role)
            agency_users[role] = email
        second = f"agent2-ag-{suffix}@example.test"
        user = await ensure_user(session, email=second, name="agent 2 agência", password=PASSWORD)
        await session.flush()
        add_agency_member(session, agency, user, Role.AGENT)
        await session.commit()
    return TenantWorld(
        a=a,
        b=b,
        agency_users=agency_users,
        shared_cpf=shared,
        agency_id=agency.id,
        second_agent=second,
    )


async def hand_over(
    db: Database,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    agency_id: uuid.UUID,
    *,
    commission_rate: str = "0.10",
    score: int = 0,
) -> uuid.UUID:
    """Place one account with an agency directly (tests of the queue and the account view)."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        handover = Handover(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            debtor_id=debtor_id,
            agency_id=agency_id,
            commission_rate=commission_rate,
            handed_over_at=datetime.now(UTC),
            score=score,
        )
        session.add(handover)
        await session.commit()
        return handover.id
