"""A tenant cannot add another tenant's user without consent, and a person with several
tenants works in the one they chose (issue 26 item 3).

Inviting an e-mail that already has an account makes a pending invitation: no
membership, nothing of the inviting tenant reachable, the tenant sees only the name it
typed; the person accepts or declines after signing in (audited). With several
memberships the person chooses where to work (the last one chosen is preselected), and
a form made for one tenant is refused after a switch to another."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from core.db import Scope
from tenants.models import (
    AuditEvent,
    IdentityProvider,
    InvitationStatus,
    Tenant,
    TenantInvitation,
    TenantMembership,
    User,
)
from tenants.roles import Role
from tenants.services.directory import add_tenant_member
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD


async def _invite(client, email: str, name: str, role: str = "admin"):
    page = await client.get("/portal/users")
    assert page.status_code == 200
    return await client.post(
        "/portal/users",
        data={"email": email, "name": name, "role": role, "_csrf_token": csrf_from(page.text)},
    )


async def _user(db, email: str) -> User:
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


async def _memberships(db, user_id: uuid.UUID) -> list[tuple[uuid.UUID, Role, bool]]:
    async with db.session(Scope.system()) as session:
        rows = await session.execute(
            select(
                TenantMembership.tenant_id, TenantMembership.role, TenantMembership.is_active
            ).where(TenantMembership.user_id == user_id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def _actions(db, tenant_id: uuid.UUID, action: str) -> list[AuditEvent]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.all())


async def _second_membership(db, email: str, tenant_id: uuid.UUID, role: Role) -> None:
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        add_tenant_member(session, await session.get_one(Tenant, tenant_id), user, role)
        await session.commit()


async def _choose(client, tenant_id: uuid.UUID) -> None:
    chooser = await client.get("/portal/credor")
    assert chooser.status_code == 200
    chosen = await client.post(
        "/portal/tenant",
        data={"tenant_id": str(tenant_id), "_csrf_token": csrf_from(chooser.text)},
    )
    assert chosen.status_code == 303


async def test_inviting_another_tenants_user_only_asks_and_opens_nothing(
    client, other_client, world, db
):
    victim_email = world.a.users[Role.OWNER]
    victim = await _user(db, victim_email)
    await login(other_client, world.b.users[Role.OWNER], PASSWORD)
    sent = await _invite(other_client, victim_email, "Fulano Qualquer")
    new = await _invite(other_client, f"ninguem-{uuid.uuid4().hex[:8]}@example.test", "Nova")
    # The same answer as for an e-mail without an account.
    assert sent.status_code == new.status_code == 302
    assert sent.headers["location"] == new.headers["location"]
    assert await _memberships(db, victim.id) == [(world.a.id, Role.OWNER, True)]
    team = await other_client.get("/portal/users")
    assert "Fulano Qualquer" in team.text and victim.name not in team.text
    # The victim's sign-in lands in their own tenant; the invitation is only announced.
    await login(client, victim_email, PASSWORD)
    home = await client.get("/portal/home")
    assert home.status_code == 200 and world.a.tenant.name in home.text
    assert "Convites para responder: 1" in home.text
    assert (await client.get(f"/portal/debtors/{world.b.debtor_ids[0]}")).status_code == 404
    refused = await client.post(
        "/portal/tenant",
        data={"tenant_id": str(world.b.id), "_csrf_token": csrf_from(home.text)},
    )
    assert refused.headers["location"].startswith("/portal/credor")
    assert (await client.get(f"/portal/debtors/{world.b.debtor_ids[0]}")).status_code == 404
    # The victim declines: audited at the inviting tenant, still no membership.
    chooser = await client.get("/portal/credor")
    assert world.b.tenant.name in chooser.text
    decline = re.search(r'action="(/portal/convites/[^"]+/recusar)"', chooser.text)
    assert decline is not None
    answered = await client.post(decline.group(1), data={"_csrf_token": csrf_from(chooser.text)})
    assert answered.status_code == 303
    assert await _memberships(db, victim.id) == [(world.a.id, Role.OWNER, True)]
    (event,) = await _actions(db, world.b.id, "user.invitation_declined")
    assert event.actor_id == victim.id
    # A declined invitation cannot be accepted afterwards.
    late = decline.group(1).replace("/recusar", "/aceitar")
    home = await client.get("/portal/home")
    again = await client.post(late, data={"_csrf_token": csrf_from(home.text)})
    assert again.status_code == 404
    assert await _memberships(db, victim.id) == [(world.a.id, Role.OWNER, True)]


async def test_accepting_joins_with_the_invited_role_and_works_there(
    client, other_client, world, db
):
    email = world.a.users[Role.ANALYST]
    person = await _user(db, email)
    await login(other_client, world.b.users[Role.ADMIN], PASSWORD)
    await _invite(other_client, email, "Consultora", role="viewer")
    again = await _invite(other_client, email, "Consultora")
    assert again.status_code == 400 and 'id="e-email"' in again.text
    await login(client, email, PASSWORD)
    chooser = await client.get("/portal/credor")
    accept = re.search(r'action="(/portal/convites/[^"]+/aceitar)"', chooser.text)
    assert accept is not None
    joined = await client.post(accept.group(1), data={"_csrf_token": csrf_from(chooser.text)})
    assert joined.status_code == 303
    assert sorted(await _memberships(db, person.id)) == sorted(
        [(world.a.id, Role.ANALYST, True), (world.b.id, Role.VIEWER, True)]
    )
    assert await _actions(db, world.b.id, "user.invitation_accepted")
    home = await client.get("/portal/home")
    assert home.status_code == 200 and f"Trabalhando em {world.b.tenant.name}" in home.text
    assert (await client.get(f"/portal/debtors/{world.b.debtor_ids[0]}")).status_code == 200


async def test_an_inviting_tenant_can_withdraw_an_unanswered_invitation(
    client, other_client, world, db
):
    email = world.a.users[Role.VIEWER]
    await login(other_client, world.b.users[Role.OWNER], PASSWORD)
    await _invite(other_client, email, "Alguém")
    team = await other_client.get("/portal/users")
    withdraw = re.search(r'action="(/portal/users/convites/[^"]+/cancelar)"', team.text)
    assert withdraw is not None
    done = await other_client.post(withdraw.group(1), data={"_csrf_token": csrf_from(team.text)})
    assert done.status_code == 303
    await login(client, email, PASSWORD)
    home = await client.get("/portal/home")
    assert home.status_code == 200 and "Convites para responder" not in home.text
    async with db.session(Scope.tenant(world.b.id)) as session:
        (status,) = await session.scalars(select(TenantInvitation.status))
    assert status == InvitationStatus.REVOKED
    # Another tenant cannot withdraw B's invitations (404 in its own scope).
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/users")
    other = await client.post(withdraw.group(1), data={"_csrf_token": csrf_from(page.text)})
    assert other.status_code == 404


async def test_with_several_tenants_the_person_chooses_and_the_last_choice_is_preselected(
    client, world, db
):
    email = world.a.users[Role.OWNER]
    await _second_membership(db, email, world.b.id, Role.OWNER)
    await login(client, email, PASSWORD)
    # No tenant is guessed: pages and writes wait for the choice.
    first = await client.get("/portal/home")
    assert (
        first.status_code == 303 and first.headers["location"] == "/portal/credor?next=/portal/home"
    )
    chooser = await client.get(first.headers["location"])
    assert world.a.tenant.name in chooser.text and world.b.tenant.name in chooser.text
    write = await client.post(
        "/portal/sso/configuracao",
        data={"issuer": "https://idp.example.com", "_csrf_token": csrf_from(chooser.text)},
    )
    assert write.status_code == 303 and write.headers["location"].startswith("/portal/credor")
    await _choose(client, world.b.id)
    home = await client.get("/portal/home")
    assert f"Trabalhando em {world.b.tenant.name}" in home.text
    # Signing in again: the chooser comes back, with B (chosen last) preselected.
    client.cookies.clear()
    await login(client, email, PASSWORD)
    chooser = await client.get("/portal/credor")
    checked = re.search(r'value="([0-9a-f-]{36})" checked', chooser.text)
    assert checked is not None and checked.group(1) == str(world.b.id)
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None and user.last_tenant_id == world.b.id


async def test_sso_settings_go_to_the_chosen_tenant_and_a_stale_form_is_refused(
    client, other_client, world, db
):
    email = world.a.users[Role.OWNER]
    await _second_membership(db, email, world.b.id, Role.OWNER)
    await login(client, email, PASSWORD)
    await _choose(client, world.b.id)
    page = await client.get("/portal/sso/configuracao")
    assert f"Trabalhando em {world.b.tenant.name}" in page.text
    assert f'name="_tenant" value="{world.b.id}"' in page.text
    form = {
        "issuer": "https://idp.example.com",
        "client_id": "quita",
        "client_secret": "s3cret",
        "email_domain": f"b-{uuid.uuid4().hex[:8]}.example",
        "default_role": "viewer",
        "is_active": "on",
        "_csrf_token": csrf_from(page.text),
        "_tenant": str(world.b.id),
    }
    # Another tab switches to A; the form made for B is then posted.
    await _choose(client, world.a.id)
    stale = await client.post("/portal/sso/configuracao", data=form)
    assert stale.status_code == 409 and world.a.tenant.name in stale.text
    # Routes guarded by a permission check it too, with or without a tenant session.
    stale_proof = await client.post(
        "/portal/sso/dominio/email",
        data={"mailbox": "admin", "_csrf_token": form["_csrf_token"], "_tenant": str(world.b.id)},
    )
    assert stale_proof.status_code == 409
    async with db.session(Scope.system()) as session:
        count = await session.scalar(
            select(func.count())
            .select_from(IdentityProvider)
            .where(IdentityProvider.tenant_id.in_([world.a.id, world.b.id]))
        )
    assert count == 0
    # Back in B, the same form saves, in B.
    await _choose(client, world.b.id)
    saved = await client.post("/portal/sso/configuracao", data=form)
    assert saved.status_code == 200, saved.text[-400:]
    async with db.session(Scope.system()) as session:
        owners = list(
            await session.scalars(
                select(IdentityProvider.tenant_id).where(
                    IdentityProvider.tenant_id.in_([world.a.id, world.b.id])
                )
            )
        )
    assert owners == [world.b.id]
