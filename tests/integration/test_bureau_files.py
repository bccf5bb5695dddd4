"""Bureau files (issue 16 item 13), through the portal: each listing and each removal is
sent in exactly one file, never twice and never forgotten; a file downloads again with
the same rows; the period report says which rows are new."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from collection.escalation import service as escalation
from collection.models import BureauFile, Debtor, Escalation
from core.clock import FrozenClock, local_today
from core.db import Scope
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_escalation import (
    PAGE,
    _escalations,
    _give_addresses,
    _page,
    _pay_through_agreement,
    _post,
    _rows,
    clock,
)

__all__ = ["clock"]  # the frozen app clock fixture of test_escalation


async def _list_two(client: Any, world: Any, db: Any, clock: FrozenClock) -> list[Escalation]:
    a = world.a
    await _give_addresses(db, a.id, a.debtor_ids[:2])
    await login(client, a.users[Role.OWNER], PASSWORD)
    made = await _post(client, "/avisos", {"debt_id": [str(d) for d in a.debt_ids[:2]]})
    assert made.status_code == 303, made.text[:800]
    escs = await _escalations(db, a.id)
    batches = {e.batch_id for e in escs}
    for batch_id in batches:
        posted = await _post(
            client, f"/avisos/{batch_id}/postado", {"posted_on": str(local_today(clock))}
        )
        assert posted.status_code == 303, posted.text[:800]
    clock.advance(timedelta(days=10))
    listed = await _post(client, "/negativar", {"escalation_id": [str(e.id) for e in escs]})
    assert listed.status_code == 303, listed.text[:800]
    return await _escalations(db, a.id)


async def _generate(client: Any) -> Any:
    return await _post(client, "/remessas", {})


async def _download(client: Any, number: int) -> Any:
    response = await client.get(f"{PAGE}/remessas/{number}/arquivo.csv")
    assert response.status_code == 200, response.text[:500]
    return response


async def test_each_listing_and_removal_is_sent_once_and_an_earlier_file_downloads_the_same(
    client: Any, world: Any, db: Any, clock: FrozenClock
):
    a = world.a
    escs = await _list_two(client, world, db, clock)
    assert all(e.status == "listed" for e in escs)
    page = (await _page(client)).text
    assert "Aguardando a próxima remessa: 2 inclusões e 0 exclusões." in page

    first = await _generate(client)
    assert first.status_code == 303, first.text[:800]
    one = await _download(client, 1)
    rows = _rows(one.content)
    assert rows[0][-2:] == ["remessa", "novo"]
    assert sorted((r[0], r[9], r[-2], r[-1]) for r in rows[1:]) == [
        ("inclusao", a.contracts[0], "1", "sim"),
        ("inclusao", a.contracts[1], "1", "sim"),
    ]

    # Nothing is pending: a second file would send the same listings twice.
    again = await _generate(client)
    assert again.status_code == 400
    assert "Nenhuma inclusão ou exclusão aguarda envio." in again.text
    async with db.session(Scope.tenant(a.id)) as session:
        assert len((await session.scalars(select(BureauFile))).all()) == 1

    # The first debt is paid: its removal is pending, then sent once, in file 2.
    paid_on = local_today(clock) + timedelta(days=1)
    await _pay_through_agreement(db, a.id, a.debtor_ids[0], a.debt_ids[0], paid_on)
    clock.advance(timedelta(days=3))
    await escalation.advance(db, paid_on + timedelta(days=1))
    assert "0 inclusões e 1 exclusões" in (await _page(client)).text
    second = await _generate(client)
    assert second.status_code == 303, second.text[:800]
    two = _rows((await _download(client, 2)).content)
    assert [(r[0], r[9], r[-2]) for r in two[1:]] == [("exclusao", a.contracts[0], "2")]
    assert (await _generate(client)).status_code == 400

    # File 1 downloads with the same rows after the person moved house.
    async with db.session(Scope.tenant(a.id)) as session:
        await session.execute(
            update(Debtor).where(Debtor.id == a.debtor_ids[0]).values(address="Outra Rua, 99")
        )
        await session.commit()
    assert (await _download(client, 1)).content == one.content

    # The period report shows every movement and the file that sent it: none is new.
    report = await client.get(
        f"{PAGE}/arquivo-bureau.csv",
        params={"de": str(paid_on - timedelta(days=30)), "ate": str(paid_on + timedelta(days=5))},
    )
    lines = sorted((r[0], r[9], r[-2], r[-1]) for r in _rows(report.content)[1:])
    assert lines == [
        ("exclusao", a.contracts[0], "2", "nao"),
        ("inclusao", a.contracts[0], "1", "nao"),
        ("inclusao", a.contracts[1], "1", "nao"),
    ]
    other = await client.get(f"{PAGE}/remessas/3/arquivo.csv")
    assert other.status_code == 404


async def test_a_removal_requested_before_its_file_is_never_forgotten_and_the_report_marks_new(
    client: Any, world: Any, db: Any, clock: FrozenClock
):
    a = world.a
    escs = await _list_two(client, world, db, clock)
    assert (await _generate(client)).status_code == 303  # both inclusions sent in file 1
    # Withdrawn by the creditor days later; no one looks at any period report.
    clock.advance(timedelta(days=20))
    withdrawn = await _post(client, f"/{escs[1].id}/cancelar", {"reason": "acordo externo"})
    assert withdrawn.status_code == 303, withdrawn.text[:800]
    today = local_today(clock)
    report = await client.get(f"{PAGE}/arquivo-bureau.csv", params={"de": str(today)})
    assert [(r[0], r[9], r[-2], r[-1]) for r in _rows(report.content)[1:]] == [
        ("exclusao", a.contracts[1], "", "sim")  # new: no file has sent it yet
    ]
    clock.advance(timedelta(days=30))  # a month later, the next file still carries it
    assert (await _generate(client)).status_code == 303
    two = _rows((await _download(client, 2)).content)
    assert [(r[0], r[9]) for r in two[1:]] == [("exclusao", a.contracts[1])]


async def test_a_listing_withdrawn_before_any_file_sends_neither_row(
    client: Any, world: Any, db: Any, clock: FrozenClock
):
    escs = await _list_two(client, world, db, clock)
    withdrawn = await _post(client, f"/{escs[0].id}/cancelar", {"reason": "erro de cadastro"})
    assert withdrawn.status_code == 303
    assert (await _generate(client)).status_code == 303
    one = _rows((await _download(client, 1)).content)
    assert [(r[0], r[9]) for r in one[1:]] == [("inclusao", world.a.contracts[1])]
    assert (await _generate(client)).status_code == 400  # its removal is not pending either


async def test_another_tenant_cannot_download_a_file(
    client: Any, world: Any, db: Any, clock: FrozenClock
):
    await _list_two(client, world, db, clock)
    assert (await _generate(client)).status_code == 303
    client.cookies.clear()
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    assert (await client.get(f"{PAGE}/remessas/1/arquivo.csv")).status_code == 404


async def test_agency_staff_neither_make_nor_download_the_creditors_bureau_files(
    client: Any, world: Any, db: Any, clock: FrozenClock
):
    await _list_two(client, world, db, clock)
    assert (await _generate(client)).status_code == 303
    client.cookies.clear()
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    page = await _page(client)
    assert "/portal/escalonamento/remessas" not in page.text
    assert (await client.get(f"{PAGE}/remessas/1/arquivo.csv")).status_code == 403
    made = await client.post(f"{PAGE}/remessas", data={"_csrf_token": csrf_from(page.text)})
    assert made.status_code == 403
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert len((await session.scalars(select(BureauFile))).all()) == 1
