"""Staff authentication abuse probes (issue 26): TOTP guessing and replay, reset links
and reset e-mail floods, and lockouts that an attacker or a shared NAT could cause."""

from __future__ import annotations

import contextlib
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.db import Database, Scope
from core.settings import Settings
from tenants.models import User
from tenants.roles import Role
from tenants.services.auth import (
    ACCOUNT_FAILURES,
    BACKOFF_BASE,
    RESET_PER_ACCOUNT,
    RESET_PER_ADDRESS,
    TOTP_FAILURES,
    AuthService,
    SignInError,
)
from tests.conftest import csrf_from, login_via_form
from tests.factories import PASSWORD

WRONG = "not the password!"


def _address() -> str:
    return "10." + ".".join(str(random.randint(0, 255)) for _ in range(3))


def _service(db: Database, settings: Settings) -> tuple[AuthService, FrozenClock]:
    clock = FrozenClock(datetime.now(UTC))
    return AuthService(db, settings.security, clock, settings.base_url), clock


async def _enrol(db: Database, email: str) -> str:
    secret = pyotp.random_base32()
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        user.totp_secret = secret
        user.totp_last_step = None
        await session.commit()
    return secret


def _wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = time.time()
    good = {totp.at(now + drift) for drift in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in good)


async def _totp(client, code: str, expect: int):  # type: ignore[no-untyped-def]
    form = await client.get("/portal/login/totp")
    response = await client.post(
        "/portal/login/totp", data={"code": code, "_csrf_token": csrf_from(form.text)}
    )
    assert response.status_code == expect, response.text[:300]
    return response


# -- 1. second factor -------------------------------------------------------------------


async def test_a_good_password_does_not_clear_second_factor_failures(client, world, db):
    email = world.a.users[Role.ANALYST]
    secret = await _enrol(db, email)
    wrong = _wrong_code(secret)
    for _ in range(TOTP_FAILURES):
        client.cookies.clear()
        await login_via_form(client, email, PASSWORD)
        await _totp(client, wrong, 400)
    client.cookies.clear()
    await login_via_form(client, email, PASSWORD)
    refused = await _totp(client, pyotp.TOTP(secret).now(), 429)
    assert "Muitas tentativas" in refused.text
    assert (await client.get("/portal/home")).status_code in (302, 303)


async def test_a_totp_code_signs_in_once_only(client, other_client, world, db):
    email = world.b.users[Role.ANALYST]
    secret = await _enrol(db, email)
    code = pyotp.TOTP(secret).now()
    await login_via_form(client, email, PASSWORD)
    await login_via_form(other_client, email, PASSWORD)
    await _totp(client, code, 302)
    await _totp(other_client, code, 400)
    assert (await client.get("/portal/home")).status_code == 200
    assert (await other_client.get("/portal/home")).status_code in (302, 303)


async def test_an_older_code_after_a_newer_one_is_refused(db, settings, world):
    email = world.a.users[Role.VIEWER]
    secret = await _enrol(db, email)
    auth, clock = _service(db, settings)
    totp = pyotp.TOTP(secret)
    first = await auth.sign_in(email, PASSWORD, ip=_address(), user_agent="t")
    await auth.verify_second_factor(
        first.token, totp.at(clock.now() + timedelta(seconds=30)), ip="x"
    )
    second = await auth.sign_in(email, PASSWORD, ip=_address(), user_agent="t")
    with pytest.raises(SignInError):
        await auth.verify_second_factor(second.token, totp.at(clock.now()), ip="x")


# -- 2. password reset ------------------------------------------------------------------


