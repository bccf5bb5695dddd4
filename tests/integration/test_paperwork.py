"""The paperwork (issue 25 item 7): the terms name the agreement's number, the contracts,
the masked CPF, what a missed payment leads to and the quitação clause; every confirmed
payment gets a receipt (page, PDF, e-mail); a settled agreement a declaração de quitação."""

from __future__ import annotations

import re
import uuid
import zlib
from typing import Any

from sqlalchemy import select

from collection.domain.documents import format_cnpj, mask_cpf
from collection.models import Agreement, Payment, PaymentStatus
from core.db import Scope
from tests.conftest import csrf_from
from tests.integration.test_local_payments import _apply_received, _simulate, local
from tests.integration.test_payments import _agreement

__all__ = ["local"]  # the local payment provider's fixture, used below
NUMBER = re.compile(r"AC-\d{4}-\d{6}")


def pdf_text(content: bytes) -> str:
    """The text of every content stream of a PDF (fpdf2 writes them zlib-compressed)."""
    assert content.startswith(b"%PDF-")
    parts = []
    # The end-of-line before "endstream" is kept with the data: a compressed stream may end
    # in a byte 0x0d, which a pattern taking "\r\n" off would cut. A decompressor object
    # leaves whatever follows the end of the zlib data alone.
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            parts.append(zlib.decompressobj().decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            parts.append(match.group(1).decode("latin-1"))
    return "\n".join(parts)


def _email_of(world: Any) -> str:
    return f"{world.a.debtor_names[0].lower()}@example.test"


async def _agreement_row(db: Any, tenant_id: uuid.UUID) -> Agreement:
    async with db.session(Scope.tenant(tenant_id)) as session:
        found = await session.scalar(select(Agreement).order_by(Agreement.created_at.desc()))
        assert found is not None
        return found


async def _pay_by_pix(client: Any, db: Any, url: str, tenant_id: uuid.UUID) -> str:
    """Pay the agreement's next installment by Pix through the local provider; returns
    the payment's id."""
    page = await client.get(url)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert key, page.text[-1500:]
    data = {"method": "pix", "key": key.group(1), "_csrf_token": csrf_from(page.text)}
    answer = await client.post(f"{url}/pagamentos", data=data)
    assert answer.status_code in (302, 303), answer.text[-500:]
    payment_url = answer.headers["location"]
    assert (await _simulate(client, payment_url)).status_code in (302, 303)
    assert await _apply_received(db, tenant_id) == ["succeeded"]
    return str(payment_url.rsplit("/", 1)[1])


async def test_the_terms_name_the_number_contracts_cpf_missed_payment_and_quitacao(
    client, world, db, outbox
):
    url = await _agreement(client, world)
    agreement = await _agreement_row(db, world.a.id)
    assert agreement.number and NUMBER.fullmatch(agreement.number)
    masked = mask_cpf(world.shared_cpf)
    contract = world.a.contracts[0]
    page = (await client.get(url)).text
    assert f"Acordo nº {agreement.number}" in page
    assert contract in page and masked in page and world.shared_cpf not in page
    assert f"em até {agreement.grace_days} dias depois do vencimento" in page
    assert "o acordo é desfeito" in page and "quitação dos contratos" in page
    terms = await client.get(f"{url}/termo.pdf")
    assert terms.status_code == 200
    text = pdf_text(terms.content)
    for expected in (agreement.number, contract, masked, "Quita", "STJ"):
        assert expected in text, expected
    (message,) = [m for m in await outbox.to(_email_of(world)) if m.template == "agreement_terms"]
    assert message.attachment is not None and agreement.number in pdf_text(message.attachment)
    # One agreement, one number (the counter is tested in test_dispute_answers).
    async with db.session(Scope.tenant(world.a.id)) as session:
        numbers = list(await session.scalars(select(Agreement.number)))
    assert numbers == [agreement.number]


async def test_every_confirmed_payment_gets_a_receipt_and_the_last_a_quitacao(
    client, world, db, outbox, local
):
    url = await _agreement(client, world)
    agreement = await _agreement_row(db, world.a.id)
    assert agreement.number
    number: str = agreement.number
    tenant = world.a.tenant
    first = await _pay_by_pix(client, db, url, world.a.id)
    # The receipt: page, PDF and e-mail, with amount, date, method, agreement, creditor.
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.get_one(Payment, uuid.UUID(first))
    assert payment.status == PaymentStatus.SUCCEEDED and payment.paid_on
    amount = f"{payment.amount // 100:,}".replace(",", ".") + f",{payment.amount % 100:02d}"
    agreement_page = (await client.get(url)).text
    assert f"/acordos/{agreement.id}/recibos/{first}" in agreement_page
    receipt = await client.get(f"{url}/recibos/{first}")
    assert receipt.status_code == 200 and "no-store" in receipt.headers["cache-control"]
    for expected in (
        amount,
        payment.paid_on.strftime("%d/%m/%Y"),
        "Pix",
        agreement.number,
        tenant.legal_name,
        format_cnpj(tenant.cnpj),
    ):
        assert expected in receipt.text, expected
    pdf = await client.get(f"{url}/recibos/{first}/recibo.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for expected in (amount, "Pix", number, format_cnpj(tenant.cnpj)):
        assert expected in text, expected
    receipts = [m for m in await outbox.to(_email_of(world)) if m.template == "payment_receipt"]
    assert len(receipts) == 1 and receipts[0].attachment_name == "recibo.pdf"
    assert amount in receipts[0].body_text and agreement.number in receipts[0].body_text
    assert tenant.legal_name in receipts[0].body_text
    # No quitação while installments remain.
    assert (await client.get(f"{url}/quitacao")).status_code == 404
    assert not [m for m in await outbox.to(_email_of(world)) if m.template == "agreement_quitacao"]
    # Pay every remaining installment: one receipt each, then the quitação.
    paid = 1
    while "Pagar com Pix" in (await client.get(url)).text:
        await _pay_by_pix(client, db, url, world.a.id)
        paid += 1
        assert paid <= 40
    assert (await _agreement_row(db, world.a.id)).status == "paid"
    mails = await outbox.to(_email_of(world))
    assert len([m for m in mails if m.template == "payment_receipt"]) == paid
    (declaration,) = [m for m in mails if m.template == "agreement_quitacao"]
    assert declaration.attachment_name == "declaracao-de-quitacao.pdf"
    assert world.a.contracts[0] in declaration.body_text
    assert tenant.legal_name in declaration.body_text and agreement.number in declaration.subject
    page = await client.get(f"{url}/quitacao")
    assert page.status_code == 200
    assert "Declaração de quitação" in page.text and world.a.contracts[0] in page.text
    assert tenant.legal_name in page.text and format_cnpj(tenant.cnpj) in page.text
    assert f"/acordos/{agreement.id}/quitacao" in (await client.get(url)).text
    pdf = await client.get(f"{url}/quitacao.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert world.a.contracts[0] in text and number in text


async def test_receipts_are_only_for_confirmed_payments_of_the_persons_agreements(
    client, world, db, local
):
    url = await _agreement(client, world)
    page = await client.get(url)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert key
    answer = await client.post(
        f"{url}/pagamentos",
        data={"method": "pix", "key": key.group(1), "_csrf_token": csrf_from(page.text)},
    )
    pending = answer.headers["location"].rsplit("/", 1)[1]
    assert (await client.get(f"{url}/recibos/{pending}")).status_code == 404  # not confirmed
    assert (await client.get(f"{url}/recibos/{pending}/recibo.pdf")).status_code == 404
    assert (await client.get(f"{url}/recibos/{uuid.uuid4()}")).status_code == 404
    other = f"/acordos/{uuid.uuid4()}"
    assert (await client.get(f"{other}/recibos/{pending}")).status_code == 404
    assert (await client.get(f"{other}/quitacao.pdf")).status_code == 404
    client.cookies.clear()  # without the proof: nothing
    response = await client.get(f"{url}/recibos/{pending}")
    assert response.status_code in (302, 303, 401, 403, 404)
