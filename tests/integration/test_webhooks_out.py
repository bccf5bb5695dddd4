"""Outbound webhooks: the four business events reach a receiver on loopback, signed; a
receiver that is down is retried with backoff, then marked failed, nothing lost, and
"send again" delivers; the portal's endpoints and log stay within the tenant."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from collection.models import Agreement, AgreementInstallment, Payment, PaymentMethod
from collection.payments import service as payments
from collection.webhooks import outbound as webhooks
from core.db import Scope
from core.secrets_box import SecretsBox
from integrations.webhook_sender import HttpWebhookSender
from tenants.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from tenants.roles import Role
from tests.conftest import csrf, csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_agreements import _form, _offer_links, _verified

# -- a receiver on loopback --------------------------------------------------------------


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)

    def of_tenant(self, tenant_id: uuid.UUID) -> list[Received]:
        return [r for r in self.requests if r.payload["tenant"] == str(tenant_id)]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    captured = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            captured.requests.append(
                Received(body, {k.lower(): v for k, v in self.headers.items()})
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return None  # the tests read the captured requests; no access log on stderr

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    captured.url = f"http://127.0.0.1:{server.server_address[1]}/quita"
    yield captured
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    """An address on loopback where nothing listens (a receiver that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


async def _add_endpoint(client, world, url: str, events: tuple[str, ...] = webhooks.EVENTS):
    """Register an endpoint through the portal as tenant A's owner; its id and secret."""
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/webhooks/novo")
    assert page.status_code == 200
    data: dict[str, Any] = {"url": url, "events": list(events), "is_active": "on"}
    saved = await client.post(
        "/portal/webhooks/salvar", data={**data, "_csrf_token": csrf_from(page.text)}
    )
    assert saved.status_code == 303, saved.text[-800:]
    endpoint_id = uuid.UUID(saved.headers["location"].rsplit("/", 1)[1])
    shown = await client.get(saved.headers["location"])
    secret = re.search(r'<code class="secret">([^<]+)</code>', shown.text)
    assert secret, shown.text[-1500:]
    client.cookies.clear()
    return endpoint_id, secret.group(1)


async def _dispatch(db, at: datetime | None = None) -> dict[str, int]:
    return await webhooks.dispatch(
        db,
        HttpWebhookSender(allow_loopback=True),
        at or datetime.now(UTC),
        SecretsBox.from_value(""),
    )


async def _deliveries(db, tenant_id: uuid.UUID) -> list[WebhookDelivery]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        rows = await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at))
        return list(rows.all())


# -- the four events, from the real flows -----------------------------------------------


async def test_each_business_event_reaches_the_endpoint_signed_and_without_personal_data(
    client, world, db, receiver
):
    _endpoint_id, secret = await _add_endpoint(client, world, receiver.url)

    # A person accepts an offer on the debtor site: agreement.created.
    page = await _verified(client, world)
    link = next(x for x in _offer_links(page, world.a.id) if not x.endswith("/cash"))
    form = _form((await client.get(link)).text)
    accepted = await client.post(form.pop("_action"), data=form)
    assert accepted.status_code in (302, 303)

    # The gateway says the down payment was paid: payment.received.
    async with db.session(Scope.tenant(world.a.id)) as session:
        agreement = await session.scalar(select(Agreement))
        assert agreement is not None
        first = await session.scalar(
            select(AgreementInstallment)
            .where(
                AgreementInstallment.agreement_id == agreement.id, AgreementInstallment.amount > 0
            )
            .order_by(AgreementInstallment.number)
        )
        assert first is not None
        payment = Payment(
            agreement_id=agreement.id,
            installment_number=first.number,
            method=PaymentMethod.PIX,
            amount=first.amount,
            idempotency_key=uuid.uuid4().hex,
            provider_id="pi_" + uuid.uuid4().hex[:20],
        )
        session.add(payment)
        await session.commit()
    notice = payments.Notice(
        event_id="evt_" + uuid.uuid4().hex[:14],
        type="payment_intent.succeeded",
        account=world.a.tenant.stripe_account,
        payment_intent=str(payment.provider_id),
        occurred_at=datetime.now(UTC),
    )
    assert await payments.apply_notice(db, notice, datetime.now(UTC)) == "succeeded"

    # Months pass without another payment: agreement.broken.
    assert (
        await payments.advance_agreements(
            db, date.today() + timedelta(days=200), tenant_id=world.a.id
        )
        >= 1
    )

    # The person stops e-mails on the debtor site: debtor.opted_out.
    rights = await client.get("/minhas-dividas")
    stopped = await client.post(
        "/direitos/parar", data={"channel": "email", "_csrf_token": csrf_from(rights.text)}
    )
    assert stopped.status_code in (302, 303)

    assert [d.event_type for d in await _deliveries(db, world.a.id)] == list(webhooks.EVENTS)
    await _dispatch(db)
    got = receiver.of_tenant(world.a.id)
    assert [r.payload["type"] for r in got] == list(webhooks.EVENTS)
    for request in got:
        now = datetime.now(UTC)
        assert webhooks.verify_signature(
            secret, request.headers["quita-signature"], request.body, now
        )
        assert request.headers["quita-event-id"] == request.payload["id"]
        assert set(request.payload) == {"id", "type", "created", "tenant", "data"}
        text = request.body.decode()
        for cpf in world.a.cpfs:
            assert cpf not in text
        assert "@" not in text and "+55" not in text
    created, paid, broken, opted_out = (r.payload["data"] for r in got)
    assert created["agreement_id"] == str(agreement.id) and created["total"] == agreement.total
    assert created["contracts"] and set(created["contracts"]) <= set(world.a.contracts)
    assert paid["amount"] == first.amount and paid["installment"] == first.number
    assert broken["agreement_id"] == str(agreement.id) and broken["broken_on"]
    assert opted_out == {**opted_out, "channel": "email"} and opted_out["debtor_id"]
    assert all(d.status == "delivered" for d in await _deliveries(db, world.a.id))
    # Tenant B had no endpoint: the same person's opt-out there wrote nothing.
    assert await _deliveries(db, world.b.id) == []


