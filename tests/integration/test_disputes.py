"""Disputes freeze a debt until the creditor answers; "not mine" stops a contact everywhere."""

from __future__ import annotations

import re

from sqlalchemy import select

from collection.models import Contact, Debt, DebtStatus, Dispute
from core.db import Scope
from tenants.models import AuditEvent
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_agreements import _offer_links, _verified


async def test_a_dispute_freezes_the_debt_until_the_creditor_answers(client, world, db):
    page = await _verified(client, world)
    assert _offer_links(page, world.a.id)
    form = await client.get(f"/contestar/{world.a.debt_ids[0]}")
    assert form.status_code == 200
    sent = await client.post(
        f"/contestar/{world.a.debt_ids[0]}",
        data={
            "kind": "already_paid",
            "text": "Paguei em janeiro, tenho o comprovante.",
            "_csrf_token": csrf_from(form.text),
        },
    )
    assert sent.status_code in (302, 303)
    again = await client.post(
        f"/contestar/{world.a.debt_ids[0]}",
        data={"kind": "already_paid", "_csrf_token": csrf_from(form.text)},
    )
    assert again.status_code in (302, 303)
    after = (await client.get("/minhas-dividas")).text
    assert "em contestação" in after
    assert not _offer_links(after, world.a.id)  # the only debt at A is frozen: no offers
    async with db.session(Scope.tenant(world.a.id)) as session:
        disputes = (await session.scalars(select(Dispute))).all()
        assert len(disputes) == 1 and disputes[0].status == "open"
        dispute_id = disputes[0].id
    # The creditor sees it in the portal and answers.
    client.cookies.clear()
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    portal = await client.get("/portal/disputes")
    assert portal.status_code == 200 and "Paguei em janeiro" in portal.text
    empty = await client.post(
        f"/portal/disputes/{dispute_id}/answer",
        data={"outcome": "upheld", "answer": " ", "_csrf_token": csrf_from(portal.text)},
    )
    assert empty.status_code == 400
    answered = await client.post(
        f"/portal/disputes/{dispute_id}/answer",
        data={
            "outcome": "upheld",
            "answer": "Pagamento localizado; dívida baixada.",
            "_csrf_token": csrf_from(portal.text),
        },
    )
    assert answered.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        dispute = await session.get_one(Dispute, dispute_id)
        assert dispute.status == "answered" and dispute.outcome == "upheld"
        debt = await session.get_one(Debt, world.a.debt_ids[0])
        assert debt.status == DebtStatus.REGULARIZED
        actions = set((await session.scalars(select(AuditEvent.action))).all())
        assert {"dispute.opened", "dispute.answered"} <= actions


async def test_another_tenant_cannot_answer_a_dispute(client, world, db):
    form_page = await _verified(client, world)
    assert form_page
    form = await client.get(f"/contestar/{world.a.debt_ids[0]}")
    await client.post(
        f"/contestar/{world.a.debt_ids[0]}",
        data={"kind": "wrong_amount", "_csrf_token": csrf_from(form.text)},
    )
    async with db.session(Scope.tenant(world.a.id)) as session:
        dispute_id = (await session.scalars(select(Dispute.id))).one()
    client.cookies.clear()
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/disputes")
    assert str(dispute_id) not in page.text
    response = await client.post(
        f"/portal/disputes/{dispute_id}/answer",
        data={"outcome": "upheld", "answer": "x", "_csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 404


async def test_a_contact_reported_as_not_mine_is_stopped_for_every_creditor(client, world, db):
    page = await _verified(client, world)
    assert "Não é meu" in page
    contact_id = re.search(r'action="/contatos/([0-9a-f-]+)/nao-e-meu"', page).group(1)  # type: ignore[union-attr]
    response = await client.post(
        f"/contatos/{contact_id}/nao-e-meu", data={"_csrf_token": csrf_from(page)}
    )
    assert response.status_code in (302, 303)
    async with db.session(Scope.system()) as session:
        reported = await session.get_one(Contact, __import__("uuid").UUID(contact_id))
        same = (
            await session.scalars(
                select(Contact).where(
                    Contact.kind == reported.kind, Contact.value == reported.value
                )
            )
        ).all()
    assert same and all(c.not_mine_at is not None for c in same)
    assert "informado como não seu" in (await client.get("/minhas-dividas")).text


async def test_a_made_up_debt_or_contact_is_not_found(client, world):
    import uuid

    page = await _verified(client, world)
    assert (await client.get(f"/contestar/{uuid.uuid4()}")).status_code == 404
    assert (await client.get(f"/contestar/{world.a.debt_ids[1]}")).status_code == 404  # not theirs
    missing = await client.post(
        f"/contatos/{uuid.uuid4()}/nao-e-meu", data={"_csrf_token": csrf_from(page)}
    )
    assert missing.status_code == 404


async def test_stopping_a_channel_correcting_a_contact_and_a_copy_of_the_data(client, world, db):
    import json

    from collection.models import ContactKind, PrivacyRequest

    page = await _verified(client, world)
    stopped = await client.post(
        "/direitos/parar", data={"channel": "email", "_csrf_token": csrf_from(page)}
    )
    assert stopped.status_code in (302, 303)
    bad = await client.post(
        "/direitos/contato", data={"kind": "phone", "value": "123", "_csrf_token": csrf_from(page)}
    )
    assert bad.status_code == 400 and "DDD" in bad.text
    added = await client.post(
        "/direitos/contato",
        data={"kind": "phone", "value": "(11) 98765-4321", "_csrf_token": csrf_from(page)},
    )
    assert added.status_code in (302, 303)
    copy = await client.get("/direitos/copia")
    assert copy.status_code == 200 and "attachment" in copy.headers["content-disposition"]
    data = json.loads(copy.content)
    assert {c["creditor"]["name"] for c in data["creditors"]} == {
        world.a.tenant.legal_name,
        world.b.tenant.legal_name,
    }
    assert any(x["value"] == "+5511987654321" for c in data["creditors"] for x in c["contacts"])
    async with db.session(Scope.tenant(world.a.id)) as session:
        contacts = (
            await session.scalars(select(Contact).where(Contact.debtor_id == world.a.debtor_ids[0]))
        ).all()
        emails = [c for c in contacts if c.kind == ContactKind.EMAIL]
        assert emails and all(c.opted_out_at is not None for c in emails)
        kinds = set((await session.scalars(select(PrivacyRequest.kind))).all())
    assert kinds == {"opt_out", "correction", "copy"}
    # The creditor sees the requests in the portal.
    client.cookies.clear()
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    portal = await client.get("/portal/privacy")
    assert portal.status_code == 200
    assert "parar mensagens" in portal.text and "cópia dos dados" in portal.text
    client.cookies.clear()
    await login(client, world.b.users[Role.VIEWER], PASSWORD)
    other = await client.get("/portal/privacy")
    assert world.a.debtor_names[0] not in other.text
