"""Hostile bodies get a 4xx, not a 500, and are not read past their route's limit
(issue 26 item 11).

The probe got 500s from JSON nested 100,000 deep, from TOML nested as deep inside a
policy, and from a validly signed Stripe body ``{"data":5}``; and a 100 MB body was read
whole before the CSRF or signature check. Limits are checked here at the ASGI level, with
a body that is produced only as it is read, so the test sees how much was consumed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core.settings import PaymentSettings
from integrations.stripe_gateway import StripeGateway
from quita.bodies import FORM_BODY_LIMIT, WEBHOOK_BODY_LIMIT
from tests.integration.test_api import bearer, make_client, token_for

SECRET = "whsec_bodies_test"
DEEP_JSON = b"[" * 100_000
PROBLEM = "application/problem+json"


def _signed(body: bytes) -> dict[str, str]:
    stamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={stamp},v1={mac}", "content-type": "application/json"}


@pytest.fixture
def gateway(app: Any) -> Iterator[None]:
    """A Stripe gateway that verifies with SECRET (verification never leaves the host)."""
    before = app.state.gateway
    app.state.gateway = StripeGateway(
        PaymentSettings(
            secret_key="sk_test_bodies", webhook_secret=SECRET, api_base="https://stripe.test"
        )
    )
    yield
    app.state.gateway = before


def _is_problem(response: Any, status: int = 400) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == status


# -- nesting and shapes --------------------------------------------------------------------


async def test_deeply_nested_json_is_a_bad_request_with_a_problem_document(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    for method, path in (("POST", "/api/v1/debts"), ("PUT", "/api/v1/policy/")):
        response = await client.request(
            method,
            path,
            content=DEEP_JSON,
            headers={**bearer(token), "content-type": "application/json"},
        )
        _is_problem(response)


@pytest.mark.parametrize("toml", ["a = " + "[" * 50_000, "a = " + "{b = " * 20_000])
async def test_deeply_nested_toml_in_a_policy_is_a_bad_request(client, world, db, toml):
    token = await token_for(client, await make_client(db, world.a.id))
    response = await client.put("/api/v1/policy/", json={"toml": toml}, headers=bearer(token))
    _is_problem(response)


@pytest.mark.parametrize(
    "event",
    [
        {"data": 5},
        [],
        5,
        {"id": "evt_1", "type": "payment_intent.succeeded", "created": 1, "data": 5},
        {"id": "evt_1", "type": "x", "created": 1, "data": {"object": 5}},
        {"id": "evt_1", "type": "x", "created": "now", "data": {"object": {}}},
        {"id": 5, "type": "x", "created": 1, "data": {"object": {}}},
        {"id": "evt_1", "type": "x", "created": 10**30, "data": {"object": {}}},
        {"id": "evt_1", "type": "x", "created": 1, "account": 7, "data": {"object": {}}},
        {
            "id": "evt_1",
            "type": "charge.refunded",
            "created": 1,
            "data": {"object": {"payment_intent": "pi_1", "amount_refunded": "lots"}},
        },
    ],
)
async def test_a_signed_body_that_is_not_an_event_is_a_bad_request(client, gateway, event):
    body = json.dumps(event).encode()
    response = await client.post("/webhooks/stripe", content=body, headers=_signed(body))
    _is_problem(response)


async def test_a_signed_deeply_nested_body_is_a_bad_request(client, gateway):
    response = await client.post("/webhooks/stripe", content=DEEP_JSON, headers=_signed(DEEP_JSON))
    _is_problem(response)


# -- limits, before reading -----------------------------------------------------------------


class Body:
    """An ASGI ``receive`` that makes a body of ``total`` bytes only as it is read."""

    CHUNK = 64 * 1024

    def __init__(self, total: int) -> None:
        self.total = total
        self.read = 0

    async def __call__(self) -> dict[str, Any]:
        size = min(self.CHUNK, self.total - self.read)
        self.read += size
        return {"type": "http.request", "body": b"x" * size, "more_body": self.read < self.total}


async def _call(app: Any, path: str, body: Body, headers: dict[str, str]) -> int:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (k.encode(), v.encode()) for k, v in {"host": "testserver.local", **headers}.items()
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 443),
        "state": {},
    }
    await app(scope, body, send)
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


HUGE = 100 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/webhooks/stripe", "application/json", WEBHOOK_BODY_LIMIT),
        ("/consulta", "application/x-www-form-urlencoded", FORM_BODY_LIMIT),
        ("/portal/login", "application/x-www-form-urlencoded", FORM_BODY_LIMIT),
    ],
)
async def test_an_announced_oversized_body_is_refused_without_reading_it(
    client, app, gateway, path, content_type, limit
):
    body = Body(HUGE)
    headers = {"content-type": content_type, "content-length": str(HUGE)}
    assert await _call(app, path, body, headers) == 413
    assert body.read == 0


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/webhooks/stripe", "application/json", WEBHOOK_BODY_LIMIT),
        ("/consulta", "application/x-www-form-urlencoded", FORM_BODY_LIMIT),
    ],
)
async def test_an_unannounced_oversized_body_is_cut_off_at_the_limit(
    client, app, gateway, path, content_type, limit
):
    body = Body(HUGE)  # chunked: no content-length
    assert await _call(app, path, body, {"content-type": content_type}) == 413
    assert body.read <= limit + Body.CHUNK


async def test_an_upload_from_someone_not_signed_in_is_refused_before_its_body_is_read(client, app):
    for path in ("/portal/imports", "/portal/imports/"):
        body = Body(HUGE)
        headers = {"content-type": "multipart/form-data; boundary=x"}
        status = await _call(app, path, body, headers)
        assert status in (401, 403, 302, 303), status
        assert body.read == 0
    api = Body(HUGE)
    headers = {"content-type": "multipart/form-data; boundary=x"}
    assert await _call(app, "/api/v1/imports/", api, headers) == 401
    assert api.read == 0