async def test_a_tampered_body_or_an_old_timestamp_fails_the_signature_check():
    now = datetime.now(UTC)
    body = webhooks.body_of({"id": "evt_1", "type": "payment.received", "data": {"amount": 100}})
    header = webhooks.sign("whsec_test", body, now)
    assert webhooks.verify_signature("whsec_test", header, body, now)
    assert not webhooks.verify_signature("whsec_test", header, body.replace(b"100", b"900"), now)
    assert not webhooks.verify_signature("whsec_other", header, body, now)
    assert not webhooks.verify_signature("whsec_test", header, body, now + timedelta(minutes=6))
    assert not webhooks.verify_signature("whsec_test", "t=abc,v1=00", body, now)


async def test_an_event_whose_cause_rolls_back_does_not_exist(world, db):
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(
            WebhookEndpoint(url="https://example.org/h", secret="s", events=list(webhooks.EVENTS))
        )
        await session.commit()
    async with db.session(Scope.tenant(world.a.id)) as session:
        event_id = await webhooks.emit(session, world.a.id, "payment.received", {"amount": 1})
        assert event_id is not None
        await session.rollback()
    assert await _deliveries(db, world.a.id) == []


# -- a receiver that is down ---------------------------------------------------------------


async def test_a_receiver_that_is_down_is_retried_with_backoff_then_failed_and_sent_again(
    client, world, db, receiver
):
    endpoint_id, secret = await _add_endpoint(client, world, closed_port_url())
    async with db.session(Scope.tenant(world.a.id)) as session:
        event_id = await webhooks.emit(
            session, world.a.id, webhooks.PAYMENT_RECEIVED, {"amount": 12345}
        )
        await session.commit()
    start = datetime.now(UTC) + timedelta(seconds=1)
    at = start
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        await _dispatch(db, at)
        (delivery,) = await _deliveries(db, world.a.id)
        assert delivery.attempts == attempt and delivery.last_status is None
        assert delivery.last_error  # the connection was refused
        if attempt < webhooks.MAX_ATTEMPTS:
            assert delivery.status == "pending"
            wait = webhooks.backoff(attempt)
            assert delivery.next_attempt_at == at + wait
            # Not before its time: a dispatch a moment earlier leaves it alone.
            await _dispatch(db, at + wait - timedelta(seconds=1))
            assert (await _deliveries(db, world.a.id))[0].attempts == attempt
            at += wait
        else:
            assert delivery.status == "failed"
    assert webhooks.backoff(1) == timedelta(minutes=1) and webhooks.backoff(99) == timedelta(
        hours=24
    )
    # Failed is kept, with its payload, and visible in the log.
    (failed,) = await _deliveries(db, world.a.id)
    assert failed.payload["id"] == event_id and failed.payload["data"] == {"amount": 12345}
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    log = await client.get("/portal/webhooks")
    assert (
        log.status_code == 200
        and event_id in log.text
        and f"/entregas/{failed.id}/reenviar" in log.text
    )
    # The receiver is back at another address; "send again" delivers the same event.
    page = await client.get(f"/portal/webhooks/{endpoint_id}")
    edited = await client.post(
        "/portal/webhooks/salvar",
        data={
            "endpoint_id": str(endpoint_id),
            "url": receiver.url,
            "events": ["payment.received"],
            "is_active": "on",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert edited.status_code == 303
    again = await client.post(
        f"/portal/webhooks/entregas/{failed.id}/reenviar",
        data={"_csrf_token": csrf_from(log.text)},
    )
    assert again.status_code == 303
    await _dispatch(db)
    (delivered,) = await _deliveries(db, world.a.id)
    assert delivered.status == "delivered" and delivered.last_status == 200
    (request,) = receiver.of_tenant(world.a.id)
    assert request.payload["id"] == event_id
    assert webhooks.verify_signature(
        secret, request.headers["quita-signature"], request.body, datetime.now(UTC)
    )
    async with db.session(Scope.tenant(world.a.id)) as session:
        actions = set(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("webhooks.%"))
            )
        )
    assert {"webhooks.endpoint_created", "webhooks.endpoint_updated"} <= actions
    assert "webhooks.delivery_resent" in actions


