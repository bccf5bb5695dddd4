"""Paying an agreement: card through the real Stripe SDK against localstripe on loopback
(its own signed webhooks), Pix and boleto with Stripe-shaped answers and signed events
built here; every event counted once, in any order."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe
from sqlalchemy import delete, func, select, update

from collection.models import (
    Agreement,
    AgreementInstallment,
    GatewayEvent,
    Payment,
    PaymentStatus,
)
from core.db import Scope
from core.settings import PaymentSettings
from integrations import local_gateway
from integrations.stripe_gateway import StripeGateway
from tests.conftest import TEST_SECRET, csrf_from
from tests.integration.test_debtor_agreements import _form, _offer_links, _verified

WEBHOOK_SECRET = "whsec_test_" + "x" * 24


# -- a gateway on loopback, and one answering with Stripe-shaped objects -------------------


class Capture(http.server.BaseHTTPRequestHandler):
    """Receives localstripe's webhooks so the test can hand them to the app."""

    received: list[tuple[bytes, str]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        Capture.received.append((body, self.headers["stripe-signature"]))
        Capture.arrived.set()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


async def captured_for(db: Any, tenant_id: uuid.UUID, within: float = 15) -> tuple[bytes, str]:
    """The ``payment_intent.succeeded`` webhook localstripe sent for the tenant's newest
    payment. Webhooks of earlier tests (other modules share ``Capture``) may still arrive
    after a test cleared the list, so the event is picked by its payment intent."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for body, signature in list(Capture.received):
            event = json.loads(body)
            if (
                event.get("type") == "payment_intent.succeeded"
                and event["data"]["object"]["id"] == payment.provider_id
            ):
                return body, signature
        await asyncio.sleep(0.1)
    raise AssertionError("localstripe sent no webhook for this payment")


@pytest.fixture(scope="module")
def localstripe() -> Iterator[local_gateway.LocalGateway]:
    server = http.server.HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = local_gateway.start()
    try:
        gateway.send_webhooks_to(f"http://127.0.0.1:{server.server_port}/hook")
        yield gateway
    finally:
        gateway.stop()
        server.shutdown()


class ShapedStripe(stripe.HTTPClient):
    """Answers PaymentIntent creation as Stripe does for Pix and boleto (localstripe has
    neither), and records each request's headers."""

    name = "shaped"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []
        self.intents: dict[str, dict[str, Any]] = {}

    def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:  # type: ignore[override]
        raise NotImplementedError

    async def request_async(
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> tuple[bytes, int, dict[str, str]]:
        form = parse_qs(post_data.decode() if isinstance(post_data, bytes) else post_data or "")
        self.calls.append((url, dict(headers), form))
        key = headers.get("Idempotency-Key", "")
        if key in self.intents:  # Stripe replays the first answer for the same key
            return json.dumps(self.intents[key]).encode(), 200, {}
        kind = form["payment_method_types[0]"][0]
        expires = int(time.time()) + 400 * 86400
        intent: dict[str, Any] = {
            "id": "pi_" + uuid.uuid4().hex[:14],
            "object": "payment_intent",
            "amount": int(form["amount"][0]),
            "currency": "brl",
            "status": "requires_action",
            "client_secret": "secret",
            "metadata": {},
            "next_action": (
                {
                    "type": "pix_display_qr_code",
                    "pix_display_qr_code": {
                        "data": "00020101021226880014br.gov.bcb.pix2566qr.stripe.com/pix/"
                        + uuid.uuid4().hex,
                        "expires_at": expires,
                        "hosted_instructions_url": "https://payments.stripe.com/pix/x",
                    },
                }
                if kind == "pix"
                else {
                    "type": "boleto_display_details",
                    "boleto_display_details": {
                        "number": "34191.09008 61207.727308 71444.640008 5 97850000010000",
                        "hosted_voucher_url": "https://payments.stripe.com/boleto/x",
                        "expires_at": expires,
                    },
                }
            ),
        }
        self.intents[key] = intent
        return json.dumps(intent).encode(), 200, {}

    async def close_async(self) -> None:
        return None


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """An event body and its Stripe-Signature header, as Stripe signs them."""
    body = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={mac}"


def event(kind: str, obj: dict[str, Any], *, account: str | None = None) -> dict[str, Any]:
    return {
        "id": "evt_" + uuid.uuid4().hex[:14],
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "account": account,
        "data": {"object": obj},
    }


@pytest.fixture
async def with_gateway(app: Any, localstripe: local_gateway.LocalGateway) -> AsyncIterator[Any]:
    """Point the running app at a gateway; the test may swap it for the shaped one."""
    before = (app.state.gateway, app.state.settings)
    app.state.settings = replace(app.state.settings, payments=localstripe.settings)
    app.state.gateway = StripeGateway(localstripe.settings)
    try:
        yield app
    finally:
        app.state.gateway, app.state.settings = before


@pytest.fixture
def shaped(with_gateway: Any) -> ShapedStripe:
    http_client = ShapedStripe()
    settings = PaymentSettings(
        secret_key="sk_test_shaped",
        webhook_secret=WEBHOOK_SECRET,
        api_base="https://shaped.stripe.test",
    )
    with_gateway.state.gateway = StripeGateway(settings, http_client=http_client)
    return http_client


def _card(localstripe: local_gateway.LocalGateway, number: str) -> Any:
    """What Stripe.js does in the browser: the card goes to the gateway, Quita gets an id."""
    sdk = stripe.StripeClient(
        localstripe.settings.secret_key, base_addresses={"api": localstripe.settings.api_base}
    )
    return sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        }
    )


