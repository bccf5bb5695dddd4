"""Hostile input, route by route: enumeration and brute force hit the limits, every unsafe
request needs its CSRF token, planted sessions are never adopted, oversized and malformed
bodies get a clear refusal, and every response carries the security headers."""

from __future__ import annotations

import random
import re

import pytest
from litestar.routes import HTTPRoute

from tenants.roles import Role
from tests.conftest import csrf, csrf_from, login_via_form
from tests.factories import PASSWORD, valid_cpf

PARAM = re.compile(r"\{(\w+):(\w+)\}")
SAMPLE = {"uuid": "00000000-0000-4000-8000-000000000000", "int": "1"}  # by path type
REQUIRED_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "strict-transport-security": "max-age=",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}


def _routes(app, method: str, *, prefix: tuple[str, ...] = ("/",)):
    for route in app.routes:
        if (
            isinstance(route, HTTPRoute)
            and route.path.startswith(prefix)
            and method in route.methods
        ):
            yield route.path


def _assert_headers(response, what: str) -> None:
    for name, expected in REQUIRED_HEADERS.items():
        value = response.headers.get(name, "")
        assert expected in value, f"{what}: {name} is {value!r}"


async def _start(client, cpf: str):
    client.cookies.clear()
    home = await client.get("/")
    return await client.post("/consulta", data={"cpf": cpf, "_csrf_token": csrf_from(home.text)})


async def _verify(client, birth: str):
    page = await client.get("/verificar")
    return await client.post(
        "/verificar", data={"birth_date": birth, "_csrf_token": csrf_from(page.text)}
    )


# -- limits -------------------------------------------------------------------------------


async def test_enumerating_cpfs_from_one_address_hits_the_address_limit(client, world):
    """Guessing birth dates across many CPFs: the address is stopped, whatever the CPF,
    and a CPF with debts looks the same as one without until then."""
    rng = random.Random()
    answers = set()
    for n in range(20):
        cpf = world.shared_cpf if n == 7 else valid_cpf(rng)
        started = await _start(client, cpf)
        answers.add((started.status_code, started.headers.get("location")))
        response = await _verify(client, "02/02/1902")
        if response.status_code == 429:
            break
        assert response.status_code == 400
    assert len(answers) == 1  # the same answer for every CPF
    await _start(client, valid_cpf(rng))
    blocked = await _verify(client, "02/02/1902")
    assert blocked.status_code == 429 and "aguarde" in blocked.text


async def test_guessing_a_one_time_code_hits_the_limit(client, world):
    await _start(client, world.shared_cpf)
    page = await client.get("/verificar")
    sent = await client.post(
        "/verificar/codigo", data={"channel": "email", "_csrf_token": csrf_from(page.text)}
    )
    assert sent.status_code == 200
    token = csrf_from(sent.text)
    statuses = []
    for guess in range(8):
        response = await client.post(
            "/verificar/codigo/confirmar", data={"code": f"{guess:06d}", "_csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses[0] == 400 and statuses[-1] == 429, statuses
    assert "aguarde" in response.text


# -- CSRF and sessions ----------------------------------------------------------------------


async def test_every_unsafe_route_refuses_a_request_without_its_csrf_token(client, app, world):
    await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    probed = 0
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in _routes(app, method):
            if path.startswith(("/api", "/webhooks")):
                continue  # machine clients: bearer tokens and signatures, not cookies
            url = PARAM.sub(lambda m: SAMPLE.get(m.group(2), "x"), path)
            response = await client.request(method, url, data={"x": "1"})
            if path.startswith("/parar/"):
                # One-click opt-out: the signed token in the link authorises it, not a cookie.
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
                continue
            assert response.status_code == 403, f"{method} {url}: {response.status_code}"
            probed += 1
    assert probed > 30


async def test_a_debtor_session_cookie_planted_before_look_up_is_never_adopted(client, world):
    client.cookies.set("quita_debtor", "planted-by-an-attacker")
    home = await client.get("/")
    await client.post(
        "/consulta", data={"cpf": world.shared_cpf, "_csrf_token": csrf_from(home.text)}
    )
    assert (await _verify(client, "01/01/1980")).status_code == 302
    issued = {c.value for c in client.cookies.jar if c.name == "quita_debtor"}
    assert issued - {"planted-by-an-attacker"}  # the server issued its own token
    # A request carrying only the planted value sees nothing.
    client.cookies.clear()
    client.cookies.set("quita_debtor", "planted-by-an-attacker")
    response = await client.get("/minhas-dividas")
    assert response.status_code in (302, 303) and "/" in response.headers["location"]


# -- bodies ---------------------------------------------------------------------------------


async def test_an_oversized_body_is_refused_before_it_is_read(client, app, world):
    from quita.bodies import FORM_BODY_LIMIT

    limit = FORM_BODY_LIMIT
    home = await client.get("/")
    response = await client.post(
        "/consulta",
        content=b"cpf=" + b"1" * (limit + 1),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-csrftoken": csrf_from(home.text),
        },
    )
    assert response.status_code == 413


async def test_malformed_bodies_get_a_clear_refusal_not_a_server_error(client, world):
    await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    token = await csrf(client, "/portal/imports")
    garbage = [
        ("/portal/imports", {"content-type": "multipart/form-data; boundary=nope"}, b"--x\r\n"),
        ("/portal/imports", {"content-type": "multipart/form-data"}, b"\x00\xff" * 100),
        ("/portal/regua/salvar", {"content-type": "application/x-www-form-urlencoded"}, b"%%%"),
        ("/webhooks/stripe", {"content-type": "application/json"}, b"{not json"),
    ]
    for path, headers, body in garbage:
        response = await client.post(path, content=body, headers={**headers, "x-csrftoken": token})
        assert 400 <= response.status_code < 500, f"{path}: {response.status_code}"
    upload = await client.post(
        "/portal/imports",
        data={"portfolio": "Carteira", "_csrf_token": token},
        files={"file": ("carteira.csv", b"\x00\x01\x02not a table\xff" * 50, "text/csv")},
    )
    assert upload.status_code in (200, 303, 400)
    assert upload.status_code == 400 or "preview" in upload.text.lower() or upload.is_redirect


# -- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True])
async def test_every_page_and_error_carries_the_security_headers(client, app, world, signed_in):
    if signed_in:
        await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    seen = 0
    for path in _routes(app, "GET"):
        if PARAM.search(path) or path.startswith("/static"):
            continue
        response = await client.get(path)
        _assert_headers(response, f"GET {path} ({response.status_code})")
        seen += 1
    for path in ("/nao-existe", "/static/nao-existe.css", "/portal/debtors/nao-uuid"):
        _assert_headers(await client.get(path), f"GET {path}")
    _assert_headers(await client.post("/webhooks/stripe", content=b"{}"), "POST /webhooks/stripe")
    _assert_headers(await client.request("DELETE", "/"), "DELETE /")
    assert seen > 20
