"""Staff sign-in: passwords, throttling, cookies, CSRF, sessions, TOTP, password reset."""

from __future__ import annotations

import re
import time
import uuid

import pyotp
from sqlalchemy import func, select

from core.db import Scope
from tenants.models import AuditEvent, StaffSession, TenantMembership, User
from tenants.roles import Role
from tests.conftest import csrf, csrf_from, login_via_form
from tests.factories import PASSWORD

GENERIC = "E-mail ou senha incorretos."


async def test_owner_signs_in_and_sees_the_tenant_home(client, world):
    response = await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    assert response.headers["location"] == "/portal/home"
    home = await client.get("/portal/home")
    assert home.status_code == 200
    assert world.a.tenant.name in home.text


async def test_wrong_password_and_unknown_email_get_the_same_generic_answer(client, world):
    wrong = await login_via_form(client, world.a.users[Role.OWNER], "not the password", expect=400)
    unknown = await login_via_form(
        client, f"nobody-{uuid.uuid4().hex}@example.test", "whatever1234", expect=400
    )
    assert GENERIC in wrong.text and GENERIC in unknown.text
    assert wrong.status_code == unknown.status_code

    def page_without_values(text: str) -> str:  # the e-mail typed and the CSRF token differ
        return re.sub(r'value="[^"]*"', "", text)

    assert page_without_values(wrong.text) == page_without_values(unknown.text)


async def test_session_cookie_is_secure_httponly_and_samesite(client, world):
    response = await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    cookie = response.headers["set-cookie"].lower()
    assert "quita_staff=" in cookie
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


async def test_five_failures_lock_the_account_for_a_while(client, world):
    email = world.a.users[Role.ANALYST]
    for _ in range(5):
        await login_via_form(client, email, "wrong password!", expect=400)
    blocked = await login_via_form(client, email, PASSWORD, expect=429)
    assert "Muitas tentativas" in blocked.text


async def test_failures_on_ten_accounts_from_one_address_lock_the_address(client, world):
    # Distinct unknown accounts from one address (spraying): the address is throttled.
    for _ in range(10):
        await login_via_form(
            client, f"spray-{uuid.uuid4().hex}@example.test", "guess123456", expect=400
        )
    blocked = await login_via_form(client, world.a.users[Role.VIEWER], PASSWORD, expect=429)
    assert "Muitas tentativas" in blocked.text


async def test_failed_and_successful_logins_are_audited(client, world, db):
    email = world.b.users[Role.ADMIN]
    await login_via_form(client, email, "wrong password!", expect=400)
    await login_via_form(client, email, PASSWORD)
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        actions = set(
            (
                await session.scalars(
                    select(AuditEvent.action).where(AuditEvent.actor_id == user.id)
                )
            ).all()
        )
        failed = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "login.failed", AuditEvent.actor_label.like(email[0] + "***@%")
            )
        )
    assert "login.succeeded" in actions
    assert failed and failed >= 1


