"""The WhatsApp Cloud API's webhook, as Meta documents it: a GET that echoes
``hub.challenge`` when ``hub.verify_token`` is ours, and POSTs signed with
``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``,
carrying ``entry[].changes[].value`` with ``messages`` (incoming) and ``statuses``
(sent, delivered, read, failed) of the texts sent."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from integrations.texts import TextSendError, to_e164


def sign(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(app_secret: str, body: bytes, header: str) -> bool:
    """True when ``header`` signs ``body`` with the app secret (constant time)."""
    return bool(app_secret) and hmac.compare_digest(sign(app_secret, body), header.strip())


def challenge(verify_token: str, params: dict[str, str]) -> str | None:
    """The text to echo to Meta's subscription check, or None to refuse it."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    if not hmac.compare_digest(params.get("hub.verify_token", ""), verify_token):
        return None
    return params.get("hub.challenge", "") or None


@dataclass(frozen=True, slots=True)
class CloudMessage:
    message_id: str
    sender: str  # E.164
    body: str


@dataclass(frozen=True, slots=True)
class CloudStatus:
    message_id: str
    status: str
    error_code: str


def wa_id_to_e164(wa_id: str) -> str | None:
    """A WhatsApp id (digits, no ``+``) in E.164. Brazilian mobiles registered before the
    ninth digit come as 55 + DDD + 8 digits; the contacts hold them with the 9."""
    digits = "".join(c for c in wa_id if c.isdigit())
    if len(digits) == 12 and digits.startswith("55") and digits[4] in "6789":
        digits = digits[:4] + "9" + digits[4:]
    try:
        return to_e164("+" + digits)
    except TextSendError:
        return None


def _values(payload: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value")
            if isinstance(value, dict):
                found.append(value)
    return found


def parse(body: bytes) -> tuple[list[CloudMessage], list[CloudStatus]]:
    """The incoming messages and the statuses a (verified) POST carries."""
    try:
        payload = json.loads(body)
    except ValueError:
        return [], []
    if not isinstance(payload, dict):
        return [], []
    messages: list[CloudMessage] = []
    statuses: list[CloudStatus] = []
    for value in _values(payload):
        for item in value.get("messages") or []:
            sender = wa_id_to_e164(str(item.get("from", "")))
            if sender is None or not item.get("id"):
                continue
            text = item.get("text") or item.get("button") or {}
            words = text.get("body") or text.get("text") or ""
            messages.append(CloudMessage(str(item["id"]), sender, str(words)))
        for item in value.get("statuses") or []:
            errors = item.get("errors") or [{}]
            code = str((errors[0] or {}).get("code", "")) if errors else ""
            if item.get("id") and item.get("status"):
                statuses.append(CloudStatus(str(item["id"]), str(item["status"]), code))
    return messages, statuses
