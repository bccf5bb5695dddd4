"""The two sites' shells: pages, security headers, htmx partials, health, errors."""

from __future__ import annotations

from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD, hand_over


async def test_debtor_site_home_is_portuguese_and_served_with_strict_csp(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert '<html lang="pt-BR">' in response.text
    assert "Quite suas dívidas" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_pages_have_no_inline_script(client, world):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    for path in (
        "/",
        "/privacidade",
        "/portal/home",
        "/portal/debtors",
        "/portal/users",
        "/portal/security",
        "/portal/audit",
    ):
        html = (await client.get(path)).text
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script on {path}"
        assert " on" + "click=" not in html


async def test_htmx_is_served_by_the_app(client):
    response = await client.get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert "htmx" in response.text[:2000]


async def test_portal_root_is_the_staff_login(client):
    response = await client.get("/portal")
    assert response.status_code == 200
    assert 'name="password"' in response.text


async def test_ping_answers_plain_text(client):
    response = await client.get("/ping")
    assert response.status_code == 200 and response.text == "ok"


async def test_healthz_checks_database_and_broker(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


async def test_unknown_page_is_a_portuguese_404(client):
    response = await client.get("/nao-existe")
    assert response.status_code == 404
    assert "Página não encontrada" in response.text


async def test_debtor_search_answers_htmx_with_the_table_only(client, world):
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    name = world.a.debtor_names[1]
    full = await client.get("/portal/debtors", params={"q": name})
    partial = await client.get(
        "/portal/debtors", params={"q": name}, headers={"HX-Request": "true"}
    )
    assert full.status_code == partial.status_code == 200
    assert name in full.text and name in partial.text
    assert "<html" in full.text and "<html" not in partial.text
    assert world.a.debtor_names[2] not in partial.text


async def test_debtor_pages_show_masked_cpf(client, world):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    page = await client.get(f"/portal/debtors/{world.a.debtor_ids[0]}")
    assert page.status_code == 200
    cpf = world.shared_cpf
    assert cpf not in page.text
    assert f"***.{cpf[3:6]}.{cpf[6:9]}-**" in page.text
    debt = await client.get(f"/portal/debts/{world.a.debt_ids[0]}")
    assert debt.status_code == 200 and world.a.contracts[0] in debt.text


async def test_agency_staff_work_in_the_granted_tenant_only(client, world, db):
    await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    home = await client.get("/portal/home")
    assert world.a.tenant.name in home.text
    assert (await client.get(f"/portal/debtors/{world.a.debtor_ids[0]}")).status_code == 200
    # Only the accounts handed over to the agency (issue 16 item 12).
    assert (await client.get(f"/portal/debtors/{world.a.debtor_ids[1]}")).status_code == 404
    assert (await client.get(f"/portal/debtors/{world.b.debtor_ids[0]}")).status_code == 404
    assert (await client.get("/portal/users")).status_code == 403


async def test_tenant_switcher_for_people_with_several_memberships(client, world, db):
    from sqlalchemy import select

    from core.db import Scope
    from tenants.models import Tenant, User
    from tenants.services.directory import add_tenant_member

    email = world.a.users[Role.ANALYST]
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        tenant_b = await session.get_one(Tenant, world.b.id)
        assert user is not None
        add_tenant_member(session, tenant_b, user, Role.VIEWER)
        await session.commit()
    await login(client, email, PASSWORD)
    # Two creditors: the person chooses first (tests/security/test_tenant_choice.py).
    first = await client.get("/portal/home")
    assert first.status_code == 303 and first.headers["location"].startswith("/portal/credor")
    chooser = await client.get(first.headers["location"])
    from tests.conftest import csrf_from

    chosen = await client.post(
        "/portal/tenant",
        data={"tenant_id": str(world.a.id), "_csrf_token": csrf_from(chooser.text)},
    )
    assert chosen.status_code == 303
    home = await client.get("/portal/home")
    assert 'id="tenant-switch"' in home.text

    switched = await client.post(
        "/portal/tenant", data={"tenant_id": str(world.b.id), "_csrf_token": csrf_from(home.text)}
    )
    assert switched.status_code in (302, 303)
    assert (await client.get(f"/portal/debtors/{world.b.debtor_ids[0]}")).status_code == 200
    assert (await client.get(f"/portal/debtors/{world.a.debtor_ids[0]}")).status_code == 404
