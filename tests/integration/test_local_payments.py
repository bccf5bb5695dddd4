"""Pix and boleto through the local test provider (issue 25 item 1): a QR code and its
copy-and-paste code, a boleto with a valid linha digitável, confirmed only by the
provider's signed webhook to the app's own route, through the same inbox and
reconciliation as Stripe's events; repeats and replays count one payment."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from collection.domain import boleto, pix
from collection.models import GatewayEvent, Payment, PaymentStatus
from collection.payments import service as payments
from core.db import Scope
from core.settings import ConfigurationError, PaymentSettings, Settings
from integrations.gateways import RoutedGateway, build_gateway, local_of
from integrations.local_payments import SIGNATURE_HEADER, LocalPaymentProvider
from integrations.stripe_gateway import StripeGateway
from tests.conftest import csrf_from
from tests.integration.test_payments import _agreement, _installments

SECRET = "local-provider-test-secret-" + "x" * 16


class Recording(httpx.AsyncBaseTransport):
    """Delivers the provider's webhooks to the app itself, keeping a copy of each."""

    def __init__(self, app: Any, *, fail: bool = False) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.sent: list[tuple[bytes, str]] = []
        self.fail = fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append((body, request.headers[SIGNATURE_HEADER]))
        if self.fail:
            raise httpx.ConnectError("the app is unreachable", request=request)
        return await self.inner.handle_async_request(request)


def _provider(app: Any, directory: Path, transport: httpx.AsyncBaseTransport) -> Any:
    return LocalPaymentProvider(
        directory=directory,
        secret=SECRET,
        webhook_url="https://testserver.local/webhooks/local",
        now=lambda: datetime.now(UTC),
        transport=transport,
        retry_delays=(0.0, 0.0),
    )


@pytest.fixture
async def local(app: Any, tmp_path: Path) -> AsyncIterator[Recording]:
    before = app.state.gateway
    transport = Recording(app)
    app.state.gateway = RoutedGateway(_provider(app, tmp_path / "ledger", transport), None)
    try:
        yield transport
    finally:
        app.state.gateway = before


async def _apply_received(db: Any, tenant_id: Any) -> list[str]:
    """What the worker does with the events the webhook stored for this tenant's payments
    (other tests' events are left alone)."""
    async with db.session(Scope.system()) as session:
        ids = list(
            await session.scalars(
                select(GatewayEvent.id)
                .join(Payment, Payment.provider_id == GatewayEvent.object_id)
                .where(GatewayEvent.outcome == "", Payment.tenant_id == tenant_id)
                .order_by(GatewayEvent.received_at)
            )
        )
    return [await payments.apply_event(db, event_id) for event_id in ids]