async def _forgot(client, email: str, expect: int = 200):  # type: ignore[no-untyped-def]
    page = await client.get("/portal/password/forgot")
    response = await client.post(
        "/portal/password/forgot", data={"email": email, "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == expect, response.text[:300]
    return response


def _link(body: str) -> str:
    match = re.search(r"https://testserver.local(/portal/password/reset/\S+)", body)
    assert match, body
    return match.group(1)


async def test_a_new_reset_link_revokes_the_older_one(client, world, outbox):
    email = world.a.users[Role.ADMIN]
    await _forgot(client, email)
    await _forgot(client, email)
    old, new = await outbox.to(email)
    assert (await client.get(_link(old.body_text))).status_code == 400
    assert (await client.get(_link(new.body_text))).status_code == 200


async def test_using_a_reset_link_revokes_every_other_link(db, settings, world):
    auth, _clock = _service(db, settings)
    email = world.b.users[Role.ADMIN]
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        one = auth.issue_token(session, user, "reset", timedelta(hours=1))
        two = auth.issue_token(session, user, "reset", timedelta(hours=1))
        invite = auth.issue_token(session, user, "invite", timedelta(hours=1))
        await session.commit()
    assert await auth.set_password_with_token(one, "a brand new passphrase", ip="x")
    assert await auth.token_user(two, ("reset",)) is None
    assert await auth.token_user(invite, ("invite",)) is None
    assert not await auth.set_password_with_token(two, "another new passphrase", ip="x")


async def test_a_password_change_revokes_live_reset_links(db, settings, world, outbox):
    auth, _clock = _service(db, settings)
    email = world.a.users[Role.OWNER]
    await auth.request_password_reset(email, ip=_address())
    (message,) = await outbox.to(email)
    token = _link(message.body_text).rsplit("/", 1)[1]
    assert await auth.token_user(token, ("reset",)) is not None
    signed_in = await auth.sign_in(email, PASSWORD, ip=_address(), user_agent="t")
    principal = await auth.principal(signed_in.token)
    assert principal is not None
    assert await auth.change_password(principal, PASSWORD, "a brand new passphrase", ip="x")
    assert await auth.token_user(token, ("reset",)) is None


async def test_reset_emails_are_limited_per_account(client, world, outbox):
    email = world.b.users[Role.OWNER]
    for _ in range(RESET_PER_ACCOUNT + 2):
        response = await _forgot(client, email)
        assert "Se este e-mail pertence a uma conta" in response.text
    assert len(await outbox.to(email)) == RESET_PER_ACCOUNT


async def test_reset_requests_are_limited_per_address(client):
    for _ in range(RESET_PER_ADDRESS):
        await _forgot(client, f"flood-{uuid.uuid4().hex}@example.test")
    refused = await _forgot(client, f"flood-{uuid.uuid4().hex}@example.test", expect=429)
    assert "Muitas tentativas" in refused.text


# -- 3. no lockout by others ------------------------------------------------------------


async def test_failures_from_one_address_do_not_lock_the_account_elsewhere(db, settings, world):
    auth, clock = _service(db, settings)
    email = world.a.users[Role.ANALYST]
    attacker, owner = _address(), _address()
    for _ in range(settings.security.login_max_failures):
        with pytest.raises(SignInError) as failed:
            await auth.sign_in(email, WRONG, ip=attacker, user_agent="t")
        assert failed.value.reason == SignInError.Reason.INVALID
    with pytest.raises(SignInError) as refused:
        await auth.sign_in(email, PASSWORD, ip=attacker, user_agent="t")
    assert refused.value.reason == SignInError.Reason.THROTTLED
    # The attacker keeps trying as fast as the delay allows, for a whole window...
    for _ in range(30):
        clock.advance(timedelta(seconds=30))
        with contextlib.suppress(SignInError):
            await auth.sign_in(email, WRONG, ip=attacker, user_agent="t")
    # ...and the right password from the owner's address still works.
    result = await auth.sign_in(email, PASSWORD, ip=owner, user_agent="t")
    assert result.token


async def test_one_person_mistyping_behind_a_nat_does_not_lock_colleagues(client, world):
    office = world.b
    for _ in range(8):
        await login_via_form(
            client, office.users[Role.ANALYST], WRONG, expect=400 if _ < 5 else 429
        )
    client.cookies.clear()
    await login_via_form(client, office.users[Role.VIEWER], PASSWORD)


async def test_the_delay_grows_then_ends(db, settings, world):
    auth, clock = _service(db, settings)
    email = world.b.users[Role.VIEWER]
    here = _address()
    for _ in range(settings.security.login_max_failures):
        with pytest.raises(SignInError):
            await auth.sign_in(email, WRONG, ip=here, user_agent="t")

    async def reason(password: str) -> SignInError.Reason | None:
        try:
            await auth.sign_in(email, password, ip=here, user_agent="t")
        except SignInError as exc:
            return exc.reason
        return None

    assert await reason(PASSWORD) == SignInError.Reason.THROTTLED
    clock.advance(BACKOFF_BASE + timedelta(seconds=1))
    assert await reason(WRONG) == SignInError.Reason.INVALID  # one more try, then...
    clock.advance(BACKOFF_BASE + timedelta(seconds=1))
    assert await reason(PASSWORD) == SignInError.Reason.THROTTLED  # ...twice as long
    clock.advance(BACKOFF_BASE)
    assert await reason(PASSWORD) is None


async def test_many_addresses_slow_the_account_only_for_a_while(db, settings, world):
    auth, clock = _service(db, settings)
    email = world.a.users[Role.VIEWER]
    for _ in range(ACCOUNT_FAILURES):
        with pytest.raises(SignInError):
            await auth.sign_in(email, WRONG, ip=_address(), user_agent="t")
    with pytest.raises(SignInError) as refused:
        await auth.sign_in(email, PASSWORD, ip=_address(), user_agent="t")
    assert refused.value.reason == SignInError.Reason.THROTTLED
    clock.advance(BACKOFF_BASE + timedelta(seconds=1))
    assert (await auth.sign_in(email, PASSWORD, ip=_address(), user_agent="t")).token
