"""The home's tiles and to-do list (issue 24): exact figures from a known history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete

from collection.models import Debt, DebtStatus, Dispute, PaymentStatus
from collection.reports import overview
from collection.reports.dashboards import Month
from core.clock import SystemClock, local_today
from core.db import Scope
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD
from tests.integration.test_dashboards import _agreement, _debt, _payment


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


async def _seed(db, world) -> date:
    a = world.a.id
    today = local_today(SystemClock())
    this_first = Month.of(today).first_day
    last_first = Month.of(today).minus(1).first_day
    d0, d1, _ = world.a.debtor_ids
    p = world.a.portfolio_id
    async with db.session(Scope.tenant(a)) as session:
        await session.execute(delete(Debt).where(Debt.id.in_(world.a.debt_ids)))
        old = _debt(a, p, d0, 200_000, last_first, _noon(last_first), DebtStatus.IN_AGREEMENT)
        new = _debt(a, p, d1, 100_000, this_first, _noon(this_first), DebtStatus.OPEN)
        session.add_all([old, new])
        await session.flush()
        open_one, links = _agreement(
            a,
            d0,
            [old.id],
            accepted=last_first,
            total=60_000,
            status="active",
            installments=[
                (today - timedelta(days=5), 20_000, 0),  # overdue: not "expected"
                (today + timedelta(days=10), 20_000, 5_000),  # 15.000 expected
                (today + timedelta(days=40), 20_000, 0),  # beyond 30 days
            ],
        )
        kept_now, l2 = _agreement(
            a,
            d1,
            [new.id],
            accepted=last_first,
            total=10_000,
            status="paid",
            installments=[(this_first, 10_000, 10_000)],
            last_event_on=this_first,
        )
        kept_before, l3 = _agreement(
            a,
            d1,
            [],
            accepted=last_first,
            total=10_000,
            status="paid",
            installments=[(last_first, 10_000, 10_000)],
            last_event_on=last_first,
        )
        broken, l4 = _agreement(
            a,
            d1,
            [],
            accepted=last_first,
            total=10_000,
            status="broken",
            installments=[(last_first, 10_000, 0)],
            broken_on=this_first,
        )
        session.add_all([open_one, kept_now, kept_before, broken])
        await session.flush()
        session.add_all(links + l2 + l3 + l4)
        session.add_all(
            [
                _payment(a, open_one.id, 30_000, last_first),
                _payment(a, open_one.id, 50_000, this_first),
                _payment(a, open_one.id, 7_000, this_first, PaymentStatus.REFUNDED),
            ]
        )
        session.add(Dispute(id=uuid.uuid4(), tenant_id=a, debt_id=new.id, kind="not_mine"))
        session.add(
            Dispute(
                id=uuid.uuid4(), tenant_id=a, debt_id=new.id, kind="not_mine", status="answered"
            )
        )
        await session.commit()
    return today


async def test_overview_figures_by_hand(db, world):
    today = await _seed(db, world)
    async with db.session(Scope.tenant(world.a.id)) as session:
        figures = await overview.overview(session, today)
        todo = await overview.todo(session, datetime.now(UTC))
    assert (figures.received.current, figures.received.previous) == (50_000, 30_000)
    assert figures.received.change == Decimal("0.6667")  # 50/30 - 1
    assert len(figures.received.history) == 12 and figures.received.history[-2:] == (30_000, 50_000)
    # Recovered to date ÷ placed to date: 80.000/300.000 now, 30.000/200.000 last month.
    assert figures.recovery_rate.current == Decimal("0.2667")
    assert figures.recovery_rate.previous == Decimal("0.1500")
    assert figures.active_agreements == 1
    assert (figures.kept.current, figures.kept.previous) == (1, 1)
    assert figures.broken_this_month == 1
    assert (figures.expected_next, figures.expected_installments) == (15_000, 1)
    last_first = Month.of(today).minus(1).first_day
    recent = 50_000 + (30_000 if (today - last_first).days <= 29 else 0)
    assert figures.received_last_days == recent
    assert (todo.disputes, todo.special_offers, todo.failed_imports, todo.failed_messages) == (
        1,
        0,
        0,
        0,
    )


async def test_home_answers_first_for_the_owner(client, db, world):
    await _seed(db, world)
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    html = (await client.get("/portal/home")).text
    assert "Recebido no mês" in html and "R$\u00a0500,00" in html
    assert "Mês anterior: R$\u00a0300,00 (+66,7%)" in html
    assert "26,67%" in html and "Mês anterior: 15,00%" in html
    assert "Previsto nos próximos 30 dias" in html and "R$\u00a0150,00" in html
    assert html.count('class="sparkline"') == 4
    assert '<a href="/portal/disputes"><strong>1</strong> contestação para responder</a>' in html


async def test_to_do_lists_only_what_the_role_may_open(client, db, world):
    await _seed(db, world)
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    html = (await client.get("/portal/home")).text
    assert "Recebido no mês" in html  # a viewer reads reports
    assert "/portal/disputes" not in html and "contestação" not in html


async def test_agent_sees_no_figures(client, db, world):
    from tests.factories import hand_over

    await _seed(db, world)
    await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    html = (await client.get("/portal/home")).text
    assert "Recebido no mês" not in html and 'class="sparkline"' not in html
