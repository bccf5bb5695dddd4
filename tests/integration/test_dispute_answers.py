"""The creditor's answer to a dispute reaches the person: on the site and by e-mail, with
the dispute's protocol number (issue 25 item 4)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update

from collection.models import Contact, Dispute, DisputeAttachment
from collection.paperwork import numbers as document_numbers
from core.db import Scope
from core.mail import OutboundEmail
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_agreements import _verified

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PROTOCOL = re.compile(r"CT-\d{4}-\d{6}")


async def open_dispute(client, world, *, files=None, kind="already_paid"):
    """Open a dispute on the shared person's debt at A; returns the response."""
    form = await client.get(f"/contestar/{world.a.debt_ids[0]}")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    return await client.post(
        f"/contestar/{world.a.debt_ids[0]}",
        data={"kind": kind, "text": "Paguei em janeiro.", "_csrf_token": csrf_from(form.text)},
        files=files,
    )


async def answer_as_a(client, world, dispute_id, text="Pagamento localizado; dívida baixada."):
    client.cookies.clear()
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    portal = await client.get("/portal/disputes")
    answered = await client.post(
        f"/portal/disputes/{dispute_id}/answer",
        data={"outcome": "upheld", "answer": text, "_csrf_token": csrf_from(portal.text)},
    )
    assert answered.status_code in (302, 303)
    return portal


async def test_the_creditors_answer_is_shown_and_emailed_with_the_protocol(client, world, db):
    await _verified(client, world)
    sent = await open_dispute(
        client, world, files={"document": ("comprovante.pdf", PDF, "application/pdf")}
    )
    assert sent.status_code in (302, 303)
    location = sent.headers["location"]
    assert location.startswith("/contestacoes/")
    opened = await client.get(location)
    protocol = PROTOCOL.search(opened.text)
    assert opened.status_code == 200 and protocol, opened.text[-1500:]
    assert "aguardando o credor" in opened.text and "no-store" in opened.headers["cache-control"]
    async with db.session(Scope.tenant(world.a.id)) as session:
        dispute = (await session.scalars(select(Dispute))).one()
        assert dispute.protocol == protocol.group(0)
        stored = (await session.scalars(select(DisputeAttachment))).one()
        assert stored.content_type == "application/pdf" and stored.data == PDF
    # The creditor's staff see the protocol and the document, and answer.
    portal = await answer_as_a(client, world, dispute.id)
    assert protocol.group(0) in portal.text and "comprovante.pdf" in portal.text
    document = await client.get(f"/portal/disputes/documentos/{stored.id}")
    assert document.status_code == 200 and document.content == PDF
    assert document.headers["content-type"].startswith("application/pdf")
    assert "attachment" in document.headers["content-disposition"]
    # The e-mail to the person's own address names the creditor, the protocol and the answer.
    async with db.session(Scope.system()) as session:
        email = await session.scalar(
            select(OutboundEmail).where(
                OutboundEmail.template == "dispute_answer",
                OutboundEmail.to_address.like(f"{world.a.debtor_names[0].lower()}%"),
            )
        )
    assert email is not None
    assert email.to_address == f"{world.a.debtor_names[0].lower()}@example.test"
    assert protocol.group(0) in email.subject and protocol.group(0) in email.body_text
    assert "Pagamento localizado" in email.body_text and "procedente" in email.body_text
    assert world.a.tenant.legal_name in email.body_text
    # On the site, the person's dispute page shows the answer, its status and date.
    client.cookies.clear()
    await _verified(client, world)
    listing = await client.get("/contestacoes")
    assert protocol.group(0) in listing.text and "procedente" in listing.text
    page = await client.get(f"/contestacoes/{dispute.id}")
    assert page.status_code == 200
    assert "Pagamento localizado; dívida baixada." in page.text
    assert "Respondida em" in page.text and "procedente" in page.text
    assert (await client.get(f"/contestacoes/{uuid.uuid4()}")).status_code == 404


async def test_the_answer_never_goes_to_a_contact_reported_as_not_mine(client, world, db):
    await _verified(client, world)
    await open_dispute(client, world)
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Contact)
            .where(Contact.debtor_id == world.a.debtor_ids[0])
            .values(not_mine_at=datetime.now(UTC))
        )
        await session.commit()
    async with db.session(Scope.tenant(world.a.id)) as session:
        dispute_id = (await session.scalars(select(Dispute.id))).one()
    await answer_as_a(client, world, dispute_id)
    async with db.session(Scope.system()) as session:
        emails = (
            await session.scalars(
                select(OutboundEmail).where(
                    OutboundEmail.template == "dispute_answer",
                    OutboundEmail.to_address.like(f"{world.a.debtor_names[0].lower()}%"),
                )
            )
        ).all()
    assert emails == []


async def test_protocol_numbers_are_consecutive_and_unique_per_tenant(db, world):
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    got = []
    for tenant_id in (world.a.id, world.a.id, world.b.id):
        async with db.session(Scope.tenant(tenant_id)) as session:
            got.append(
                await document_numbers.next_number(
                    session, tenant_id, document_numbers.DISPUTE, now
                )
            )
            await session.commit()
    assert got == ["CT-2026-000001", "CT-2026-000002", "CT-2026-000001"]
    # A number taken in a transaction that is rolled back is given again.
    async with db.session(Scope.tenant(world.b.id)) as session:
        await document_numbers.next_number(session, world.b.id, document_numbers.DISPUTE, now)
        await session.rollback()
    async with db.session(Scope.tenant(world.b.id)) as session:
        again = await document_numbers.next_number(
            session, world.b.id, document_numbers.DISPUTE, now
        )
    assert again == "CT-2026-000002"