# -- the portal ------------------------------------------------------------------------------


async def test_endpoints_need_https_and_known_events_and_the_secret_rotates(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    token = await csrf(client, "/portal/webhooks/novo")
    for url in ("http://example.com/hook", "ftp://example.com", "https://u:p@example.com/"):
        bad = await client.post(
            "/portal/webhooks/salvar",
            data={"url": url, "events": ["payment.received"], "_csrf_token": token},
        )
        assert bad.status_code == 400 and 'id="e-url"' in bad.text
    no_event = await client.post(
        "/portal/webhooks/salvar", data={"url": "https://example.com/h", "_csrf_token": token}
    )
    assert no_event.status_code == 400 and 'id="e-events"' in no_event.text
    unknown = await client.post(
        "/portal/webhooks/salvar",
        data={"url": "https://example.com/h", "events": ["debt.deleted"], "_csrf_token": token},
    )
    assert unknown.status_code == 400
    client.cookies.clear()
    endpoint_id, secret = await _add_endpoint(client, world, "https://example.com/h")
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await client.get(f"/portal/webhooks/{endpoint_id}")
    rotated = await client.post(
        f"/portal/webhooks/{endpoint_id}/segredo", data={"_csrf_token": csrf_from(page.text)}
    )
    assert rotated.status_code == 303
    shown = await client.get(rotated.headers["location"])
    assert secret not in shown.text and "whsec_" in shown.text
    disabled = await client.post(
        f"/portal/webhooks/{endpoint_id}/ativo", data={"_csrf_token": csrf_from(page.text)}
    )
    assert disabled.status_code == 303
    async with db.session(Scope.tenant(world.a.id)) as session:
        endpoint = await session.get_one(WebhookEndpoint, endpoint_id)
        assert endpoint.is_active is False
        assert webhooks.endpoint_secret(endpoint, SecretsBox.from_value("")) != secret
        # A disabled endpoint receives no new events.
        assert await webhooks.emit(session, world.a.id, "payment.received", {}) is None


def test_plain_http_is_only_for_loopback_in_development_and_never_internal_outside_it():
    def check(url: str, development: bool) -> dict[str, str]:
        return webhooks.check_endpoint(
            webhooks.EndpointForm(url, ("payment.received",)), development=development
        )

    assert check("http://127.0.0.1:9000/h", development=True) == {}
    assert check("http://localhost/h", development=True) == {}
    assert "url" in check("http://127.0.0.1:9000/h", development=False)
    assert "url" in check("http://hooks.example.com/quita", development=True)
    assert "url" in check("https://10.0.0.5/h", development=False)
    assert "url" in check("https://169.254.169.254/latest", development=False)
    assert check("https://hooks.example.com/quita", development=False) == {}


async def test_only_owners_and_admins_see_webhooks_and_tenant_b_cannot_reach_a(
    client, world, db, receiver
):
    endpoint_id, secret = await _add_endpoint(client, world, closed_port_url())
    async with db.session(Scope.tenant(world.a.id)) as session:
        await webhooks.emit(session, world.a.id, webhooks.DEBTOR_OPTED_OUT, {"channel": "sms"})
        await session.commit()
        delivery = await session.scalar(select(WebhookDelivery))
        assert delivery is not None
        delivery.status = "failed"
        await session.commit()
    for role in (Role.VIEWER, Role.ANALYST):
        await login(client, world.a.users[role], PASSWORD)
        assert (await client.get("/portal/webhooks")).status_code == 403
        client.cookies.clear()
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    listing = await client.get("/portal/webhooks")
    assert listing.status_code == 200
    assert str(endpoint_id) not in listing.text and secret not in listing.text
    assert str(delivery.id) not in listing.text
    token = csrf_from(listing.text)
    assert (await client.get(f"/portal/webhooks/{endpoint_id}")).status_code == 404
    for path in (
        f"/portal/webhooks/{endpoint_id}/segredo",
        f"/portal/webhooks/{endpoint_id}/ativo",
        f"/portal/webhooks/{endpoint_id}/testar",
        f"/portal/webhooks/entregas/{delivery.id}/reenviar",
    ):
        assert (await client.post(path, data={"_csrf_token": token})).status_code == 404
    edit = await client.post(
        "/portal/webhooks/salvar",
        data={
            "endpoint_id": str(endpoint_id),
            "url": "https://evil.example.com/",
            "events": ["payment.received"],
            "_csrf_token": token,
        },
    )
    assert edit.status_code == 404
    async with db.session(Scope.tenant(world.a.id)) as session:
        endpoint = await session.get_one(WebhookEndpoint, endpoint_id)
        assert webhooks.endpoint_secret(endpoint, SecretsBox.from_value("")) == secret
        assert endpoint.url.startswith("http://127.0.0.1")
        assert (await session.get_one(WebhookDelivery, delivery.id)).status == "failed"


# -- https outside development, and the test button (issue 25 item 13) ----------------------


@pytest.fixture
def staging(app: Any) -> Iterator[None]:
    """The running app as outside development (QUITA_ENV=staging)."""
    before = app.state.settings
    app.state.settings = replace(before, env="staging")
    yield
    app.state.settings = before


async def test_outside_development_the_form_requires_https_with_a_clear_message(
    client, world, staging
):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    token = await csrf(client, "/portal/webhooks/novo")
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "https://127.1/"):
        refused = await client.post(
            "/portal/webhooks/salvar",
            data={"url": url, "events": ["payment.received"], "_csrf_token": token},
        )
        assert refused.status_code == 400 and 'id="e-url"' in refused.text, url
        assert "O endereço deve" in refused.text, url
    saved = await client.post(
        "/portal/webhooks/salvar",
        data={
            "url": "https://hooks.example.com/q",
            "events": ["payment.received"],
            "_csrf_token": token,
        },
    )
    assert saved.status_code == 303


