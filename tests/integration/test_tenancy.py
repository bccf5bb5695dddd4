"""Tenant scoping in one place, and PostgreSQL row-level security behind it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text, update

from collection.models import Debt, Debtor
from core.db import Scope
from core.tenancy import TenantScopeError


async def test_a_tenant_session_sees_only_its_own_rows(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        names = set((await session.scalars(select(Debtor.name))).all())
        assert set(world.a.debtor_names) <= names
        assert not names & set(world.b.debtor_names)
        # Even by primary key, even through a join.
        assert (
            await session.scalar(select(Debtor).where(Debtor.id == world.b.debtor_ids[0])) is None
        )
        joined = await session.scalar(
            select(func.count())
            .select_from(Debt)
            .join(Debtor)
            .where(Debtor.cpf == world.shared_cpf)
        )
        assert joined == 1


async def test_session_get_does_not_cross_tenants(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.get(Debtor, world.b.debtor_ids[0]) is None


async def test_orm_updates_are_scoped_too(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(update(Debtor).values(state="RJ"))
        await session.commit()
    async with db.session(Scope.tenant(world.b.id)) as session:
        states = set((await session.scalars(select(Debtor.state))).all())
    assert states == {"SP"}


async def test_writing_a_row_of_another_tenant_is_refused(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(
            Debtor(
                id=uuid.uuid4(),
                tenant_id=world.b.id,
                cpf="11144477735",
                cpf_hash="x" * 64,
                name="Intruso",
            )
        )
        with pytest.raises(TenantScopeError):
            await session.flush()


async def test_new_rows_are_stamped_with_the_current_tenant(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        debtor = Debtor(id=uuid.uuid4(), cpf="11144477735", cpf_hash="y" * 64, name="Novo")
        session.add(debtor)
        await session.flush()
        assert debtor.tenant_id == world.a.id


async def test_a_session_without_scope_refuses_to_query(db):
    async with db.session(None) as session:  # type: ignore[arg-type]
        with pytest.raises(TenantScopeError):
            await session.execute(select(Debtor))


async def test_row_level_security_repeats_the_rule_on_postgresql(db, world):
    if not db.is_postgres:
        pytest.skip("row-level security is a PostgreSQL feature")
    async with db.session(Scope.tenant(world.a.id)) as session:
        # Raw SQL bypasses the ORM criteria; the database still filters.
        names = set((await session.execute(text("SELECT name FROM debtors"))).scalars().all())
        assert set(world.a.debtor_names) <= names
        assert not names & set(world.b.debtor_names)
        with pytest.raises(Exception, match="row-level security"):
            await session.execute(
                text(
                    "INSERT INTO portfolios (id, tenant_id, name, created_at) "
                    "VALUES (:id, :tenant, 'x', now())"
                ),
                {"id": uuid.uuid4(), "tenant": world.b.id},
            )


async def test_every_tenant_owned_table_has_row_level_security(db):
    if not db.is_postgres:
        pytest.skip("row-level security is a PostgreSQL feature")
    from core.db import Base
    from core.tenancy import TenantOwned

    tables = {
        str(m.class_.__table__.name)  # type: ignore[attr-defined]
        for m in Base.registry.mappers
        if issubclass(m.class_, TenantOwned)
    }
    async with db.session(Scope.system()) as session:
        rows = await session.execute(
            text("SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity")
        )
        protected = set(rows.scalars().all())
    assert tables <= protected, tables - protected
