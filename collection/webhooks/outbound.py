"""Outbound webhooks: the tenant's endpoints, the events they receive, and their outbox.

An event is written as one ``WebhookDelivery`` per subscribed endpoint in the same
transaction as its cause (an agreement, a payment, an opt-out), so an event exists if and
only if its cause committed; a dispatch job is sent after that commit, and the periodic
scheduler sends one every minute, so a lost job delays a delivery but never loses it.
Deliveries are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), posted
signed, and retried with exponential backoff until delivered or ``MAX_ATTEMPTS`` is
reached; a failed delivery is kept, shown in the log and can be sent again by hand.

Signature (like Stripe's): ``Quita-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` keyed with the endpoint's secret. Payloads carry ids, amounts in
centavos, dates and contract codes; never a CPF, an e-mail or a phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import AgreementDebt, Debt
from core.db import Database, Scope, utcnow
from core.destinations import is_local_name, is_loopback, is_public, literal_address
from core.i18n import gettext as _
from core.secrets_box import SecretsBox
from core.security import constant_time_equals, new_token
from core.tasks import enqueue_after_commit
from tenants.models import WebhookDelivery, WebhookEndpoint

DISPATCH = "webhooks.dispatch"  # the actor that delivers due deliveries

AGREEMENT_CREATED = "agreement.created"
PAYMENT_RECEIVED = "payment.received"
AGREEMENT_BROKEN = "agreement.broken"
DEBTOR_OPTED_OUT = "debtor.opted_out"
EVENTS = (AGREEMENT_CREATED, PAYMENT_RECEIVED, AGREEMENT_BROKEN, DEBTOR_OPTED_OUT)
TEST_EVENT = "webhook.test"  # sent only by the portal's "send a test event" button

# Wait after the n-th failed attempt (the last value repeats): about 2.6 days in all.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)  # a batch of 50 at 10 s each fits in it
BATCH = 50
SIGNATURE_TOLERANCE = timedelta(minutes=5)
LOG_SIZE = 200


STATUS_PENDING = "pending"
STATUS_DELIVERED = "delivered"
STATUS_FAILED = "failed"


# -- sending -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostResult:
    """What the receiver answered: an HTTP status, or an error (no answer at all)."""

    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender(Protocol):
    """Posts one signed body to a URL (the adapter is ``integrations.webhook_sender``)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult: ...


def backoff(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed attempts."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The ``Quita-Signature`` header value for ``body`` sent at ``at``."""
    stamp = int(at.timestamp())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> bool:
    """Check a ``Quita-Signature`` header as a receiver should: the HMAC of the exact body
    and a timestamp within ``tolerance`` of ``now`` (which defeats replays)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        stamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now.timestamp() - stamp) > tolerance.total_seconds():
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(constant_time_equals(expected, given) for given in parts.get("v1", []))


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed) for a payload."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


# -- emitting ----------------------------------------------------------------------------


async def emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> str | None:
    """Write the event for every active endpoint of the tenant subscribed to it, in the
    caller's transaction, and send a dispatch job after commit; returns the event id
    (None when no endpoint wants it)."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    rows = await session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.is_active.is_(True)
        )
    )
    endpoints = [e for e in rows.all() if event_type in (e.events or [])]
    if not endpoints:
        return None
    at = now or utcnow()
    event_id = "evt_" + uuid.uuid4().hex
    payload = {
        "id": event_id,
        "type": event_type,
        "created": at.isoformat(),
        "tenant": str(tenant_id),
        "data": data,
    }
    session.add_all(
        WebhookDelivery(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            endpoint_id=endpoint.id,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            status=STATUS_PENDING,
            attempts=0,
            next_attempt_at=at,
            last_error="",
        )
        for endpoint in endpoints
    )
    enqueue_after_commit(session, DISPATCH)
    return event_id


