"""The CSRF token is bound to the session it protects (issue 26 item 13).

A signed double-submit token is valid for whoever obtained it: an attacker who gets his own
pair (cookie + form field) and plants the cookie in a victim's browser could post as the
victim. Once a browser holds a staff or debtor session, only the token derived from that
session passes.
"""

from __future__ import annotations

from quita.csrf_binding import bound_csrf_token
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_lookup import _start, _verify


def test_the_bound_token_is_the_sessions_own_and_in_litestars_format():
    first = bound_csrf_token("secret", "session-1")
    assert first == bound_csrf_token("secret", "session-1")
    assert first != bound_csrf_token("secret", "session-2")
    assert first != bound_csrf_token("other secret", "session-1")
    assert len(first) == 128 and int(first, 16) >= 0


async def _attackers_own_pair(other_client) -> tuple[str, str]:
    page = await other_client.get("/portal/")
    return other_client.cookies["csrftoken"], csrf_from(page.text)


async def test_a_staff_session_refuses_a_planted_token_and_takes_its_own(
    client, other_client, world
):
    cookie, token = await _attackers_own_pair(other_client)
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    client.cookies.set("csrftoken", cookie, path="/")
    forged = await client.post("/portal/tenant", data={"tenant_id": "x", "_csrf_token": token})
    assert forged.status_code == 403
    page = await client.get("/portal/home")
    own = csrf_from(page.text)
    assert own != token
    assert own == bound_csrf_token(client.app.state.settings.security.secret_key, _staff(client))
    allowed = await client.post("/portal/tenant", data={"tenant_id": "x", "_csrf_token": own})
    assert allowed.status_code != 403


async def test_a_token_from_before_sign_in_no_longer_passes_after_it(client, world):
    before = csrf_from((await client.get("/portal/")).text)
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    stale = await client.post("/portal/tenant", data={"tenant_id": "x", "_csrf_token": before})
    assert stale.status_code == 403


async def test_a_debtor_session_refuses_a_planted_token(client, other_client, world):
    cookie, token = await _attackers_own_pair(other_client)
    await _start(client, world.shared_cpf)
    assert (await _verify(client, "01/01/1980")).status_code == 302
    client.cookies.set("csrftoken", cookie, path="/")
    forged = await client.post("/sair", data={"_csrf_token": token})
    assert forged.status_code == 403
    page = await client.get("/minhas-dividas")
    assert page.status_code == 200  # still signed in: the forged post did nothing
    out = await client.post("/sair", data={"_csrf_token": csrf_from(page.text)})
    assert out.status_code in (302, 303)


def _staff(client) -> str:
    return next(c.value for c in client.cookies.jar if c.name == "quita_staff")
