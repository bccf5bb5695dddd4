"""Pix through a PSP speaking the Banco Central's Pix API (issue 21, piece 1): the creditor
chooses the PSP for Pix in its payment settings, the debtor pays a ``cob`` issued over
mutual TLS with an OAuth2 client-credentials token, and only a Pix the PSP itself reports
counts, once, whether the webhook or reconciliation sees it first."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import select

from collection.domain import pix
from collection.models import (
    AgreementInstallment,
    GatewayEvent,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from collection.payments import service as payments
from collection.payments.service import ChargeRequest, GatewayError
from core.clock import SAO_PAULO
from core.db import Scope
from core.settings import PixPspSettings
from integrations.gateways import ProviderGateway
from integrations.pix_psp import PixPspGateway, txid_for
from tenants.models import Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.fake_psp import Client, FakePsp, Pki, RunningPsp, make_pki
from tests.integration.test_payments import _agreement, _installments, _pay

KEY = "2f6a3c1e-8d4b-4e7a-9c5d-1b2a3c4d5e6f"  # the creditor's random Pix key at the PSP
ALL = frozenset({"cob.write", "cob.read", "cobv.write", "cobv.read", "pix.read", "webhook.write"})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def psp(pki: Pki) -> Iterator[FakePsp]:
    running = RunningPsp(FakePsp(pki, keys={KEY}, clients={"quita": Client("s3cret-psp", ALL)}))
    fake = running.start()
    try:
        yield fake
    finally:
        running.stop()


def _settings(psp: FakePsp, pki: Pki, **changes: Any) -> PixPspSettings:
    settings = PixPspSettings(
        api_base=psp.base,
        token_url=psp.base + "/oauth/token",
        client_id="quita",
        client_secret="s3cret-psp",
        cert_file=pki.cert("client"),
        key_file=pki.key("client"),
        ca_file=pki.cert("ca"),
    )
    return replace(settings, **changes)


def _gateway(psp: FakePsp, pki: Pki, **changes: Any) -> PixPspGateway:
    return PixPspGateway(_settings(psp, pki, **changes), lambda: datetime.now(UTC))


@pytest.fixture
async def with_psp(app: Any, psp: FakePsp, pki: Pki) -> AsyncIterator[FakePsp]:
    before = app.state.gateway
    app.state.gateway = ProviderGateway(None, _gateway(psp, pki))
    try:
        yield psp
    finally:
        app.state.gateway = before


def _request(key: str = "", amount: int = 12_345, pix_key: str = KEY) -> ChargeRequest:
    return ChargeRequest(
        payment_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        agreement_id=uuid.uuid4(),
        installment=1,
        method=PaymentMethod.PIX,
        amount=amount,
        account="",
        idempotency_key=key or f"pay-{uuid.uuid4().hex}",
        payer_name="Maria da Silva",
        payer_cpf="11144477735",
        provider="psp",
        pix_key=pix_key,
    )


async def _choose_psp(client: Any, world: Any, key: str = KEY) -> Any:
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/pagamentos")
    return await client.post(
        "/portal/pagamentos",
        data={
            "stripe_account": world.a.tenant.stripe_account,
            "pix_provider": "psp",
            "pix_key": key,
            "_csrf_token": csrf_from(page.text),
        },
    )


async def _apply_stored(db: Any, txid: str) -> list[str]:
    async with db.session(Scope.system()) as session:
        ids = list(
            await session.scalars(
                select(GatewayEvent.id).where(
                    GatewayEvent.object_id == txid, GatewayEvent.outcome == ""
                )
            )
        )
    return [await payments.apply_event(db, event_id) for event_id in ids]


# -- end to end: portal choice, debtor pays, the PSP's webhook confirms -----------------------


async def test_pix_through_the_chosen_psp_is_counted_once_from_webhook_and_reconciliation(
    client, world, db, with_psp
):
    chosen = await _choose_psp(client, world)
    assert chosen.status_code in (302, 303), chosen.text[chosen.text.find("field-error") - 300 :][
        :900
    ]
    # Choosing the PSP registered Quita's webhook for the creditor's key there.
    assert with_psp.webhooks[KEY] == "https://testserver.local/webhooks/psp"
    async with db.session(Scope.tenant(world.a.id)) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        assert (tenant.pix_provider, tenant.pix_key) == ("psp", KEY)
    client.cookies.clear()

    url = await _agreement(client, world)
    answer, data = await _pay(client, url, "pix")
    assert answer.status_code in (302, 303), answer.text[-800:]
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    # An installment not yet due is a Pix with a due date (cobv).
    assert payment is not None
    assert payment.provider_id == txid_for(payment.idempotency_key, due=True)
    cob = with_psp.cobs[payment.provider_id]
    assert cob["chave"] == KEY and cob["valor"]["original"] == f"{payment.amount / 100:.2f}"
    assert cob["valor"]["multa"] == {"modalidade": 2, "valorPerc": "2.00"}
    assert cob["valor"]["juros"] == {"modalidade": 3, "valorPerc": "1.00"}
    assert cob["calendario"]["validadeAposVencimento"] == 5
    assert cob["devedor"]["cpf"] in [*world.a.cpfs, world.shared_cpf]
    assert payment.pix_code == cob["pixCopiaECola"]
    assert pix.crc16(payment.pix_code[:-4]) == payment.pix_code[-4:]
    shown = await client.get(answer.headers["location"])
    assert 'class="pix-qr"' in shown.text
    # Itemised: what to pay by each date, and the late fee and interest after the due date.
    terms = shown.text[shown.text.index('id="due-terms"') :]
    assert "Pago até o vencimento" in terms and "multa de" in terms
    assert "1,00% ao mês" in terms and "O mesmo código cobra o valor certo" in shown.text
    # A double click reaches the same charge.
    again = await client.post(f"{url}/pagamentos", data=data)
    assert again.headers["location"] == answer.headers["location"]
    assert len(with_psp.cobs) == 1

    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0
    target, body = with_psp.pay(payment.provider_id)
    assert target == "https://testserver.local/webhooks/psp/pix"
    raw = json.dumps(body).encode()
    delivered = await client.post("/webhooks/psp/pix", content=raw)
    assert delivered.status_code == 200 and delivered.json()["outcomes"] == ["received"]
    assert await _apply_stored(db, payment.provider_id) == ["succeeded"]
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount

    # The PSP delivers again, and reconciliation asks: nothing counts twice.
    replay = await client.post("/webhooks/psp/pix", content=raw)
    assert replay.json()["outcomes"] == ["duplicate"]
    found = await payments.reconcile(db, client.app.state.gateway, datetime.now(UTC))
    assert found.get("succeeded", 0) == 0
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount


async def _first_due(db: Any, tenant_id: Any) -> AgreementInstallment:
    async with db.session(Scope.tenant(tenant_id)) as session:
        first = await session.scalar(
            select(AgreementInstallment)
            .join(Payment, Payment.agreement_id == AgreementInstallment.agreement_id)
            .order_by(Payment.created_at.desc(), AgreementInstallment.number)
            .limit(1)
        )
    assert first is not None
    return first


async def test_a_late_pix_with_the_same_code_pays_fee_and_interest_and_settles_the_installment(
    client, world, db, with_psp
):
    assert (await _choose_psp(client, world)).status_code in (302, 303)
    client.cookies.clear()
    url = await _agreement(client, world)
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id and payment.due_charge
    first = await _first_due(db, world.a.id)
    cob = with_psp.cobs[payment.provider_id]
    assert cob["calendario"]["dataDeVencimento"] == first.due_date.isoformat()
    # The bank computes what the code asks three days late: 2% fee, 1% a month pro rata.
    late_day = first.due_date + timedelta(days=3)
    original = payment.amount
    fee = int((Decimal(original) * Decimal("0.02")).quantize(Decimal(1), ROUND_HALF_UP))
    interest = int(
        (Decimal(original) * Decimal("0.01") * 3 / 30).quantize(Decimal(1), ROUND_HALF_UP)
    )
    owed = original + fee + interest
    at = datetime.combine(late_day, time(12), SAO_PAULO)
    _url, body = with_psp.pay(payment.provider_id, f"{owed // 100}.{owed % 100:02d}", at)
    delivered = await client.post("/webhooks/psp/pix", content=json.dumps(body).encode())
    assert delivered.json()["outcomes"] == ["received"]
    assert await _apply_stored(db, payment.provider_id) == ["succeeded"]
    async with db.session(Scope.tenant(world.a.id)) as session:
        settled = await session.get_one(Payment, payment.id)
        item = await session.get_one(AgreementInstallment, first.id)
    assert (settled.received, settled.late_charges) == (owed, fee + interest)
    assert item.paid == original  # the installment, not the late charges
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == original


async def test_an_early_pix_pays_less_by_the_plans_interest_and_settles_the_installment(
    client, world, db, with_psp
):
    assert (await _choose_psp(client, world)).status_code in (302, 303)
    client.cookies.clear()
    url = await _agreement(client, world)
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id
    cob = with_psp.cobs[payment.provider_id]
    discounts = cob["valor"].get("desconto", {}).get("descontoDataFixa", [])
    assert discounts, "the accepted plan must have interest to give up"
    earliest = discounts[0]
    off = int(earliest["valorPerc"].replace(".", ""))
    owed = payment.amount - off
    at = datetime.combine(datetime.fromisoformat(earliest["data"]).date(), time(9), SAO_PAULO)
    _url, body = with_psp.pay(payment.provider_id, f"{owed // 100}.{owed % 100:02d}", at)
    await client.post("/webhooks/psp/pix", content=json.dumps(body).encode())
    assert await _apply_stored(db, payment.provider_id) == ["succeeded"]
    first = await _first_due(db, world.a.id)
    assert (first.paid, first.waived) == (owed, off)


async def test_a_forged_notification_settles_nothing(client, world, db, with_psp):
    assert (await _choose_psp(client, world)).status_code in (302, 303)
    client.cookies.clear()
    url = await _agreement(client, world)
    answer, _data = await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id
    forged = {
        "pix": [
            {
                "endToEndId": "E" + "1" * 31,
                "txid": payment.provider_id,
                "valor": f"{payment.amount / 100:.2f}",
                "horario": "2026-12-04T20:00:00Z",
            }
        ]
    }
    answer = await client.post("/webhooks/psp/pix", content=json.dumps(forged).encode())
    assert answer.status_code == 200 and answer.json()["outcomes"] == []
    bad = await client.post("/webhooks/psp/pix", content=b'{"pix": 5}')
    assert bad.status_code == 400
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0


async def test_a_lost_webhook_is_repaired_by_reconciliation(client, world, db, with_psp):
    assert (await _choose_psp(client, world)).status_code in (302, 303)
    client.cookies.clear()
    url = await _agreement(client, world)
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id
    with_psp.pay(payment.provider_id)  # the notification never arrives
    found = await payments.reconcile(
        db, client.app.state.gateway, datetime.now(UTC), tenant_id=world.a.id
    )
    assert found == {"succeeded": 1}
    async with db.session(Scope.tenant(world.a.id)) as session:
        again = await session.get_one(Payment, payment.id)
    assert again.status == PaymentStatus.SUCCEEDED


async def test_the_portal_refuses_a_bad_key_and_a_key_the_psp_does_not_know(
    client, world, with_psp
):
    bad = await _choose_psp(client, world, key="not a key")
    assert bad.status_code == 400 and 'id="e-pix-key"' in bad.text
    unknown = await _choose_psp(client, world, key="+5511987654321")
    assert unknown.status_code == 400 and "não aceitou esta chave" in unknown.text
    assert "+5511987654321" not in with_psp.webhooks


async def test_a_creditor_without_a_psp_choice_has_no_pix_here(client, world, with_psp):
    url = await _agreement(client, world)  # tenant A keeps Stripe, which is not set up here
    page = await client.get(url)
    assert "Pagar com Pix" not in page.text


# -- the adapter against the fake's refusals ---------------------------------------------------


async def test_a_retry_with_the_same_key_reaches_the_same_charge(psp, pki):
    gateway = _gateway(psp, pki)
    first = await gateway.charge(_request("pay-same"))
    second = await gateway.charge(_request("pay-same"))
    assert first.provider_id == second.provider_id == txid_for("pay-same")
    assert first.pix_code == second.pix_code and len(psp.cobs) == 1
    with pytest.raises(GatewayError):  # the same txid for another amount is not ours to reuse
        await gateway.charge(_request("pay-same", amount=99))


async def test_a_token_the_psp_expired_is_fetched_again(psp, pki):
    gateway = _gateway(psp, pki)
    await gateway.charge(_request())
    await gateway.charge(_request())
    assert psp.tokens_issued == 1  # kept across calls
    psp.expire_tokens()
    await gateway.charge(_request())
    assert psp.tokens_issued == 2 and len(psp.cobs) == 3


async def test_a_client_without_the_scope_or_the_secret_is_refused(psp, pki):
    psp.clients["reader"] = Client("reader-secret", frozenset({"cob.read"}))
    with pytest.raises(GatewayError):
        await _gateway(psp, pki, client_id="reader", client_secret="reader-secret").charge(
            _request()
        )
    with pytest.raises(GatewayError):
        await _gateway(psp, pki, client_secret="wrong").charge(_request())
    assert psp.cobs == {}


async def test_mutual_tls_refuses_a_client_without_the_psps_certificate(psp, pki):
    stranger = _gateway(psp, pki, cert_file=pki.cert("stranger"), key_file=pki.key("stranger"))
    with pytest.raises(GatewayError):
        await stranger.charge(_request())
    anonymous = _gateway(psp, pki, cert_file="", key_file="")
    with pytest.raises(GatewayError):
        await anonymous.charge(_request())
    assert psp.cobs == {} and psp.tokens_issued == 0


async def test_a_key_that_is_not_the_receivers_is_refused(psp, pki):
    with pytest.raises(GatewayError):
        await _gateway(psp, pki).charge(_request(pix_key="outra@chave.com.br"))


async def _raw(psp: FakePsp, pki: Pki, method: str, path: str, body: Any = None) -> httpx.Response:
    """A call to the fake with a valid token (the fake's refusals, seen directly)."""
    settings = _settings(psp, pki)
    gateway = PixPspGateway(settings, lambda: datetime.now(UTC))
    return await gateway.call(method, path, body)


def _cob(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "calendario": {"expiracao": 3600},
        "devedor": {"cpf": "11144477735", "nome": "Maria da Silva"},
        "valor": {"original": "123.45"},
        "chave": KEY,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def test_the_fake_refuses_what_the_pix_api_refuses(psp, pki):
    good = "a" * 26
    assert (await _raw(psp, pki, "PUT", "/cob/short", _cob())).status_code == 400
    assert (await _raw(psp, pki, "PUT", "/cob/" + "a" * 36, _cob())).status_code == 400
    assert (await _raw(psp, pki, "PUT", f"/cob/{good}", _cob(chave=None))).status_code == 400
    assert (await _raw(psp, pki, "PUT", f"/cob/{good}", _cob(calendario=None))).status_code == 400
    money = _cob(valor={"original": "123,45"})
    assert (await _raw(psp, pki, "PUT", f"/cob/{good}", money)).status_code == 400
    nameless = _cob(devedor={"nome": "Maria"})
    assert (await _raw(psp, pki, "PUT", f"/cob/{good}", nameless)).status_code == 400
    created = await _raw(psp, pki, "PUT", f"/cob/{good}", _cob())
    assert created.status_code == 201 and created.json()["status"] == "ATIVA"
    assert (await _raw(psp, pki, "PUT", f"/cob/{good}", _cob())).status_code == 400  # reused
    due = {
        "calendario": {"dataDeVencimento": "2099-12-20"},
        "devedor": {"cpf": "11144477735", "nome": "Maria da Silva"},
        "valor": {"original": "100.00", "multa": {"modalidade": 2, "valorPerc": "2.50"}},
        "chave": KEY,
    }
    assert (await _raw(psp, pki, "PUT", "/cobv/" + "b" * 26, due)).status_code == 400
    due["valor"]["multa"]["valorPerc"] = "2.00"  # type: ignore[index]
    assert (await _raw(psp, pki, "PUT", "/cobv/" + "b" * 26, due)).status_code == 201
    plain = {"webhookUrl": "http://quita.example/webhooks/psp"}
    assert (await _raw(psp, pki, "PUT", f"/webhook/{KEY}", plain)).status_code == 400
    # No token at all: 401, whatever the client certificate.
    async with httpx.AsyncClient(verify=PixPspGateway._tls_context(_settings(psp, pki))) as raw:
        assert (await raw.get(f"{psp.base}/cob/{good}")).status_code == 401


async def test_the_fake_grants_only_the_clients_scopes(psp, pki):
    psp.clients["reader"] = Client("reader-secret", frozenset({"cob.read"}))
    tls = PixPspGateway._tls_context(_settings(psp, pki))
    async with AsyncOAuth2Client(
        "reader", "reader-secret", scope="cob.read cob.write", verify=tls
    ) as oauth:
        token = await oauth.fetch_token(psp.base + "/oauth/token", grant_type="client_credentials")
        assert token["scope"] == "cob.read"
        refused = await oauth.put(f"{psp.base}/cob/{'c' * 26}", json=_cob())
        assert refused.status_code == 403


def test_pki_files_are_made_at_test_time(pki: Pki) -> None:
    assert Path(pki.cert("client")).read_text().startswith("-----BEGIN CERTIFICATE-----")