async def _agreement(client: Any, world: Any, *, cash: bool = False) -> str:
    """Verify, accept an offer of creditor A, and return the agreement's URL."""
    page = await _verified(client, world)
    links = _offer_links(page, world.a.id)
    link = next(x for x in links if x.endswith("/cash") == cash)
    form = _form((await client.get(link)).text)
    action = form.pop("_action")
    answer = await client.post(action, data=form)
    assert answer.status_code in (302, 303), answer.text[-500:]
    return str(answer.headers["location"])


async def _pay(client: Any, agreement_url: str, method: str, **extra: str) -> Any:
    page = await client.get(agreement_url + ("/pagar/cartao" if method == "card" else ""))
    key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert key, page.text[-1500:]
    data = {"method": method, "key": key.group(1), "_csrf_token": csrf_from(page.text), **extra}
    return await client.post(f"{agreement_url}/pagamentos", data=data), data


async def _applied(client: Any, db: Any, body: bytes, signature: str) -> str:
    """Post the event as the gateway does, then apply it as the worker does; the outcome."""
    from collection.payments import service as payments

    response = await _deliver(client, body, signature)
    if response.status_code != 200:
        return str(response.status_code)
    status = str(response.json()["status"])
    if status != "received":
        return status
    async with db.session(Scope.system()) as session:
        event_id = await session.scalar(
            select(GatewayEvent.id).where(GatewayEvent.provider_event_id == json.loads(body)["id"])
        )
    assert event_id is not None
    return await payments.apply_event(db, event_id)


async def _deliver(client: Any, body: bytes, signature: str) -> Any:
    return await client.post(
        "/webhooks/stripe",
        content=body,
        headers={"stripe-signature": signature, "content-type": "application/json"},
    )


async def _installments(db: Any, tenant_id: uuid.UUID) -> tuple[Agreement, list[int]]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        agreement = await session.scalar(select(Agreement).order_by(Agreement.created_at.desc()))
        assert agreement is not None
        paid = await session.scalars(
            select(AgreementInstallment.paid)
            .where(AgreementInstallment.agreement_id == agreement.id)
            .order_by(AgreementInstallment.number)
        )
        return agreement, list(paid)


# -- card, through localstripe ----------------------------------------------------------


