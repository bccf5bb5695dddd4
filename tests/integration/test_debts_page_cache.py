"""The debts page is cached per version of its data: a change made anywhere shows at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from collection.debtor.page import read_verified_page
from collection.models import Debt, DebtStatus
from core.db import Scope
from core.security import token_digest
from tenants.models import Tenant
from tests.integration.test_debtor_agreements import _offer_links, _verified


async def test_a_change_written_outside_the_site_shows_on_the_next_view(client, world, db):
    before = await _verified(client, world)
    assert (await client.get("/minhas-dividas")).text == before  # served from the cache
    assert _offer_links(before, world.a.id)
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Debt).where(Debt.id == world.a.debt_ids[0]).values(status=DebtStatus.REGULARIZED)
        )
        await session.execute(
            update(Tenant).where(Tenant.id == world.b.id).values(name="Credor Renomeado")
        )
        await session.commit()
    after = (await client.get("/minhas-dividas")).text
    assert "regularizada" in after and not _offer_links(after, world.a.id)
    assert ">Credor Renomeado</h2>" in after and f">{world.b.tenant.name}</h2>" not in after


async def test_a_policy_change_changes_the_offers_at_once(client, world, db):
    before = await _verified(client, world)
    assert any(not link.endswith("/cash") for link in _offer_links(before, world.b.id))
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.b.id).values(policy_toml=_CASH_ONLY)
        )
        await session.commit()
    after = (await client.get("/minhas-dividas")).text
    assert [link.rsplit("/", 1)[1] for link in _offer_links(after, world.b.id)] == ["cash"]


async def test_another_day_is_another_version_valued_on_that_day(client, world, db):
    await _verified(client, world)
    token = client.cookies.get("quita_debtor")
    assert token
    now = datetime.now(UTC)
    today = date.today()
    async with db.session(Scope.system(), snapshot=True) as session:
        first = await read_verified_page(session, token_digest(token), now, today)
    async with db.session(Scope.system(), snapshot=True) as session:
        again = await read_verified_page(session, token_digest(token), now, today)
    async with db.session(Scope.system(), snapshot=True) as session:
        later = await read_verified_page(session, token_digest(token), now, today + timedelta(1))
    assert first is not None and again is not None and later is not None
    assert again.version == first.version and later.version != first.version
    valued = [d.valuation for c in later.creditors for d in c.debts if d.valuation is not None]
    assert valued and all(v.computed_on == today + timedelta(1) for v in valued)
    # An expired session reads nothing.
    async with db.session(Scope.system(), snapshot=True) as session:
        gone = await read_verified_page(session, token_digest(token), now + timedelta(1), today)
    assert gone is None


_CASH_ONLY = """
version = 1
name = "Só à vista"

[charges]
late_fee_rate = "0.02"
late_interest_monthly = "0.01"

[defaults]
max_installments = 1
monthly_rate = "0.0199"
min_installment = 5000
validity_days = 5

[[buckets]]
min_days = 0
cash_discount_charges = "0.5"
"""


async def test_the_driver_snapshot_reads_as_the_app_role_read_only_and_leaves_nothing_open(db):
    async with db.driver_snapshot(Scope.system()) as driver:
        if driver is None:  # SQLite: the page is read in a unit of work
            assert not db.is_postgres
            return
        assert await driver.fetchval("SELECT current_setting('transaction_read_only')") == "on"
        assert await driver.fetchval("SELECT current_user") == "quita_app"
        assert await driver.fetchval("SELECT current_setting('quita.scope')") == "system"
        isolation = await driver.fetchval("SELECT current_setting('transaction_isolation')")
        assert isolation == "repeatable read"
    async with db.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert not raw.is_in_transaction()
        assert await raw.fetchval("SELECT current_user") != "quita_app"
