"""Crawl every staff route as a user of tenant A with tenant B's ids: B is nowhere."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import select

from collection.models import Escalation, EscalationKind, NoticeBatch, SpecialOffer
from core.db import Scope
from tenants.models import Tenant, TenantMembership
from tenants.roles import Role
from tenants.services.directory import create_agency, grant_agency
from tests.conftest import csrf, login
from tests.factories import PASSWORD, hand_over, valid_cnpj

PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _staff_routes(app):
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if not route.path.startswith(("/portal", "/api")):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield method, route.path


def _fill(path: str, value: uuid.UUID) -> str:
    return PARAM.sub(lambda m: str(value) if m.group(2) == "uuid" else value.hex * 2, path)


def _markers(world) -> list[str]:
    b = world.b
    return [*b.debtor_names, *b.contracts, *b.users.values(), b.tenant.name]


async def _objects_of_b(db, world) -> list[uuid.UUID]:
    """B's agency work too: a hand-over to an agency of B's, a special offer, an
    escalation and its notice batch (ids a curious user of A might try)."""
    rng = random.Random()
    b = world.b
    async with db.session(Scope.system()) as session:
        agency = await create_agency(
            session, slug=f"ag-b-{uuid.uuid4().hex[:8]}", name="Assessoria B", cnpj=valid_cnpj(rng)
        )
        await session.flush()
        tenant_b = await session.get_one(Tenant, b.id)
        grant_agency(session, tenant_b, agency)
        await session.commit()
    handover_id = await hand_over(db, b.id, b.debtor_ids[0], agency.id)
    offer_id, batch_id, escalation_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with db.session(Scope.tenant(b.id)) as session:
        session.add(
            SpecialOffer(
                id=offer_id,
                tenant_id=b.id,
                debtor_id=b.debtor_ids[0],
                handover_id=handover_id,
                debt_ids=[str(b.debt_ids[0])],
                balance=150_000,
                discount_rate="0.5",
                valid_until=date(2099, 1, 1),
            )
        )
        session.add(NoticeBatch(id=batch_id, tenant_id=b.id, letters=1))
        await session.flush()
        session.add(
            Escalation(
                id=escalation_id,
                tenant_id=b.id,
                debt_id=b.debt_ids[0],
                kind=EscalationKind.NEGATIVACAO,
                status="notice_pending",
                batch_id=batch_id,
                amount=150_000,
            )
        )
        await session.commit()
    return [agency.id, handover_id, offer_id, batch_id, escalation_id]


@pytest.mark.parametrize("who", ["owner", "agency_supervisor"])
async def test_no_route_shows_or_changes_another_tenants_data(client, app, world, db, who):
    email = world.a.users[Role.OWNER] if who == "owner" else world.agency_users[Role.SUPERVISOR]
    await login(client, email, PASSWORD)
    token = await csrf(client, "/portal/home")
    markers = _markers(world)
    b_ids = [world.b.id, *world.b.all_ids(), *await _objects_of_b(db, world)]
    crawled = 0
    for method, path in _staff_routes(app):
        targets = [_fill(path, i) for i in b_ids] if PARAM.search(path) else [path]
        for url in targets:
            if method == "GET":
                response = await client.get(url, params={"q": world.b.debtor_names[0][:12]})
            else:
                response = await client.request(
                    method,
                    url,
                    data={
                        "_csrf_token": token,
                        "tenant_id": str(world.b.id),
                        "role": "viewer",
                        "active": "0",
                        "email": f"probe-{uuid.uuid4().hex[:6]}@example.test",
                        "name": "Probe",
                        "everywhere": "0",
                    },
                )
            crawled += 1
            body = response.text
            for marker in markers:
                assert marker not in body, f"{method} {url} leaked {marker!r}"
            if PARAM.search(path):
                # The API takes bearer tokens, never the staff cookie: 401 there.
                refused = (
                    (400, 401, 403, 404, 405) if path.startswith("/api") else (400, 403, 404, 405)
                )
                assert response.status_code in refused, (
                    f"{method} {url} answered {response.status_code}"
                )
        # Sign in again if a probe ended the session (logout routes).
        if (await client.get("/portal/home")).status_code != 200:
            await login(client, email, PASSWORD)
            token = await csrf(client, "/portal/home")
    assert crawled > 20
    # Nothing of B changed.
    async with db.session(Scope.tenant(world.b.id)) as session:
        rows = (
            await session.execute(
                select(TenantMembership.id, TenantMembership.role, TenantMembership.is_active)
            )
        ).all()
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        mid: (role, True) for role, mid in world.b.memberships.items()
    }
    # And the tenant switcher refused B.
    home = await client.get("/portal/home")
    assert world.b.tenant.name not in home.text
