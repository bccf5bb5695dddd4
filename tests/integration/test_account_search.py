"""The accounts search through HTTP (issue 25 item 12): accents and case, contract and CPF
in any format, each filter, each sort, the CSV export, pagination keeping the filters, and
agency staff seeing only their handed-over accounts in the list and in the export."""

from __future__ import annotations

import csv
import io
import logging
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from collection.domain.documents import mask_cpf
from collection.models import Debt, DebtItem, Debtor, DebtStatus, Portfolio
from core.clock import FrozenClock
from core.db import Scope
from core.security import keyed_hash
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD, hand_over, valid_cpf
from tests.integration.test_imports import HEADER, _job_id, _run_worker, _upload

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _quiet_test_client(monkeypatch):
    """The test client's own request log would carry the CPFs these tests type into the
    search box (the app logs the path only, never the query string)."""
    monkeypatch.setattr(logging.getLogger("httpx"), "disabled", True)


NOW = datetime(2026, 6, 15, 15, tzinfo=UTC)


@dataclass
class People:
    tag: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    cpfs: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, str] = field(default_factory=dict)
    other_portfolio: uuid.UUID | None = None


# key → (name, days late, amount, status, in the second portfolio)
PEOPLE = {
    "goncalves": ("Maria da Conceição Gonçalves", 10, 50_000, DebtStatus.OPEN, False),
    "alvaro": ("JOSÉ ÁLVARO Müller", 45, 300_000, DebtStatus.OPEN, False),
    "sao": ("Ana São João", 200, 120_000, DebtStatus.OPEN, True),
    "idle": ("Bruno Quitado", 700, 80_000, DebtStatus.PAID, False),
    "old": ("Célia Antiga", 500, 20_000, DebtStatus.OPEN, False),
}


async def _people(db, settings, world) -> People:
    """Five accounts of tenant A with accents, ages, amounts, statuses and two portfolios;
    names carry a tag so other tests' rows never match."""
    rng = random.Random()
    tag = uuid.uuid4().hex[:6]
    found = People(tag=tag)
    tenant_id = world.a.id
    async with db.session(Scope.tenant(tenant_id)) as session:
        other = Portfolio(id=uuid.uuid4(), name=f"Outra {tag}")
        session.add(other)
        found.other_portfolio = other.id
        for key, (name, late, amount, status, second) in PEOPLE.items():
            cpf = valid_cpf(rng)
            debtor = Debtor(
                id=uuid.uuid4(),
                cpf=cpf,
                cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
                name=f"{name} {tag}",
                state="MG",
            )
            session.add(debtor)
            due = TODAY - timedelta(days=late)
            contract = f"Ctr-{key.upper()}-{tag}"
            session.add(
                Debt(
                    id=uuid.uuid4(),
                    portfolio_id=other.id if second else world.a.portfolio_id,
                    debtor=debtor,
                    contract=contract,
                    original_amount=amount,
                    due_date=due,
                    status=status,
                    items=[DebtItem(number=1, due_date=due, amount=amount)],
                )
            )
            found.ids[key], found.cpfs[key], found.contracts[key] = debtor.id, cpf, contract
        await session.commit()
    return found


def _names(html: str, people: People) -> list[str]:
    """The keys of ``people`` listed, in the table's order."""
    by_id = {str(v): k for k, v in people.ids.items()}
    return [
        by_id[i] for i in re.findall(r'href="/portal/debtors/([0-9a-f-]{36})"', html) if i in by_id
    ]


async def _search(client, **params) -> str:
    response = await client.get("/portal/debtors", params=params)
    assert response.status_code == 200
    return response.text


async def _signed_in(client, app, world, monkeypatch, role=Role.ANALYST) -> None:
    monkeypatch.setattr(app.state, "clock", FrozenClock(NOW))
    await login(client, world.a.users[role], PASSWORD)