async def test_card_payment_is_confirmed_by_the_gateways_signed_webhook(
    client, world, db, with_gateway, localstripe
):
    url = await _agreement(client, world)
    # The local fake takes cards only, and says so.
    page = await client.get(url)
    assert "Pagar com cartão" in page.text and "Pagar com Pix" not in page.text
    card_page = await client.get(f"{url}/pagar/cartao")
    refused = await client.post(
        f"{url}/pagamentos",
        data={"method": "pix", "key": "k" * 32, "_csrf_token": csrf_from(card_page.text)},
    )
    assert refused.status_code == 400 and "não está disponível" in refused.text
    card_page = await client.get(f"{url}/pagar/cartao")
    assert card_page.status_code == 200
    assert localstripe.settings.js_url in card_page.text
    assert localstripe.settings.api_base in card_page.headers["content-security-policy"]
    assert "gateway de teste" in card_page.text.lower()
    method = _card(localstripe, "4242424242424242")
    Capture.received.clear()
    Capture.arrived.clear()
    key = re.search(r'name="key" value="([0-9a-f]+)"', card_page.text)
    assert key
    data = {
        "method": "card",
        "key": key.group(1),
        "payment_method": method.id,
        "_csrf_token": csrf_from(card_page.text),
    }
    answer = await client.post(
        f"{url}/pagamentos", data=data, headers={"accept": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    payment_url = answer.json()["url"]
    status = await client.get(payment_url, headers={"hx-request": "true"})
    assert 'hx-trigger="every 3s"' in status.text  # not counted before the webhook
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0

    body, signature = await captured_for(db, world.a.id)
    first = await _deliver(client, body, signature)
    assert first.status_code == 200 and first.json()["status"] == "received"
    # Stored at once and answered; a worker applies it.
    still = await client.get(payment_url, headers={"hx-request": "true"})
    assert 'hx-trigger="every 3s"' in still.text
    for _ in range(4):  # the same event delivered again
        again = await _deliver(client, body, signature)
        assert again.json()["status"] == "duplicate"
    from collection.payments import service as payments

    (event_id,) = await payments.unapplied_events(db, datetime.now(UTC) + timedelta(days=1))
    assert await payments.apply_event(db, event_id) == "succeeded"
    assert await payments.apply_event(db, event_id) == "succeeded"  # a redelivered job

    status = await client.get(payment_url, headers={"hx-request": "true"})
    assert "Pagamento confirmado" in status.text and "hx-trigger" not in status.text
    agreement, paid = await _installments(db, world.a.id)
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.status == PaymentStatus.SUCCEEDED
    assert sum(paid) == payment.amount
    assert agreement.status == "active"
    # A retried request with the same key finds the same payment: no second charge.
    retry = await client.post(
        f"{url}/pagamentos", data=data, headers={"accept": "application/json"}
    )
    assert retry.json()["url"] == payment_url


async def test_a_declined_card_is_shown_and_counts_nothing(
    client, world, db, with_gateway, localstripe
):
    url = await _agreement(client, world)
    method = _card(localstripe, "4000000000000341")
    answer, _data = await _pay(client, url, "card", payment_method=method.id)
    assert answer.status_code in (302, 303)
    page = await client.get(answer.headers["location"])
    assert "recusado" in page.text
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0


# -- Pix and boleto, Stripe-shaped -------------------------------------------------------


async def test_pix_code_is_shown_and_five_deliveries_count_one_payment(client, world, db, shaped):
    url = await _agreement(client, world)
    answer, data = await _pay(client, url, "pix")
    assert answer.status_code in (302, 303), answer.text[-800:]
    payment_url = answer.headers["location"]
    page = await client.get(payment_url)
    assert "br.gov.bcb.pix" in page.text and "Copiar o código" in page.text
    # Every gateway call carries the idempotency key and the creditor's account.
    (call,) = shaped.calls
    assert call[1]["Idempotency-Key"].startswith("pay-")
    assert call[1]["Stripe-Account"] == world.a.tenant.stripe_account
    assert call[2]["payment_method_types[0]"] == ["pix"]
    # A double click: the same payment, no second call to the gateway.
    again = await client.post(f"{url}/pagamentos", data=data)
    assert again.headers["location"] == payment_url and len(shaped.calls) == 1

    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
    intent = {
        "id": payment.provider_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "status": "succeeded",
    }
    body, signature = signed(
        event("payment_intent.succeeded", intent, account=world.a.tenant.stripe_account)
    )
    outcomes = [await _applied(client, db, body, signature) for _ in range(5)]
    assert outcomes == ["succeeded"] + ["duplicate"] * 4
    agreement, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount
    page = await client.get(payment_url)
    assert "Pagamento confirmado" in page.text

    # Refunded: the payment no longer counts and the agreement waits for it again.
    charge = {"id": "ch_1", "object": "charge", "payment_intent": payment.provider_id}
    refund = event(
        "charge.refunded",
        {**charge, "amount_refunded": payment.amount},
        account=world.a.tenant.stripe_account,
    )
    assert await _applied(client, db, *signed(refund)) == "refunded"
    agreement, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0 and agreement.status == "awaiting_first_payment"
    # A late, repeated success after the refund changes nothing.
    late = event("payment_intent.succeeded", intent, account=world.a.tenant.stripe_account)
    assert await _applied(client, db, *signed(late)) == "stale"
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0


async def test_events_out_of_order_still_give_one_payment(client, world, db, shaped):
    url = await _agreement(client, world)
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
    intent = {"id": payment.provider_id, "object": "payment_intent", "status": "succeeded"}
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": payment.provider_id}
    # The chargeback arrives before the success; then the dispute is won.
    events = [
        event(
            "charge.dispute.created",
            {**dispute, "amount": payment.amount, "status": "needs_response"},
            account=world.a.tenant.stripe_account,
        ),
        event("payment_intent.succeeded", intent, account=world.a.tenant.stripe_account),
        event(
            "charge.dispute.closed",
            {**dispute, "amount": payment.amount, "status": "won"},
            account=world.a.tenant.stripe_account,
        ),
        event("payment_intent.processing", intent, account=world.a.tenant.stripe_account),
    ]
    outcomes = [await _applied(client, db, *signed(e)) for e in events]
    assert outcomes == ["disputed", "stale", "succeeded", "stale"]
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount
    async with db.session(Scope.system()) as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(GatewayEvent)
            .where(GatewayEvent.object_id == payment.provider_id)
        )
        assert stored == 4
        kept = await session.scalar(
            select(GatewayEvent.payload).where(GatewayEvent.object_id == payment.provider_id)
        )
        assert kept is not None and "billing_details" not in json.dumps(kept)


async def test_boleto_asks_for_the_address_and_shows_the_line(client, world, db, shaped):
    url = await _agreement(client, world)
    form_page = await client.get(f"{url}/pagar/boleto")
    assert form_page.status_code == 200
    key = re.search(r'name="key" value="([0-9a-f]+)"', form_page.text)
    assert key
    base = {"method": "boleto", "key": key.group(1), "_csrf_token": csrf_from(form_page.text)}
    bad = await client.post(f"{url}/pagamentos", data={**base, "cep": "123", "uf": "XX"})
    assert bad.status_code == 400
    assert 'id="e-cep"' in bad.text and 'id="e-uf"' in bad.text and not shaped.calls
    good = await client.post(
        f"{url}/pagamentos",
        data={
            **base,
            "endereco": "Rua das Flores, 10, Centro",
            "cidade": "Campinas",
            "uf": "SP",
            "cep": "13010-000",
        },
    )
    assert good.status_code in (302, 303), good.text[-800:]
    page = await client.get(good.headers["location"])
    assert "34191.09008" in page.text and "payments.stripe.com/boleto" in page.text
    (call,) = shaped.calls
    assert call[2]["payment_method_data[billing_details][address][postal_code]"] == ["13010000"]
    assert call[2]["payment_method_data[boleto][tax_id]"][0].isdigit()


# -- refusals ----------------------------------------------------------------------------


async def test_a_bad_signature_or_stale_timestamp_is_refused_and_changes_nothing(
    client, world, db, shaped
):
    url = await _agreement(client, world)
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
    good = event(
        "payment_intent.succeeded",
        {"id": payment.provider_id, "object": "payment_intent"},
        account=world.a.tenant.stripe_account,
    )
    body, _signature = signed(good, secret="whsec_someone_else")
    assert (await _deliver(client, body, _signature)).status_code == 400
    body, signature = signed(good)
    stamp = int(time.time()) - 3600
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    old = f"t={stamp},v1={mac.hexdigest()}"
    assert (await _deliver(client, body, old)).status_code == 400
    tampered = body.replace(b"payment_intent.succeeded", b"payment_intent.canceled")
    assert (await _deliver(client, tampered, signature)).status_code == 400
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0
    # An event from another connected account does not touch this creditor's payment.
    foreign = event(
        "payment_intent.succeeded",
        {"id": payment.provider_id, "object": "payment_intent"},
        account="acct_someone_else",
    )
    assert await _applied(client, db, *signed(foreign)) == "account_mismatch"


async def test_tampered_agreement_or_payment_ids_are_not_found(client, world, db, shaped):
    url = await _agreement(client, world)
    answer, _data = await _pay(client, url, "pix")
    payment_url = answer.headers["location"]
    payment_id = payment_url.rsplit("/", 1)[1]
    assert (await client.get(f"/acordos/{uuid.uuid4()}/pagamentos/{payment_id}")).status_code == 404
    assert (await client.get(f"{url}/pagamentos/{uuid.uuid4()}")).status_code == 404
    # Another person (another verified session) cannot see it either.
    client.cookies.clear()
    from tests.integration.test_debtor_lookup import _start, _verify

    await _start(client, world.a.cpfs[1])
    await _verify(client, "02/01/1980")
    assert (await client.get(payment_url)).status_code in (302, 303, 404)


# -- reconciliation and codes issued ahead -------------------------------------------


async def test_reconciliation_repairs_a_missed_webhook_and_counts_once(
    client, world, db, with_gateway, localstripe
):
    from collection.payments import service as payments

    url = await _agreement(client, world)
    method = _card(localstripe, "4242424242424242")
    Capture.received.clear()
    Capture.arrived.clear()
    answer, _data = await _pay(client, url, "card", payment_method=method.id)
    assert answer.status_code in (302, 303)
    # The webhook is lost: reconciliation asks the gateway and applies what it says.
    gateway = with_gateway.state.gateway
    now = datetime.now(UTC)
    assert await payments.reconcile(db, gateway, now, tenant_id=world.a.id) == {"succeeded": 1}
    assert await payments.reconcile(db, gateway, now, tenant_id=world.a.id) == {}
    _row, paid = await _installments(db, world.a.id)
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.status == PaymentStatus.SUCCEEDED
    assert sum(paid) == payment.amount
    # The late webhook changes nothing.
    body, signature = await captured_for(db, world.a.id)
    assert await _applied(client, db, body, signature) == "stale"
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount


async def test_pix_codes_are_issued_ahead_once_and_carried_by_the_d3_reminder(
    client, world, db, shaped
):
    from collection.domain import contact_rules
    from collection.models import Message, MessageStatus
    from collection.payments import service as payments
    from collection.regua import service as reminders
    from tenants.models import Tenant
    from tests.integration.test_reminders import Recorder

    await _agreement(client, world)
    agreement, _paid = await _installments(db, world.a.id)
    async with db.session(Scope.tenant(world.a.id)) as session:
        first = await session.scalar(
            select(AgreementInstallment)
            .where(AgreementInstallment.agreement_id == agreement.id)
            .order_by(AgreementInstallment.number)
        )
        assert first is not None
    d3 = first.due_date - timedelta(days=3)
    now = contact_rules.next_allowed(
        datetime.combine(d3, datetime.min.time(), contact_rules.SAO_PAULO), "SP"
    )
    assert (
        await payments.issue_codes(db, with_gateway_of(client), d3, now, tenant_id=world.a.id) == 1
    )
    assert (
        await payments.issue_codes(db, with_gateway_of(client), d3, now, tenant_id=world.a.id) == 1
    )
    assert len(shaped.calls) == 1  # the second run found the same code
    # The next day the code is still valid: it is reused, not issued again.
    next_day = await payments.issue_codes(
        db, with_gateway_of(client), d3 + timedelta(days=1), now, tenant_id=world.a.id
    )
    assert next_day == 1 and len(shaped.calls) == 1
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=True)
        )
        await session.commit()
    try:
        await reminders.plan(db, d3, now)
        async with db.session(Scope.tenant(world.a.id)) as session:
            message = await session.scalar(
                select(Message).where(Message.installment_id == first.id)
            )
            assert message is not None and message.status == MessageStatus.PLANNED
        claimed = await reminders.claim(db, max(now, message.send_after))
        assert message.id in claimed
        recorder = Recorder()
        outcome = await reminders.deliver(
            db,
            reminders.Delivery("https://quita.example", recorder, TEST_SECRET),
            message.id,
            max(now, message.send_after),
        )
        assert outcome == "sent"
        assert "Pix copia e cola: 000201" in recorder.sent[0][3]
    finally:
        async with db.session(Scope.system()) as session:
            await session.execute(
                update(Tenant).where(Tenant.id == world.a.id).values(reminders_enabled=False)
            )
            await session.execute(delete(Message).where(Message.tenant_id == world.a.id))
            await session.commit()


def with_gateway_of(client: Any) -> Any:
    return client.app.state.gateway
