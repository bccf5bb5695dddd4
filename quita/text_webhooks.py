"""Incoming texts from Twilio (SMS and WhatsApp) and its status callbacks, each verified by
``X-Twilio-Signature`` (HMAC-SHA1 with the auth token over the URL and the sorted form).

A text is stored once by its ``MessageSid`` and processed by a worker (stop words, the
conversation); a WhatsApp message also opens at once the 24-hour window in which free
text may go to the person (outside it, only approved templates).
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, post

from collection.regua import inbound_texts, whatsapp
from core.clock import Clock
from core.db import Database
from core.security import constant_time_equals
from core.settings import Settings
from integrations.texts import inbound_number, inbound_whatsapp_number, twilio_signature

log = structlog.get_logger("quita.webhooks")
EMPTY_TWIML = "<?xml version='1.0' encoding='UTF-8'?><Response/>"
_OPTS: dict[str, Any] = {"exclude_from_csrf": True}


async def _verified(request: Request[Any, Any, Any]) -> dict[str, str] | Response[str]:
    """The webhook's form when Twilio signed it; else the answer to give (403/404)."""
    settings: Settings = request.app.state.settings
    if not settings.text.enabled:
        return Response("", status_code=404)
    params = {key: str(value) for key, value in (await request.form()).items()}
    url = settings.base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    expected = twilio_signature(settings.text.twilio_auth_token, url, params)
    if not constant_time_equals(expected, request.headers.get("x-twilio-signature", "")):
        log.warning("webhook.refused", provider="twilio", reason="signature")
        return Response("", status_code=403)
    return params


async def _store(request: Request[Any, Any, Any], params: dict[str, str], channel: str) -> str:
    number = inbound_number(params)
    sid = params.get("MessageSid", "")
    if number is None or not sid:
        return "ignored"
    db: Database = request.app.state.db
    clock: Clock = request.app.state.clock
    text = inbound_texts.Incoming("twilio", sid, channel, number, params.get("Body", ""))
    return await inbound_texts.receive(db, text, clock.now())


@post("/webhooks/twilio/whatsapp", name="webhooks.twilio_whatsapp", status_code=200, opt=_OPTS)
async def twilio_whatsapp_webhook(request: Request[Any, Any, Any]) -> Response[str]:
    """200 with empty TwiML once recorded (answers go out as messages of their own);
    403 for a bad signature; 404 while Twilio is not configured."""
    params = await _verified(request)
    if isinstance(params, Response):
        return params
    number = inbound_whatsapp_number(params)
    if number is not None:
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        touched = await whatsapp.record_inbound(db, number, clock.now())
        outcome = await _store(request, params, "whatsapp")
        log.info("whatsapp.received", contacts=touched, outcome=outcome)
    return Response(EMPTY_TWIML, media_type="text/xml")


@post("/webhooks/twilio/sms", name="webhooks.twilio_sms", status_code=200, opt=_OPTS)
async def twilio_sms_webhook(request: Request[Any, Any, Any]) -> Response[str]:
    """An incoming SMS: stored once, processed by a worker."""
    params = await _verified(request)
    if isinstance(params, Response):
        return params
    outcome = await _store(request, params, "sms")
    log.info("sms.received", outcome=outcome)
    return Response(EMPTY_TWIML, media_type="text/xml")


@post("/webhooks/twilio/status", name="webhooks.twilio_status", status_code=200, opt=_OPTS)
async def twilio_status_webhook(request: Request[Any, Any, Any]) -> Response[str]:
    """A sent text's status (queued, sent, delivered, read, undelivered, failed)."""
    params = await _verified(request)
    if isinstance(params, Response):
        return params
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if sid and status:
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        outcome = await inbound_texts.record_receipt(
            db, "twilio", sid, status, params.get("ErrorCode", ""), clock.now()
        )
        log.info("text.status", status=status, outcome=outcome)
    return Response("", status_code=200)
