"""Stripe events dated in the future, or naming no connected account, are refused
(issue 26 item 12).

The probe had a validly signed event with a timestamp an hour ahead accepted (the SDK
refuses only old signatures), and an event without ``account`` skip the check that the
event comes from the creditor's own connected account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from collection.models import GatewayEvent, Payment
from collection.payments import service as payments
from core.db import Scope
from core.settings import PaymentSettings
from integrations.stripe_gateway import FUTURE_TOLERANCE_SECONDS, StripeGateway
from tests.integration.test_payments import (
    WEBHOOK_SECRET,
    ShapedStripe,
    _agreement,
    _deliver,
    _installments,
    _pay,
    event,
)


def _signed_at(body: bytes, stamp: int) -> str:
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return f"t={stamp},v1={mac.hexdigest()}"


@pytest.fixture
def stripe_like(app: Any) -> Iterator[ShapedStripe]:
    """The app on a gateway that behaves like Stripe (connected accounts), offline."""
    before = (app.state.gateway, app.state.settings)
    http = ShapedStripe()
    settings = PaymentSettings(
        secret_key="sk_test_shaped", webhook_secret=WEBHOOK_SECRET, api_base="https://stripe.test"
    )
    app.state.settings = replace(app.state.settings, payments=settings)
    app.state.gateway = StripeGateway(settings, http_client=http)
    yield http
    app.state.gateway, app.state.settings = before


async def _payment(client: Any, world: Any, db: Any) -> Payment:
    url = await _agreement(client, world)
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
        return payment


async def _stored(db: Any, event_id: str) -> int:
    async with db.session(Scope.system()) as session:
        count = await session.scalar(
            select(func.count())
            .select_from(GatewayEvent)
            .where(GatewayEvent.provider_event_id == event_id)
        )
        return int(count or 0)


def _success(payment: Payment, account: str | None) -> dict[str, Any]:
    intent = {"id": payment.provider_id, "object": "payment_intent", "status": "succeeded"}
    return event("payment_intent.succeeded", intent, account=account)


async def test_an_event_signed_or_created_in_the_future_is_refused(client, world, db, stripe_like):
    payment = await _payment(client, world, db)
    account = world.a.tenant.stripe_account
    ahead = int(time.time()) + 3600

    signed_ahead = _success(payment, account)
    body = json.dumps(signed_ahead).encode()
    response = await _deliver(client, body, _signed_at(body, ahead))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")

    created_ahead = {**_success(payment, account), "created": ahead}
    body = json.dumps(created_ahead).encode()
    assert (await _deliver(client, body, _signed_at(body, int(time.time())))).status_code == 400

    assert await _stored(db, signed_ahead["id"]) == 0
    assert await _stored(db, created_ahead["id"]) == 0
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0

    # Clocks a few seconds apart are fine.
    slightly = int(time.time()) + FUTURE_TOLERANCE_SECONDS // 2
    fine = {**_success(payment, account), "created": slightly}
    body = json.dumps(fine).encode()
    response = await _deliver(client, body, _signed_at(body, slightly))
    assert response.status_code == 200, response.text
    async with db.session(Scope.system()) as session:
        stored = await session.scalar(
            select(GatewayEvent.id).where(GatewayEvent.provider_event_id == fine["id"])
        )
    assert stored is not None  # applied here, as the worker would, leaving none pending
    assert await payments.apply_event(db, stored) == "succeeded"


@pytest.mark.parametrize("account", [None, ""])
async def test_an_event_naming_no_connected_account_is_refused(
    client, world, db, stripe_like, account
):
    payment = await _payment(client, world, db)
    unnamed = _success(payment, account)
    body = json.dumps(unnamed).encode()
    response = await _deliver(client, body, _signed_at(body, int(time.time())))
    assert response.status_code == 400
    assert await _stored(db, unnamed["id"]) == 0
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0


async def test_the_payment_service_does_not_skip_the_account_check_for_an_unnamed_event(
    client, world, db, stripe_like
):
    """Even an event that reached the service another way (reconciliation, a stored
    event) is applied only when it names the creditor's account."""
    payment = await _payment(client, world, db)

    def notice(account: str) -> payments.Notice:
        return payments.Notice(
            event_id="evt_" + uuid.uuid4().hex[:14],
            type="payment_intent.succeeded",
            account=account,
            payment_intent=str(payment.provider_id),
            occurred_at=datetime.now(UTC),
        )

    now = datetime.now(UTC)
    assert await payments.apply_notice(db, notice(""), now) == "account_mismatch"
    assert await payments.apply_notice(db, notice("acct_other"), now) == "account_mismatch"
    _agreement_row, paid = await _installments(db, world.a.id)
    assert sum(paid) == 0
    own = notice(world.a.tenant.stripe_account)
    assert await payments.apply_notice(db, own, now) == "succeeded"


def test_only_the_local_test_gateway_without_accounts_accepts_an_unnamed_event():
    body = json.dumps(
        {"id": "evt_local", "type": "x", "created": int(time.time()), "data": {"object": {}}}
    ).encode()
    signature = _signed_at(body, int(time.time()))

    def gateway(api_base: str) -> StripeGateway:
        return StripeGateway(
            PaymentSettings(
                secret_key="sk_test_x", webhook_secret=WEBHOOK_SECRET, api_base=api_base
            )
        )

    local = gateway("http://127.0.0.1:9").verify(body, signature)
    assert local.connected is False and local.account == ""
    with pytest.raises(payments.InvalidNotice):
        gateway("https://stripe.test").verify(body, signature)
