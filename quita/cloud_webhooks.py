"""The WhatsApp Cloud API's webhook: Meta's GET subscription check and its signed POSTs
of incoming messages (stored once, processed by a worker, the window opened at once) and
of statuses of the texts sent (recorded per message)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, get, post

from collection.regua import inbound_texts, whatsapp
from core.clock import Clock
from core.db import Database
from core.settings import Settings
from integrations import whatsapp_cloud

log = structlog.get_logger("quita.webhooks")
PATH = "/webhooks/whatsapp-cloud"


@get(PATH, name="webhooks.cloud_verify", media_type="text/plain")
async def cloud_verify(request: Request[Any, Any, Any]) -> Response[str]:
    """Echo ``hub.challenge`` to Meta when the verify token is ours; else 403."""
    settings: Settings = request.app.state.settings
    params = {key: str(value) for key, value in request.query_params.items()}
    answer = whatsapp_cloud.challenge(settings.text.cloud_verify_token, params)
    if answer is None:
        log.warning("webhook.refused", provider="meta", reason="verify_token")
        return Response("", status_code=403)
    return Response(answer, media_type="text/plain")


@post(PATH, name="webhooks.cloud", status_code=200, opt={"exclude_from_csrf": True})
async def cloud_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, int]]:
    """200 once stored; 401 for a bad signature; 404 while the Cloud API is not set up."""
    settings: Settings = request.app.state.settings
    secret = settings.text.cloud_app_secret
    if not secret:
        return Response({}, status_code=404)
    body = await request.body()
    if not whatsapp_cloud.signature_ok(
        secret, body, request.headers.get("x-hub-signature-256", "")
    ):
        log.warning("webhook.refused", provider="meta", reason="signature")
        return Response({}, status_code=401)
    db: Database = request.app.state.db
    clock: Clock = request.app.state.clock
    messages, statuses = whatsapp_cloud.parse(body)
    received = 0
    for message in messages:
        await whatsapp.record_inbound(db, message.sender, clock.now())
        text = inbound_texts.Incoming(
            "meta", message.message_id, "whatsapp", message.sender, message.body
        )
        received += await inbound_texts.receive(db, text, clock.now()) == "received"
    for status in statuses:
        await inbound_texts.record_receipt(
            db, "meta", status.message_id, status.status, status.error_code, clock.now()
        )
    log.info("whatsapp_cloud.received", messages=received, statuses=len(statuses))
    return Response({"messages": received, "statuses": len(statuses)})