async def contracts_of(session: AsyncSession, agreement_id: uuid.UUID) -> list[str]:
    """The contract codes of an agreement's debts (what the creditor's systems know)."""
    rows = await session.scalars(
        select(Debt.contract)
        .join(AgreementDebt, AgreementDebt.debt_id == Debt.id)
        .where(AgreementDebt.agreement_id == agreement_id)
        .order_by(Debt.contract)
    )
    return list(rows.all())


# -- delivering --------------------------------------------------------------------------


async def claim(db: Database, now: datetime, limit: int = BATCH) -> list[uuid.UUID]:
    """Take up to ``limit`` due deliveries (and ones whose lease expired) for sending."""
    async with db.session(Scope.system()) as session:
        due = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == STATUS_PENDING,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        if db.is_postgres:
            due = due.with_for_update(skip_locked=True)
        ids = list(await session.scalars(due))
        if ids:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(lease_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
        await session.commit()
        return ids


async def deliver(
    db: Database, sender: WebhookSender, delivery_id: uuid.UUID, now: datetime, box: SecretsBox
) -> str:
    """Post one claimed delivery and record the outcome; returns its new status."""
    async with db.session(Scope.system()) as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != STATUS_PENDING:
            return "skipped"
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        url, secret = (endpoint.url, box.open(endpoint.secret)) if endpoint else ("", "")
        active = endpoint is not None and endpoint.is_active
    # The request runs outside any transaction: a slow receiver holds no lock.
    if active:
        body = body_of(delivery.payload)
        headers = _headers(delivery.event_id, delivery.event_type, secret, body, now)
        result = await sender.post(url, body, headers)
    else:
        result = PostResult(None, "endpoint disabled")
    async with db.session(Scope.system()) as session:
        delivery = await session.get_one(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery.status != STATUS_PENDING:
            return "skipped"
        delivery.attempts += 1
        delivery.lease_until = None
        delivery.last_status = result.status
        delivery.last_error = result.error[:300]
        if result.ok:
            delivery.status = STATUS_DELIVERED
            delivery.delivered_at = now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = STATUS_FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        await session.commit()
        return delivery.status


def _headers(
    event_id: str, event_type: str, secret: str, body: bytes, now: datetime
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "Quita-Webhooks/1",
        "quita-event-id": event_id,
        "quita-event-type": event_type,
        "quita-signature": sign(secret, body, now),
    }


async def send_test(
    sender: WebhookSender,
    endpoint: WebhookEndpoint,
    now: datetime,
    *,
    development: bool,
    box: SecretsBox,
) -> PostResult:
    """Post a signed ``webhook.test`` event to the endpoint at once (not through the
    outbox, never retried) and return what it answered. An address the form would refuse
    now (plain ``http://`` outside development) is refused without sending."""
    form = EndpointForm(endpoint.url, tuple(endpoint.events), endpoint.is_active)
    refused = check_endpoint(form, development=development).get("url")
    if refused:
        return PostResult(None, refused)
    event_id = "evt_test_" + uuid.uuid4().hex
    payload = {
        "id": event_id,
        "type": TEST_EVENT,
        "created": now.isoformat(),
        "tenant": str(endpoint.tenant_id),
        "data": {"endpoint_id": str(endpoint.id)},
    }
    body = body_of(payload)
    return await sender.post(
        endpoint.url, body, _headers(event_id, TEST_EVENT, box.open(endpoint.secret), body, now)
    )


async def dispatch(
    db: Database, sender: WebhookSender, now: datetime, box: SecretsBox
) -> dict[str, int]:
    """Claim the due deliveries and send each once; counts by outcome."""
    outcomes: dict[str, int] = {}
    for delivery_id in await claim(db, now):
        outcome = await deliver(db, sender, delivery_id, now, box)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


# -- the tenant's endpoints --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointForm:
    """An endpoint as typed in the portal."""

    url: str
    events: tuple[str, ...]
    is_active: bool = True
    errors: dict[str, str] = field(default_factory=dict)


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    return address is not None and is_loopback(address)


def _is_internal(host: str) -> bool:
    address = literal_address(host)
    return is_local_name(host) if address is None else not is_public(address)


def check_endpoint(form: EndpointForm, *, development: bool) -> dict[str, str]:
    """What is wrong with an endpoint form, by field (empty when it may be saved).

    ``https://`` is required; plain ``http://`` only to this machine in development
    (``Settings.development``: a developer's own receiver). No address of the internal
    network, in any notation (``127.1``, ``2130706433``, ``0``), except this machine in
    development. Names are checked again, by what they resolve to, each time a delivery
    is sent.
    """
    errors: dict[str, str] = {}
    url = form.url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        parts, host = urlsplit(""), ""
    local = development and _is_loopback(host)
    if len(url) > 500 or not host or parts.scheme not in ("https", "http"):
        errors["url"] = _("Type the full address, starting with https://.")
    elif parts.username or parts.password:
        errors["url"] = _("The address cannot carry a user name or password.")
    elif parts.scheme == "http" and not local:
        errors["url"] = _(
            "The address must start with https://. Plain http:// is accepted only in "
            "development, to this machine."
        )
    elif _is_internal(host) and not local:
        errors["url"] = _("The address must be reachable on the internet.")
    if not form.events:
        errors["events"] = _("Choose at least one event.")
    elif any(e not in EVENTS for e in form.events):
        errors["events"] = _("Unknown event.")
    return errors


def new_secret() -> str:
    """A signing secret, shown to the tenant (it keys the HMAC of every delivery)."""
    return "whsec_" + new_token(24)


async def endpoints_of(session: AsyncSession) -> Sequence[WebhookEndpoint]:
    """The endpoints visible in the session's tenant, newest first."""
    rows = await session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.created_at.desc())
    )
    return rows.all()