async def test_login_without_csrf_token_is_refused(client, world):
    await client.get("/portal/")
    response = await client.post(
        "/portal/login", data={"email": world.a.users[Role.OWNER], "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "quita_staff" not in response.headers.get("set-cookie", "")


async def test_a_session_cookie_planted_before_login_is_not_adopted(client, world, db):
    client.cookies.set(
        "quita_staff", "attacker-chosen-value", domain="testserver.local", path="/portal"
    )
    response = await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    issued = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert issued != "attacker-chosen-value" and len(issued) >= 40
    async with db.session(Scope.system()) as session:
        from core.security import token_digest

        assert await session.get(StaffSession, token_digest("attacker-chosen-value")) is None


async def test_pages_need_a_session(client):
    response = await client.get("/portal/home")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/portal/?next=/portal/home")


async def test_logout_ends_the_session(client, world):
    await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    token = await csrf(client, "/portal/home")
    await client.post("/portal/logout", data={"_csrf_token": token})
    assert (await client.get("/portal/home")).status_code in (302, 303)


async def test_logout_everywhere_ends_every_session_of_the_user(client, other_client, world):
    email = world.a.users[Role.ADMIN]
    await login_via_form(client, email, PASSWORD)
    await login_via_form(other_client, email, PASSWORD)
    assert (await other_client.get("/portal/home")).status_code == 200
    token = await csrf(client, "/portal/security")
    await client.post("/portal/logout", data={"_csrf_token": token, "everywhere": "1"})
    assert (await other_client.get("/portal/home")).status_code in (302, 303)


async def test_password_reset_by_emailed_single_use_link(client, world, outbox):
    email = world.a.users[Role.VIEWER]
    page = await client.get("/portal/password/forgot")
    response = await client.post(
        "/portal/password/forgot", data={"email": email, "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 200
    (message,) = await outbox.to(email)
    link = re.search(r"https://testserver.local(/portal/password/reset/\S+)", message.body_text)
    assert link, message.body_text
    path = link.group(1)
    form = await client.get(path)
    assert form.status_code == 200
    new_password = "a brand new passphrase"
    done = await client.post(
        path,
        data={
            "password": new_password,
            "confirm": new_password,
            "_csrf_token": csrf_from(form.text),
        },
    )
    assert done.status_code in (302, 303)
    await login_via_form(client, email, PASSWORD, expect=400)
    await login_via_form(client, email, new_password)
    reused = await client.get(path)
    assert reused.status_code == 400
    assert "inválido ou expirou" in reused.text


async def test_password_reset_for_unknown_email_answers_the_same_and_sends_nothing(client, outbox):
    address = f"ghost-{uuid.uuid4().hex}@example.test"
    page = await client.get("/portal/password/forgot")
    response = await client.post(
        "/portal/password/forgot", data={"email": address, "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 200
    assert "Se este e-mail pertence a uma conta" in response.text
    assert await outbox.to(address) == []


async def test_short_new_password_is_refused_with_the_reason(client, world, outbox):
    email = world.b.users[Role.VIEWER]
    page = await client.get("/portal/password/forgot")
    await client.post(
        "/portal/password/forgot", data={"email": email, "_csrf_token": csrf_from(page.text)}
    )
    (message,) = await outbox.to(email)
    path = re.search(r"https://testserver.local(\S+)", message.body_text).group(1)  # type: ignore[union-attr]
    form = await client.get(path)
    response = await client.post(
        path, data={"password": "short", "confirm": "short", "_csrf_token": csrf_from(form.text)}
    )
    assert response.status_code == 400
    assert "pelo menos 10 caracteres" in response.text


async def test_totp_second_factor(client, world):
    email = world.b.users[Role.ANALYST]
    await login_via_form(client, email, PASSWORD)
    page = await client.get("/portal/security")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
    wrong = await client.post(
        "/portal/security/totp",
        data={"secret": secret, "code": "000000", "_csrf_token": csrf_from(page.text)},
    )
    assert wrong.status_code == 400
    enabled = await client.post(
        "/portal/security/totp",
        data={
            "secret": secret,
            "code": pyotp.TOTP(secret).now(),
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert enabled.status_code in (302, 303)
    client.cookies.clear()
    first = await login_via_form(client, email, PASSWORD)
    assert first.headers["location"].startswith("/portal/login/totp")
    # Half signed in: no access yet.
    assert (await client.get("/portal/home")).status_code in (302, 303)
    form = await client.get("/portal/login/totp")
    bad = await client.post(
        "/portal/login/totp", data={"code": "123456", "_csrf_token": csrf_from(form.text)}
    )
    assert bad.status_code == 400
    # The enrolment code's time-step is spent; the next step's code is accepted (drift).
    good = await client.post(
        "/portal/login/totp",
        data={
            "code": pyotp.TOTP(secret).at(time.time() + 30),
            "_csrf_token": csrf_from(form.text),
        },
    )
    assert good.status_code in (302, 303)
    assert (await client.get("/portal/home")).status_code == 200


async def test_deactivated_member_loses_access_at_once(client, other_client, world, db):
    email = world.a.users[Role.ANALYST]
    await login_via_form(other_client, email, PASSWORD)
    assert (await other_client.get("/portal/debtors")).status_code == 200
    await login_via_form(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/users")
    membership = world.a.memberships[Role.ANALYST]
    response = await client.post(
        f"/portal/users/{membership}/active",
        data={"active": "0", "_csrf_token": csrf_from(page.text)},
    )
    assert response.status_code in (302, 303)
    assert (await other_client.get("/portal/debtors")).status_code != 200
    async with db.session(Scope.tenant(world.a.id)) as session:
        row = await session.get_one(TenantMembership, membership)
        assert row.is_active is False
