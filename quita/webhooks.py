"""Incoming payment-gateway webhooks: verified, stored once by event id, applied."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, post

from collection.services.payments import InvalidNotice, PaymentGateway, receive_notice
from core.clock import Clock
from core.db import Database

log = structlog.get_logger("quita.webhooks")


@post("/webhooks/stripe", name="webhooks.stripe", status_code=200, opt={"exclude_from_csrf": True})
async def stripe_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 once the event is stored (also for a repeat), and a worker applies it; 400 for
    a bad signature; a failure to store answers 500 and the gateway delivers it again."""
    gateway: PaymentGateway | None = request.app.state.gateway
    if gateway is None:
        return Response({"status": "payments disabled"}, status_code=404)
    payload = await request.body()
    try:
        notice = gateway.verify(payload, request.headers.get("stripe-signature", ""))
    except InvalidNotice:
        log.warning("webhook.refused", reason="signature")
        return Response({"status": "invalid signature"}, status_code=400)
    db: Database = request.app.state.db
    clock: Clock = request.app.state.clock
    outcome = await receive_notice(db, notice, clock.now())
    log.info("webhook.applied", event_id=notice.event_id, type=notice.type, outcome=outcome)
    return Response({"status": outcome})
