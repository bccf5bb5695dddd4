"""Incoming WhatsApp messages from Twilio: a person writing in opens the 24-hour window
in which free text may go to them (outside it, only approved templates)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, post

from collection.regua import whatsapp
from core.clock import Clock
from core.db import Database
from core.security import constant_time_equals
from core.settings import Settings
from integrations.texts import inbound_whatsapp_number, twilio_signature

log = structlog.get_logger("quita.webhooks")
EMPTY_TWIML = "<?xml version='1.0' encoding='UTF-8'?><Response/>"


@post(
    "/webhooks/twilio/whatsapp",
    name="webhooks.twilio_whatsapp",
    status_code=200,
    opt={"exclude_from_csrf": True},
)
async def twilio_whatsapp_webhook(request: Request[Any, Any, Any]) -> Response[str]:
    """200 with empty TwiML once recorded (no automatic answer); 403 for a bad signature;
    404 while Twilio is not configured."""
    settings: Settings = request.app.state.settings
    if not settings.text.enabled:
        return Response("", status_code=404)
    params = {key: str(value) for key, value in (await request.form()).items()}
    url = settings.base_url.rstrip("/") + request.url.path
    expected = twilio_signature(settings.text.twilio_auth_token, url, params)
    if not constant_time_equals(expected, request.headers.get("x-twilio-signature", "")):
        log.warning("webhook.refused", provider="twilio", reason="signature")
        return Response("", status_code=403)
    number = inbound_whatsapp_number(params)
    if number is not None:
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        touched = await whatsapp.record_inbound(db, number, clock.now())
        log.info("whatsapp.window_opened", contacts=touched)
    return Response(EMPTY_TWIML, media_type="text/xml")
