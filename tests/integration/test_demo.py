"""Demo data: two creditors, an agency with a grant, staff of every role, debtors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from collection.accounts.creditors import create_tenant
from collection.domain.documents import is_valid_cpf
from collection.models import Debt, Debtor, Handover
from core.db import Database, Scope
from quita import migrate
from quita.demo import load_demo
from tenants.models import AgencyGrant, AgencyMembership, Tenant, TenantMembership
from tenants.roles import Role
from tenants.services.directory import DirectoryError
from tests.conftest import make_settings


async def test_demo_load_creates_the_documented_world_once(tmp_path, capsys):
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = make_settings(url, tmp_path)
    assert await load_demo(settings, debtors=220) == 0
    first = capsys.readouterr().out
    assert "dona@loja-exemplo.test" in first and "agente@assessoria-exemplo.test" in first
    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            slugs = set((await session.scalars(select(Tenant.slug))).all())
            assert slugs == {"loja-exemplo", "telecom-exemplo"}
            roles = set((await session.scalars(select(TenantMembership.role))).all())
            roles |= set((await session.scalars(select(AgencyMembership.role))).all())
            assert roles == set(Role)
            assert await session.scalar(select(func.count()).select_from(AgencyGrant)) == 1
            cpfs = (await session.execute(select(Debtor.cpf, Debtor.tenant_id))).all()
            assert all(is_valid_cpf(cpf) for cpf, _ in cpfs)
            people = {cpf for cpf, _ in cpfs}
            assert len(people) == 220
            both = [cpf for cpf in people if sum(1 for c, _ in cpfs if c == cpf) == 2]
            assert len(both) > 30 and "11144477735" in both
            debts = await session.scalar(select(func.count()).select_from(Debt))
            assert debts is not None and debts > len(cpfs)
            # The agency's queue has the accounts the demo rule hands over (> 120 days).
            handed = await session.scalar(select(func.count()).select_from(Handover))
            assert handed is not None and handed > 0
        assert await load_demo(settings) == 0  # again: nothing changes
        assert "já carregados" in capsys.readouterr().out
        async with db.session(Scope.system()) as session:
            assert await session.scalar(select(func.count()).select_from(Debtor)) == len(cpfs)
    finally:
        await db.dispose()


async def test_a_tenant_needs_a_valid_cnpj(db):
    async with db.session(Scope.system()) as session:
        with pytest.raises(DirectoryError) as error:
            await create_tenant(
                session,
                slug="cnpj-ruim",
                name="X",
                legal_name="X Ltda.",
                cnpj="11.222.333/0001-82",
                address="",
            )
    assert error.value.field == "cnpj"
