"""A document attached to a dispute: only PDF, JPEG or PNG by its first bytes, at most
5 MB (its own body limit), and seen only by that creditor's staff (issue 25 item 4)."""

from __future__ import annotations

from sqlalchemy import func, select

from collection.debtor.disputes import ATTACHMENT_MAX_BYTES
from collection.models import Dispute, DisputeAttachment
from core.db import Scope
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_agreements import _verified
from tests.integration.test_dispute_answers import PDF, open_dispute

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


async def _counts(db, world) -> tuple[int, int]:
    async with db.session(Scope.tenant(world.a.id)) as session:
        disputes = await session.scalar(select(func.count()).select_from(Dispute))
        files = await session.scalar(select(func.count()).select_from(DisputeAttachment))
    return int(disputes or 0), int(files or 0)


async def test_a_document_that_is_not_pdf_jpeg_or_png_is_refused_whatever_its_name(
    client, world, db
):
    await _verified(client, world)
    html = b"<html><script>alert(1)</script></html>"
    refused = await open_dispute(
        client, world, files={"document": ("comprovante.pdf", html, "application/pdf")}
    )
    assert refused.status_code == 400
    assert "PDF, JPEG ou PNG" in refused.text and 'aria-invalid="true"' in refused.text
    assert "Paguei em janeiro." in refused.text  # what was typed stays
    assert await _counts(db, world) == (0, 0)  # nothing recorded: the person tries again


async def test_jpeg_and_png_are_accepted_by_their_bytes(client, world, db):
    await _verified(client, world)
    sent = await open_dispute(client, world, files={"document": ("foto", PNG, "text/plain")})
    assert sent.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        stored = (await session.scalars(select(DisputeAttachment))).one()
    assert stored.content_type == "image/png" and stored.filename == "foto.png"
    from collection.debtor.disputes import Attachment, checked_attachment

    assert checked_attachment(Attachment("x.jpeg", JPEG)) == ("image/jpeg", "x.jpg")
    assert checked_attachment(Attachment("../../etc/a b.pdf", PDF))[1] == "etcab.pdf"


async def test_a_document_over_five_megabytes_is_refused(client, world, db):
    await _verified(client, world)
    just_over = PDF + b"0" * (ATTACHMENT_MAX_BYTES - len(PDF) + 1)
    refused = await open_dispute(
        client, world, files={"document": ("grande.pdf", just_over, "application/pdf")}
    )
    assert refused.status_code == 400 and "5 MB" in refused.text
    far_over = PDF + b"0" * (ATTACHMENT_MAX_BYTES + 64 * 1024)
    too_big = await open_dispute(
        client, world, files={"document": ("enorme.pdf", far_over, "application/pdf")}
    )
    assert too_big.status_code == 413  # over the route's own body limit: never read
    assert await _counts(db, world) == (0, 0)
    # Every other debtor-site form keeps the 64 kB limit.
    form = await client.get("/direitos/contato")
    assert form.status_code == 200
    big_form = await client.post(
        "/direitos/contato",
        data={"kind": "phone", "value": "1" * (70 * 1024), "_csrf_token": csrf_from(form.text)},
    )
    assert big_form.status_code == 413


async def test_another_creditor_never_sees_the_document(client, world, db):
    await _verified(client, world)
    sent = await open_dispute(client, world, files={"document": ("c.pdf", PDF, "application/pdf")})
    assert sent.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        stored = (await session.scalars(select(DisputeAttachment))).one()
    # Not on the debtor site (no route serves it), not to another creditor's staff.
    assert (await client.get(f"/portal/disputes/documentos/{stored.id}")).status_code in (
        302,
        303,
        401,
        403,
        404,
    )
    client.cookies.clear()
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/disputes")
    assert page.status_code == 200 and "c.pdf" not in page.text
    assert (await client.get(f"/portal/disputes/documentos/{stored.id}")).status_code == 404
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert await session.scalar(select(func.count()).select_from(DisputeAttachment)) == 0
    # A's viewer cannot answer disputes and so does not get the documents either.
    client.cookies.clear()
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    assert (await client.get(f"/portal/disputes/documentos/{stored.id}")).status_code == 403
    client.cookies.clear()
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    assert (await client.get(f"/portal/disputes/documentos/{stored.id}")).status_code == 200