def _test_events(receiver: Receiver, endpoint_id: uuid.UUID) -> list[Received]:
    return [
        r
        for r in receiver.requests
        if r.payload["type"] == webhooks.TEST_EVENT
        and r.payload["data"]["endpoint_id"] == str(endpoint_id)
    ]


async def test_a_test_event_is_sent_signed_and_its_answer_shown_with_and_without_htmx(
    client, world, db, receiver
):
    endpoint_id, secret = await _add_endpoint(client, world, receiver.url)
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await client.get(f"/portal/webhooks/{endpoint_id}")
    assert f'hx-post="/portal/webhooks/{endpoint_id}/testar"' in page.text
    path = f"/portal/webhooks/{endpoint_id}/testar"
    token = csrf_from(page.text)

    partial = await client.post(path, data={"_csrf_token": token}, headers={"hx-request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="webhook-test"' in partial.text
    assert "respondeu HTTP 200" in partial.text
    full = await client.post(path, data={"_csrf_token": token})
    assert full.status_code == 200 and "<html" in full.text and "respondeu HTTP 200" in full.text

    sent = _test_events(receiver, endpoint_id)
    assert len(sent) == 2
    for request in sent:
        assert request.headers["quita-event-type"] == webhooks.TEST_EVENT
        assert webhooks.verify_signature(
            secret, request.headers["quita-signature"], request.body, datetime.now(UTC)
        )
        assert request.payload["tenant"] == str(world.a.id)
    # Not an outbox delivery: nothing to retry, nothing in the log.
    assert await _deliveries(db, world.a.id) == []
    async with db.session(Scope.tenant(world.a.id)) as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action == "webhooks.test_sent")
            )
        )
    assert len(actions) == 2


async def test_the_test_button_shows_why_an_event_was_not_delivered(
    client, app, world, db, receiver
):
    down_id, _secret = await _add_endpoint(client, world, closed_port_url())
    up_id, _secret = await _add_endpoint(client, world, receiver.url)
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get(f"/portal/webhooks/{down_id}")
    token = csrf_from(page.text)
    htmx = {"hx-request": "true"}

    down = await client.post(
        f"/portal/webhooks/{down_id}/testar", data={"_csrf_token": token}, headers=htmx
    )
    assert down.status_code == 200 and "Sem resposta do destino" in down.text

    # Outside development the loopback receiver is refused before anything is sent.
    before = (app.state.settings, app.state.webhook_sender)
    app.state.settings = replace(before[0], env="staging")
    try:
        refused = await client.post(
            f"/portal/webhooks/{up_id}/testar", data={"_csrf_token": token}, headers=htmx
        )
        assert "O endereço deve começar com https://" in refused.text
        # And the sender itself refuses a loopback address outside development.
        app.state.settings = before[0]
        app.state.webhook_sender = HttpWebhookSender()
        refused = await client.post(
            f"/portal/webhooks/{up_id}/testar", data={"_csrf_token": token}, headers=htmx
        )
        assert "Destino recusado" in refused.text
    finally:
        app.state.settings, app.state.webhook_sender = before
    assert _test_events(receiver, up_id) == []