async def test_search_ignores_accents_and_case(client, app, world, db, settings, monkeypatch):
    people = await _people(db, settings, world)
    await _signed_in(client, app, world, monkeypatch)
    tag = people.tag
    assert _names(await _search(client, q=f"goncalves {tag}"), people) == ["goncalves"]
    assert _names(await _search(client, q=f"GONÇALVES {tag}"), people) == ["goncalves"]
    assert _names(await _search(client, q=f"conceicao {tag}"), people) == ["goncalves"]
    assert _names(await _search(client, q=f"jose alvaro {tag}"), people) == ["alvaro"]
    assert _names(await _search(client, q=f"muller {tag}"), people) == ["alvaro"]
    assert _names(await _search(client, q=f"são joão {tag}"), people) == ["sao"]
    # Words in any order; a word that is not there finds nobody.
    assert _names(await _search(client, q=f"{tag} maria"), people) == ["goncalves"]
    assert _names(await _search(client, q=f"maria zzz {tag}"), people) == []
    # LIKE wildcards typed are taken literally.
    assert _names(await _search(client, q=f"%{tag}"), people) == []


async def test_search_by_contract_and_cpf_in_any_format(
    client, app, world, db, settings, monkeypatch
):
    people = await _people(db, settings, world)
    await _signed_in(client, app, world, monkeypatch)
    contract = people.contracts["alvaro"]
    assert _names(await _search(client, q=contract), people) == ["alvaro"]
    assert _names(await _search(client, q=contract.lower()), people) == ["alvaro"]
    cpf = people.cpfs["sao"]
    punctuated = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    for typed in (cpf, punctuated, f" {punctuated} ", f"{cpf[:3]} {cpf[3:6]} {cpf[6:9]} {cpf[9:]}"):
        html = await _search(client, q=typed)
        assert _names(html, people) == ["sao"], typed
        # Never the whole CPF in the results, masked instead (the box keeps what was typed).
        results = html[html.index("<tbody>") : html.index("</tbody>")]
        assert cpf not in results and punctuated not in results
        assert mask_cpf(cpf) in results


async def test_each_filter(client, app, world, db, settings, monkeypatch):
    people = await _people(db, settings, world)
    await _signed_in(client, app, world, monkeypatch)
    tag = people.tag

    async def keys(**params) -> set[str]:
        return set(_names(await _search(client, q=tag, **params), people))

    assert await keys() == set(PEOPLE)
    assert await keys(situacao="paid") == {"idle"}
    assert await keys(situacao="open") == {"goncalves", "alvaro", "sao", "old"}
    assert await keys(atraso="0-30") == {"goncalves"}
    assert await keys(atraso="31-90") == {"alvaro"}
    assert await keys(atraso="181-365") == {"sao"}
    # The paid account has nothing open, so no age: only the open one past a year.
    assert await keys(atraso="366+") == {"old"}
    assert await keys(carteira=str(people.other_portfolio)) == {"sao"}
    assert await keys(carteira=str(world.a.portfolio_id), situacao="open") == {
        "goncalves",
        "alvaro",
        "old",
    }
    await hand_over(db, world.a.id, people.ids["alvaro"], world.agency_id)
    assert await keys(assessoria=str(world.agency_id)) == {"alvaro"}
    assert await keys(assessoria=str(uuid.uuid4())) == set()
    # Unknown values are ignored rather than failing.
    assert await keys(situacao="nope", atraso="x", carteira="y") == set(PEOPLE)
    page = await _search(client, q=tag)
    assert "Situação da dívida" in page and "De 31 a 90 dias de atraso" in page
    assert "Assessoria" in page and "em acordo" in page


