"""Incoming payment-gateway webhooks: verified, stored once by event id, applied."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, post

from collection.payments.service import (
    GatewayError,
    InvalidNotice,
    PaymentGateway,
    receive_notice,
)
from core.clock import Clock
from core.db import Database
from core.i18n import gettext as _
from integrations.gateways import local_of, psp_of
from integrations.local_payments import SIGNATURE_HEADER, WEBHOOK_PATH
from integrations.pix_psp import WEBHOOK_PATH as PSP_WEBHOOK_PATH
from portal.api.problems import PROBLEM_JSON, Problem
from quita.bodies import WEBHOOK_BODY_LIMIT

log = structlog.get_logger("quita.webhooks")


@post(
    "/webhooks/stripe",
    name="webhooks.stripe",
    status_code=200,
    opt={"exclude_from_csrf": True},
    request_max_body_size=WEBHOOK_BODY_LIMIT,
)
async def stripe_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """200 once the event is stored (also for a repeat), and a worker applies it; 400 (a
    problem document) for a bad signature or an event that is not one; a failure to
    store answers 500 and the gateway delivers it again."""
    gateway: PaymentGateway | None = request.app.state.gateway
    if gateway is None:
        return Response({"status": "payments disabled"}, status_code=404)
    return await _receive(request, gateway, request.headers.get("stripe-signature", ""))


@post(
    WEBHOOK_PATH,
    name="webhooks.local",
    status_code=200,
    opt={"exclude_from_csrf": True},
    request_max_body_size=WEBHOOK_BODY_LIMIT,
)
async def local_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """The local test provider's events (development only; 404 where it is not set up),
    stored and applied exactly as Stripe's are."""
    local = local_of(request.app.state.gateway)
    if local is None:
        return Response({"status": "payments disabled"}, status_code=404)
    return await _receive(request, local, request.headers.get(SIGNATURE_HEADER, ""))


@post(
    PSP_WEBHOOK_PATH + "/pix",
    name="webhooks.psp",
    status_code=200,
    opt={"exclude_from_csrf": True},
    request_max_body_size=WEBHOOK_BODY_LIMIT,
)
async def psp_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """The Pix PSP's notification (Pix API ``{webhookUrl}/pix``). Its body is a hint: each
    Pix it names counts only as the PSP reports it when asked (``confirm``), stored once
    by its endToEndId and applied by a worker."""
    psp = psp_of(request.app.state.gateway)
    if psp is None:
        return Response({"status": "payments disabled"}, status_code=404)
    try:
        notices = await psp.confirm(await request.body())
    except InvalidNotice as exc:
        log.warning("webhook.refused", reason=str(exc)[:120])
        problem = Problem(
            "urn:quita:problem:invalid-event",
            "Bad Request",
            400,
            _("The event's signature, time or content does not check out."),
        )
        return Response(problem, status_code=400, media_type=PROBLEM_JSON)
    except GatewayError:
        # The PSP could not be asked now: it delivers again, and reconciliation asks too.
        return Response({"status": "unconfirmed"}, status_code=503)
    db: Database = request.app.state.db
    clock: Clock = request.app.state.clock
    outcomes = [await receive_notice(db, notice, clock.now()) for notice in notices]
    log.info("webhook.psp", confirmed=len(notices), outcomes=outcomes)
    return Response({"status": "received", "outcomes": outcomes})


async def _receive(
    request: Request[Any, Any, Any], gateway: PaymentGateway, signature: str
) -> Response[Any]:
    payload = await request.body()
    try:
        notice = gateway.verify(payload, signature)
    except InvalidNotice as exc:
        log.warning("webhook.refused", reason=str(exc)[:120])
        problem = Problem(
            "urn:quita:problem:invalid-event",
            "Bad Request",
            400,
            _("The event's signature, time or content does not check out."),
        )
        return Response(problem, status_code=400, media_type=PROBLEM_JSON)
    db: Database = request.app.state.db
    clock: Clock = request.app.state.clock
    outcome = await receive_notice(db, notice, clock.now())
    log.info("webhook.applied", event_id=notice.event_id, type=notice.type, outcome=outcome)
    return Response({"status": outcome})
