"""The creditor sets its Stripe connected account, and sees the payments that matched
nothing (kept for manual matching)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from collection.models import GatewayEvent
from core.db import Scope
from tenants.models import AuditEvent, Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD


async def test_owner_sets_the_account_and_a_bad_one_is_refused(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/pagamentos")
    assert page.status_code == 200 and world.a.tenant.stripe_account in page.text
    token = csrf_from(page.text)
    bad = await client.post(
        "/portal/pagamentos", data={"stripe_account": "conta 123", "_csrf_token": token}
    )
    assert bad.status_code == 400 and 'id="e-account"' in bad.text
    good = await client.post(
        "/portal/pagamentos", data={"stripe_account": "acct_1NewAccount99", "_csrf_token": token}
    )
    assert good.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "payments.account_set")
        )
    assert tenant.stripe_account == "acct_1NewAccount99" and event is not None


async def test_a_viewer_cannot_change_payment_settings(client, world):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    assert (await client.get("/portal/pagamentos")).status_code == 403


async def test_unmatched_payments_of_this_account_only_are_listed(client, world, db):
    now = datetime.now(UTC)
    async with db.session(Scope.system()) as session:
        for account, intent in (
            (world.a.tenant.stripe_account, "pi_orphan_mine"),
            (world.b.tenant.stripe_account, "pi_orphan_other"),
        ):
            session.add(
                GatewayEvent(
                    provider_event_id=f"evt_{uuid.uuid4().hex}",
                    type="payment_intent.succeeded",
                    account=account,
                    object_id=intent,
                    occurred_at=now,
                    received_at=now,
                    outcome="unknown_payment",
                    payload={"object": {"amount": 12_345}},
                )
            )
        await session.commit()
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await client.get("/portal/pagamentos")
    assert "pi_orphan_mine" in page.text, page.text[page.text.find("<tbody>") :][:600]
    assert "123,45" in page.text
    assert "pi_orphan_other" not in page.text
