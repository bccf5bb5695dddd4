"""The portal menu (issue 24): groups by job, only what the role may open."""

from __future__ import annotations

import re

import pytest

from portal.navigation import NAVIGATION
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD, hand_over

MENU = re.compile(r'<nav class="main".*?</nav>', re.S)
ALL_LINKS = {link.href for group in NAVIGATION for link in group.links}


def menu_of(html: str) -> tuple[list[str], set[str]]:
    menu = MENU.search(html)
    assert menu is not None
    groups = re.findall(r"<summary[^>]*>([^<]+)</summary>", menu.group(0))
    links = set(re.findall(r'href="([^"]+)"', menu.group(0)))
    return groups, links


async def test_owner_sees_every_group_in_job_order(client, world):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    home = await client.get("/portal/home")
    groups, links = menu_of(home.text)
    assert groups == ["Carteira", "Negociação", "Cobrança", "Assessoria", "Integrações", "Conta"]
    agency_only = {"/portal/agencia/fila", "/portal/painel/agencia"}
    assert links == (ALL_LINKS - agency_only) | {"/portal/home"}
    # Served open and folded by app.js on phones: usable without JavaScript.
    assert '<details class="menu" open data-collapse-narrow>' in home.text


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.ANALYST, Role.VIEWER])
async def test_each_link_shown_opens_and_each_hidden_one_is_refused(client, world, role):
    await login(client, world.a.users[role], PASSWORD)
    _, shown = menu_of((await client.get("/portal/home")).text)
    for href in shown:
        assert (await client.get(href)).status_code == 200, (role, href)
    for href in ALL_LINKS - shown:
        assert (await client.get(href)).status_code in (403, 404), (role, href)


async def test_viewer_sees_a_short_menu(client, world):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    groups, links = menu_of((await client.get("/portal/home")).text)
    assert "Integrações" not in groups and "/portal/users" not in links
    assert "/portal/debtors" in links and "/portal/security" in links


async def test_agent_sees_the_queue_under_agency_work(client, world, db):
    await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    page = await client.get("/portal/agencia/fila")
    groups, links = menu_of(page.text)
    assert "Assessoria" in groups
    assert '<summary class="current">Assessoria</summary>' in page.text
    assert 'href="/portal/agencia/fila" aria-current="page"' in page.text
    assert "/portal/users" not in links and "/portal/pagamentos" not in links
    for href in links:
        assert (await client.get(href)).status_code == 200, href