async def test_sort_orders(client, app, world, db, settings, monkeypatch):
    people = await _people(db, settings, world)
    await _signed_in(client, app, world, monkeypatch)
    tag = people.tag

    async def order(**params) -> list[str]:
        return _names(await _search(client, q=tag, **params), people)

    # By name, accents ignored: Ana, Bruno, Célia, José, Maria.
    assert await order() == ["sao", "idle", "old", "alvaro", "goncalves"]
    assert await order(sentido="desc") == ["goncalves", "alvaro", "old", "idle", "sao"]
    # Open balance (the paid account owes nothing open).
    assert await order(ordem="saldo", sentido="desc") == [
        "alvaro",
        "sao",
        "goncalves",
        "old",
        "idle",
    ]
    assert await order(ordem="saldo") == ["idle", "old", "goncalves", "sao", "alvaro"]
    # Days late: most first when descending; nothing open always last.
    assert await order(ordem="atraso", sentido="desc") == [
        "old",
        "sao",
        "alvaro",
        "goncalves",
        "idle",
    ]
    assert await order(ordem="atraso") == ["goncalves", "alvaro", "sao", "old", "idle"]
    assert await order(ordem="vencimento") == ["old", "sao", "alvaro", "goncalves", "idle"]
    html = await _search(client, q=tag, ordem="saldo")
    assert 'aria-sort="ascending"' in html


async def test_pagination_keeps_the_filters(client, app, world, db, settings, monkeypatch):
    people = await _people(db, settings, world)
    async with db.session(Scope.tenant(world.a.id)) as session:
        for n in range(30):
            cpf = valid_cpf(random.Random())
            session.add(
                Debtor(
                    id=uuid.uuid4(),
                    cpf=cpf,
                    cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
                    name=f"Paginação {n:02d} {people.tag}",
                )
            )
        await session.commit()
    await _signed_in(client, app, world, monkeypatch)
    html = await _search(client, q=f"paginacao {people.tag}", ordem="nome", sentido="desc")
    assert "Página 1 de 2" in html and "Contas encontradas: 30" in html
    nxt = re.search(r'<a href="(/portal/debtors\?[^"]*page=2)"', html)
    assert nxt is not None
    link = nxt.group(1).replace("&amp;", "&")
    assert f"q=paginacao+{people.tag}" in link and "sentido=desc" in link
    second = await client.get(link)
    assert "Página 2 de 2" in second.text
    assert f"Paginação 04 {people.tag}" in second.text
    assert f"Paginação 29 {people.tag}" not in second.text


