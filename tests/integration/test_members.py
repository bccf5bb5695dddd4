"""Tenant admins manage their staff: invitations, roles, deactivation, audit."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from core.db import Scope
from tenants.models import AuditEvent, TenantMembership
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD


async def _users_page(client):
    page = await client.get("/portal/users")
    assert page.status_code == 200
    return page


async def test_admin_invites_a_user_who_sets_a_password_and_signs_in(client, world, outbox, db):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await _users_page(client)
    email = f"new-{uuid.uuid4().hex[:8]}@example.test"
    response = await client.post(
        "/portal/users",
        data={
            "email": email,
            "name": "Nova Pessoa",
            "role": "analyst",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code in (302, 303), response.text[:400]
    (message,) = await outbox.to(email)
    assert world.a.tenant.name in message.subject
    path = re.search(r"https://testserver.local(/portal/invite/\S+)", message.body_text).group(1)  # type: ignore[union-attr]
    client.cookies.clear()
    form = await client.get(path)
    assert form.status_code == 200 and "Nova Pessoa" in form.text
    chosen = "uma senha bem comprida"
    done = await client.post(
        path, data={"password": chosen, "confirm": chosen, "_csrf_token": csrf_from(form.text)}
    )
    assert done.status_code in (302, 303)
    await login(client, email, chosen)
    # The invitation waits for the person's answer, even for a new account.
    waiting = await client.get("/portal/debtors")
    assert waiting.status_code == 303 and waiting.headers["location"].startswith("/portal/credor")
    chooser = await client.get(waiting.headers["location"])
    assert world.a.tenant.name in chooser.text
    accept = re.search(r'action="(/portal/convites/[^"]+/aceitar)"', chooser.text)
    assert accept is not None
    joined = await client.post(accept.group(1), data={"_csrf_token": csrf_from(chooser.text)})
    assert joined.status_code == 303
    assert (await client.get("/portal/debtors")).status_code == 200
    assert (await client.get("/portal/users")).status_code == 403  # analysts don't manage users
    async with db.session(Scope.tenant(world.a.id)) as session:
        invited = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.invited")
        )
    assert invited == 1


async def test_malformed_invitation_shows_the_field_error_and_saves_nothing(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await _users_page(client)
    response = await client.post(
        "/portal/users",
        data={
            "email": "not-an-email",
            "name": "Alguém",
            "role": "viewer",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 400
    assert "Informe um e-mail válido." in response.text
    assert 'aria-invalid="true"' in response.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        count = await session.scalar(select(func.count()).select_from(TenantMembership))
    assert count == 4


async def test_invitation_without_csrf_token_is_refused_and_changes_nothing(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    response = await client.post(
        "/portal/users", data={"email": "x@example.test", "name": "X", "role": "viewer"}
    )
    assert response.status_code == 403
    wrong = await client.post(
        "/portal/users",
        data={"email": "x@example.test", "name": "X", "role": "viewer", "_csrf_token": "forged"},
    )
    assert wrong.status_code == 403
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(TenantMembership)) == 4


async def test_admin_cannot_make_anyone_owner(client, world, db):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await _users_page(client)
    target = world.a.memberships[Role.VIEWER]
    response = await client.post(
        f"/portal/users/{target}/role", data={"role": "owner", "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 400
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.get_one(TenantMembership, target)).role == Role.VIEWER


async def test_owner_changes_a_role_and_it_is_audited(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await _users_page(client)
    target = world.a.memberships[Role.VIEWER]
    response = await client.post(
        f"/portal/users/{target}/role",
        data={"role": "analyst", "_csrf_token": csrf_from(page.text)},
    )
    assert response.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.get_one(TenantMembership, target)).role == Role.ANALYST
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.role_changed")
        )
    assert event is not None and event.details == {"from": "viewer", "to": "analyst"}
    assert event.ip


async def test_the_last_owner_cannot_be_demoted(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await _users_page(client)
    owner = world.a.memberships[Role.OWNER]
    response = await client.post(
        f"/portal/users/{owner}/role", data={"role": "admin", "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 400
    assert "pelo menos um proprietário" in response.text


async def test_viewer_cannot_open_the_team_page(client, world):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    assert (await client.get("/portal/users")).status_code == 403
