"""Due dates and bank closing days through the debtor site (issue 16 item 11): a schedule
never falls on Carnival, Corpus Christi or the year-end closing, and a debt due on such a
day is paid on time the next bank business day (Código Civil art. 132 §1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select, update

from collection.domain.business_days import is_bank_business_day
from collection.models import Agreement, AgreementInstallment, Debt, DebtItem
from core.clock import SAO_PAULO, FrozenClock
from core.db import Scope
from tests.integration.test_debtor_agreements import _form, _offer_links, _verified


@pytest.fixture
def clock(client: Any) -> Iterator[FrozenClock]:
    """The app's clock and the debtor site's, frozen and moved by the test."""
    app = client.app
    access = app.state.debtor_access
    before = (app.state.clock, access.clock)
    frozen = FrozenClock(datetime.now(SAO_PAULO))
    app.state.clock = access.clock = frozen
    yield frozen
    app.state.clock, access.clock = before


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=SAO_PAULO)


def _amounts(html: str, label: str) -> list[str]:
    return re.findall(rf"<dt>{label}</dt><dd>([^<]+)</dd>", html)


async def _due_on(db: Any, world: Any, due: date) -> None:
    debt_id = world.a.debt_ids[0]
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(update(Debt).where(Debt.id == debt_id).values(due_date=due))
        await session.execute(
            update(DebtItem).where(DebtItem.debt_id == debt_id).values(due_date=due)
        )
        await session.commit()


async def test_a_debt_due_on_corpus_christi_is_on_time_the_next_day_and_late_after(
    client, world, db, clock
):
    await _due_on(db, world, date(2027, 5, 27))  # Corpus Christi: banks closed
    clock._now = _noon(date(2027, 5, 28))
    page = await _verified(client, world)
    section = page[page.index(world.a.tenant.name) :]
    assert _amounts(section, "Multa")[0] == "R$\xa00,00"
    assert _amounts(section, "Juros")[0] == "R$\xa00,00"
    clock._now = _noon(date(2027, 5, 29))
    late = await _verified(client, world)  # a new day, a new visit
    section = late[late.index(world.a.tenant.name) :]
    assert _amounts(section, "Multa")[0] == "R$\xa030,00"  # 2% of R$ 1.500,00
    assert _amounts(section, "Juros")[0] == "R$\xa00,50"  # one day at 1% a.m., not two


async def test_an_accepted_schedule_skips_carnival_and_every_bank_closing_day(
    client, world, db, clock
):
    # The debt is over a year late: its offers stand 10 days, so from 29 January 2027 they
    # run to Carnival Monday (8 February), when banks are closed.
    clock._now = _noon(date(2027, 1, 29))
    page = await _verified(client, world)
    assert "08/02/2027" in page  # valid until then...
    links = [link for link in _offer_links(page, world.a.id) if "down-payment" in link]
    offer_page = await client.get(links[-1])
    assert offer_page.status_code == 200
    schedule = offer_page.text[offer_page.text.index("<h3>Pagamentos</h3>") :]
    assert "10/02/2027" in schedule
    assert "08/02/2027" not in schedule and "09/02/2027" not in schedule
    form = _form(offer_page.text)
    action = form.pop("_action")
    accepted = await client.post(action, data={**form, "reason": "other"})
    assert accepted.status_code in (302, 303), accepted.text[:500]
    async with db.session(Scope.tenant(world.a.id)) as session:
        agreement = await session.scalar(select(Agreement))
        assert agreement is not None
        dues = list(
            await session.scalars(
                select(AgreementInstallment.due_date)
                .where(AgreementInstallment.agreement_id == agreement.id)
                .order_by(AgreementInstallment.number)
            )
        )
    assert dues[0] == date(2027, 2, 10)  # ...but paid from Ash Wednesday, the first bank day
    assert dues[1] == date(2027, 3, 10)
    assert all(is_bank_business_day(due) for due in dues)