def _csv(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


async def test_export_holds_the_filtered_list_masked_and_formula_safe(
    client, app, world, db, settings, monkeypatch
):
    people = await _people(db, settings, world)
    async with db.session(Scope.tenant(world.a.id)) as session:
        evil = await session.get_one(Debtor, people.ids["old"])
        evil.name = f'=HYPERLINK("http://x") {people.tag}'
        await session.commit()
    await _signed_in(client, app, world, monkeypatch)
    response = await client.get(
        "/portal/debtors/exportar",
        params={"q": people.tag, "situacao": "open", "ordem": "saldo", "sentido": "desc"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv(response.content)
    assert rows[0][:3] == ["Nome", "CPF", "UF"] and "Dias em atraso" in rows[0]
    body = rows[1:]
    assert [r[0].split(" ")[0] for r in body] == [
        "JOSÉ",
        "Ana",
        "Maria",
        '\'=HYPERLINK("http://x")',
    ]
    alvaro = body[0]
    assert alvaro[1] == mask_cpf(people.cpfs["alvaro"])
    assert alvaro[2:] == [
        "MG",
        "1",
        "3000,00",
        (TODAY - timedelta(days=45)).strftime("%d/%m/%Y"),
        "45",
    ]
    for cpf in people.cpfs.values():
        assert cpf not in response.text
    # The page links the export with the same filters.
    page = await _search(client, q=people.tag, situacao="open")
    assert f'href="/portal/debtors/exportar?q={people.tag}&amp;situacao=open"' in page


async def test_agency_staff_search_and_export_only_their_accounts(
    client, app, world, db, settings, monkeypatch
):
    people = await _people(db, settings, world)
    await hand_over(db, world.a.id, people.ids["goncalves"], world.agency_id)
    monkeypatch.setattr(app.state, "clock", FrozenClock(NOW))
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    listed = await _search(client, q=people.tag)
    assert _names(listed, people) == ["goncalves"]
    assert "Contas encontradas: 1" in listed
    # The agency filter is not offered, and naming another agency widens nothing.
    assert 'name="assessoria"' not in listed
    assert _names(await _search(client, q=people.tag, assessoria=str(uuid.uuid4())), people) == [
        "goncalves"
    ]
    by_cpf = await _search(client, q=people.cpfs["alvaro"])
    assert _names(by_cpf, people) == []
    by_contract = await _search(client, q=people.contracts["sao"])
    assert _names(by_contract, people) == []
    export = await client.get("/portal/debtors/exportar", params={"q": people.tag})
    assert export.status_code == 200
    rows = _csv(export.content)[1:]
    assert len(rows) == 1 and rows[0][0].startswith("Maria da Conceição Gonçalves")
    everything = _csv((await client.get("/portal/debtors/exportar")).content)[1:]
    assert [r[0] for r in everything] == [f"Maria da Conceição Gonçalves {people.tag}"]


async def test_imported_names_are_searchable_without_accents(
    client, app, world, db, settings, monkeypatch
):
    await _signed_in(client, app, world, monkeypatch)
    tag = uuid.uuid4().hex[:6]
    line = "{name};529.982.247-25;01/01/1970;;;CI-{tag};1;10/01/2026;100,00;Loja"
    for name in (f"Joana Gonçalves {tag}", f"Joana Gonçalves Araújo {tag}"):  # new, then renamed
        content = (HEADER + line.format(name=name, tag=tag) + "\r\n").encode()
        job_id = _job_id(await _upload(client, content, portfolio=f"Import {tag}"))
        assert await _run_worker(db, settings, job_id) == "previewed"
        page = await client.get(f"/portal/imports/{job_id}")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        await client.post(f"/portal/imports/{job_id}/confirm", data={"_csrf_token": token.group(1)})
        assert await _run_worker(db, settings, job_id) == "imported"
    async with db.session(Scope.tenant(world.a.id)) as session:
        folded = await session.scalar(
            select(Debtor.search_name).join(Debt).where(Debt.contract == f"CI-{tag}")
        )
    assert folded == f"joana goncalves araujo {tag}"
    html = await _search(client, q=f"araujo {tag}")
    assert f"Joana Gonçalves Araújo {tag}" in html


def test_migration_folds_the_names_already_stored(tmp_path):
    # Debtors of before the column get their folded name from the migration (SQLite here;
    # the same statements run on PostgreSQL in test_migrations' round trip).
    import sqlite3

    from alembic.script import ScriptDirectory

    from quita import migrate

    path = tmp_path / "fold.db"
    url = f"sqlite+aiosqlite:///{path}"
    before = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision(
        "0130_debtor_search_name"
    )
    assert isinstance(before.down_revision, str)
    migrate.upgrade(url, before.down_revision)
    connection = sqlite3.connect(path)
    columns = connection.execute("PRAGMA table_info(debtors)").fetchall()
    values: dict[str, object] = {"id": uuid.uuid4().hex, "name": "Conceição  ÁVILA"}
    for _, name, kind, notnull, default, _pk in columns:
        if name not in values and notnull and default is None:
            values[name] = uuid.uuid4().hex if "CHAR(32)" in kind else "x"
    # The column names come from the schema itself (PRAGMA), the values are bound.
    marks = ", ".join("?" for _ in values)
    insert = f"INSERT INTO debtors ({', '.join(values)}) VALUES ({marks})"  # noqa: S608
    connection.execute(insert, list(values.values()))
    connection.commit()
    connection.close()
    migrate.upgrade(url)
    connection = sqlite3.connect(path)
    folded = connection.execute("SELECT search_name FROM debtors").fetchall()
    connection.close()
    assert folded == [("conceicao avila",)]