async def _the_payment(db: Any, tenant_id: Any) -> Payment:
    async with db.session(Scope.tenant(tenant_id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
        assert payment is not None
        return payment


async def _simulate(client: Any, payment_url: str, *, button: bool = True) -> Any:
    """Press "Simular pagamento" (``button=False``: post it again once it is gone)."""
    page = await client.get(payment_url)
    assert ("Simular pagamento" in page.text) is button
    token = csrf_from(page.text if button else (await client.get("/")).text)
    return await client.post(payment_url + "/simular", data={"_csrf_token": token})


async def test_pix_shows_a_qr_and_copy_paste_and_the_providers_webhook_confirms_it_once(
    client, world, db, local
):
    url = await _agreement(client, world)
    page = await client.get(url)
    text = page.text
    # Pix first, and no more "Pix and boleto need the real gateway".
    assert text.index("Pagar com Pix") < text.index("Pagar com boleto")
    assert "precisam do gateway real" not in text
    key = re.search(r'name="key" value="([0-9a-f]+)"', text)
    assert key
    data = {"method": "pix", "key": key.group(1), "_csrf_token": csrf_from(text)}
    answer = await client.post(f"{url}/pagamentos", data=data)
    assert answer.status_code in (302, 303), answer.text[-500:]
    payment_url = answer.headers["location"]
    payment = await _the_payment(db, world.a.id)
    shown = await client.get(payment_url)
    assert "<svg" in shown.text and 'class="pix-qr"' in shown.text
    assert "Copiar o código" in shown.text
    code = re.search(r'<textarea id="pix-code" readonly rows="4">([^<]+)</textarea>', shown.text)
    assert code
    parsed = pix.parse_brcode(html.unescape(code.group(1)))  # checks the CRC too
    assert parsed.amount == payment.amount and parsed.txid
    # A double click: the same code, no second charge.
    again = await client.post(f"{url}/pagamentos", data=data)
    assert again.headers["location"] == payment_url

    # Not counted before the provider says so.
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0
    simulated = await _simulate(client, payment_url)
    assert simulated.status_code in (302, 303) and simulated.headers["location"] == payment_url
    assert len(local.sent) == 1
    assert await _apply_received(db, world.a.id) == ["succeeded"]
    status = await client.get(payment_url, headers={"hx-request": "true"})
    assert "Pagamento confirmado" in status.text
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount

    # The button pressed again and the same webhook replayed: one payment.
    assert (await _simulate(client, payment_url, button=False)).status_code in (302, 303)
    assert len(local.sent) == 2
    assert await _apply_received(db, world.a.id) == []
    body, signature = local.sent[0]
    replay = await client.post(
        "/webhooks/local",
        content=body,
        headers={SIGNATURE_HEADER: signature, "content-type": "application/json"},
    )
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert await _apply_received(db, world.a.id) == []
    # Reconciliation asks the provider too, and counts nothing twice.
    assert await payments.reconcile(db, client.app.state.gateway, datetime.now(UTC)) == {}
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount
    async with db.session(Scope.system()) as session:
        events = list(
            await session.scalars(
                select(GatewayEvent.outcome).where(GatewayEvent.object_id == payment.provider_id)
            )
        )
    assert events.count("succeeded") == 1


async def test_boleto_has_a_valid_linha_digitavel_a_printable_page_and_is_confirmed_by_webhook(
    client, world, db, local
):
    url = await _agreement(client, world)
    form_page = await client.get(f"{url}/pagar/boleto")
    key = re.search(r'name="key" value="([0-9a-f]+)"', form_page.text)
    assert key
    answer = await client.post(
        f"{url}/pagamentos",
        data={
            "method": "boleto",
            "key": key.group(1),
            "_csrf_token": csrf_from(form_page.text),
            "endereco": "Rua das Flores, 10, Centro",
            "cidade": "São Paulo",
            "uf": "SP",
            "cep": "01001-000",
        },
    )
    assert answer.status_code in (302, 303), answer.text[-800:]
    payment_url = answer.headers["location"]
    payment = await _the_payment(db, world.a.id)
    assert len(payment.boleto_line) == 47 and payment.boleto_line.isdigit()
    read = boleto.parse_line(payment.boleto_line)  # every check digit verified
    assert read.amount == payment.amount
    assert payment.expires_at is not None
    shown = await client.get(payment_url)
    assert payment.boleto_line in shown.text and "Copiar a linha digitável" in shown.text
    printable = await client.get(payment_url + "/boleto")
    assert printable.status_code == 200
    assert boleto.format_line(payment.boleto_line) in printable.text
    assert printable.text.count('fill="#000"') > 40  # the bar code
    assert world.a.tenant.legal_name in printable.text
    document = await client.get(payment_url + "/boleto.pdf")
    assert document.status_code == 200 and document.content.startswith(b"%PDF")
    assert document.headers["content-type"] == "application/pdf"

    assert (await _simulate(client, payment_url)).status_code in (302, 303)
    assert await _apply_received(db, world.a.id) == ["succeeded"]
    assert (await _simulate(client, payment_url, button=False)).status_code in (302, 303)
    assert await _apply_received(db, world.a.id) == []
    refreshed = await _the_payment(db, world.a.id)
    assert refreshed.status == PaymentStatus.SUCCEEDED
    _row, paid = await _installments(db, world.a.id)
    assert sum(paid) == payment.amount


async def test_a_lost_webhook_is_repaired_by_reconciliation_from_the_providers_ledger(
    app, client, world, db, tmp_path
):
    before = app.state.gateway
    transport = Recording(app, fail=True)
    gateway = RoutedGateway(_provider(app, tmp_path / "ledger", transport), None)
    app.state.gateway = gateway
    try:
        url = await _agreement(client, world)
        page = await client.get(url)
        key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
        assert key
        answer = await client.post(
            f"{url}/pagamentos",
            data={"method": "pix", "key": key.group(1), "_csrf_token": csrf_from(page.text)},
        )
        payment = await _the_payment(db, world.a.id)
        assert payment.provider_id is not None
        outcome = await gateway.local.simulate_payment(payment.provider_id)
        assert outcome == "undelivered" and len(transport.sent) == 3  # tried, then retried
        assert await _apply_received(db, world.a.id) == []
        now = datetime.now(UTC)
        assert await payments.reconcile(db, gateway, now, tenant_id=world.a.id) == {"succeeded": 1}
        assert await payments.reconcile(db, gateway, now, tenant_id=world.a.id) == {}
        status = await client.get(answer.headers["location"], headers={"hx-request": "true"})
        assert "Pagamento confirmado" in status.text
        _row, paid = await _installments(db, world.a.id)
        assert sum(paid) == payment.amount
    finally:
        app.state.gateway = before


async def test_the_local_webhook_refuses_bad_signatures_and_other_providers_ids(
    client, world, db, local
):
    from collection.webhooks.outbound import sign

    async def stored() -> int:
        async with db.session(Scope.system()) as session:
            return len(list(await session.scalars(select(GatewayEvent.id))))

    before = await stored()
    event = b'{"created":1,"id":"evt_x","payment":{"id":"local_pix_%s"},"type":"payment.paid"}'
    body = event % (b"0" * 20)
    now = datetime.now(UTC)
    for signature in (
        "t=1,v1=00",  # forged
        sign("another-secret", body, now),  # signed by someone else
        sign(SECRET, body, now - timedelta(minutes=10)),  # replayed later
    ):
        answer = await client.post(
            "/webhooks/local",
            content=body,
            headers={SIGNATURE_HEADER: signature, "content-type": "application/json"},
        )
        assert answer.status_code == 400, signature
    # Signed, but naming a charge this provider never issues (a Stripe id).
    other = event % b"pi_123"
    answer = await client.post(
        "/webhooks/local",
        content=other.replace(b"local_pix_", b""),
        headers={SIGNATURE_HEADER: sign(SECRET, other.replace(b"local_pix_", b""), now)},
    )
    assert answer.status_code == 400
    assert await stored() == before


async def test_without_the_local_provider_there_is_no_simulation_and_no_local_route(
    client, world, db
):
    assert local_of(client.app.state.gateway) is None
    response = await client.post("/webhooks/local", content=b"{}")
    assert response.status_code == 404


def test_production_never_builds_the_local_provider() -> None:
    from cryptography.fernet import Fernet

    keys = {
        "QUITA_SECRETS_KEY": Fernet.generate_key().decode(),
        "QUITA_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "CPF_HASH_KEY": "c" * 40,
        "DATABASE_URL": "postgresql://db/quita",
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    with pytest.raises(ConfigurationError, match="development only"):
        Settings.from_env({**keys, "QUITA_LOCAL_PAYMENTS": "1"})
    settings = Settings.from_env(keys)
    gateway = build_gateway(settings, lambda: datetime.now(UTC))
    assert isinstance(gateway, StripeGateway) and local_of(gateway) is None
    # Even a settings object built by hand, skipping the check, gets no local provider.
    forced = settings.with_changes(
        payments=PaymentSettings(
            secret_key="sk_live_x", webhook_secret="whsec_x", local_provider=True
        )
    )
    assert isinstance(build_gateway(forced, lambda: datetime.now(UTC)), StripeGateway)


def test_development_routes_pix_and_boleto_to_the_local_provider_and_pix_comes_first() -> None:
    settings = Settings.from_env({"QUITA_LOCAL_PAYMENTS": "1", "QUITA_VAR_DIR": "/tmp/x"})
    gateway = build_gateway(settings, lambda: datetime.now(UTC))
    assert isinstance(gateway, RoutedGateway)
    assert [m.value for m in gateway.methods] == ["pix", "boleto"]