async def endpoint_of(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    """One endpoint of the session's tenant (None for another tenant's)."""
    found: WebhookEndpoint | None = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    )
    return found


def create_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    form: EndpointForm,
    created_by: uuid.UUID,
    box: SecretsBox,
) -> WebhookEndpoint:
    """Add a checked endpoint with a new secret (kept sealed: ``endpoint_secret``)."""
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        url=form.url.strip(),
        secret=box.seal(new_secret()),
        events=[e for e in EVENTS if e in form.events],
        is_active=form.is_active,
        created_by=created_by,
    )
    session.add(endpoint)
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, form: EndpointForm) -> None:
    """Change a checked endpoint's address, events and switch (the secret stays)."""
    endpoint.url = form.url.strip()
    endpoint.events = [e for e in EVENTS if e in form.events]
    endpoint.is_active = form.is_active


def rotate_secret(endpoint: WebhookEndpoint, box: SecretsBox) -> str:
    """Give the endpoint a new secret; deliveries from now on are signed with it."""
    secret = new_secret()
    endpoint.secret = box.seal(secret)
    return secret


def endpoint_secret(endpoint: WebhookEndpoint, box: SecretsBox) -> str:
    """The endpoint's signing secret in clear, to show its owner or sign with."""
    return box.open(endpoint.secret)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One delivery as the portal's log shows it."""

    delivery: WebhookDelivery
    url: str


async def delivery_log(
    session: AsyncSession, endpoint_id: uuid.UUID | None = None, limit: int = LOG_SIZE
) -> list[LogLine]:
    """The latest deliveries of the session's tenant (of one endpoint if given)."""
    query = (
        select(WebhookDelivery, WebhookEndpoint.url)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return [LogLine(d, url) for d, url in (await session.execute(query)).all()]


async def send_again(
    session: AsyncSession, delivery_id: uuid.UUID, now: datetime
) -> WebhookDelivery | None:
    """Put a failed delivery of the session's tenant back in the outbox, due now, with a
    fresh round of attempts; None if there is no such failed delivery."""
    delivery: WebhookDelivery | None = await session.scalar(
        select(WebhookDelivery).where(
            and_(WebhookDelivery.id == delivery_id, WebhookDelivery.status == STATUS_FAILED)
        )
    )
    if delivery is None:
        return None
    delivery.status = STATUS_PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    enqueue_after_commit(session, DISPATCH)
    return delivery
