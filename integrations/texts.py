"""Text channels: SMS and WhatsApp through Twilio, and a local channel for development.

The caller stores each message in the database before sending, so the local channel
only has to accept it (the portal shows what was "sent"); it also keeps a day's log of
masked numbers under ``var/texts``. Neither channel logs a whole phone number or a body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
import phonenumbers
import structlog

from core.security import mask_phone, mask_pii
from core.settings import TextSettings

log = structlog.get_logger("quita.texts")

CHANNELS = ("sms", "whatsapp")
_WHATSAPP = "whatsapp:"


class TextSendError(Exception):
    """A text was not accepted. ``retryable``: the same message may succeed later (network
    trouble, rate limit, provider outage); otherwise sending it again cannot help."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code  # the provider's error code (Twilio: 21211 invalid "To" number)


def to_e164(number: str) -> str:
    """A phone number as written by a person (Brazil by default) in E.164; raises a
    non-retryable TextSendError when it is not a valid number."""
    text = number.strip().removeprefix(_WHATSAPP)
    try:
        parsed = phonenumbers.parse(text, "BR")
    except phonenumbers.NumberParseException as exc:
        raise TextSendError("not a phone number", retryable=False) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise TextSendError("not a valid phone number", retryable=False)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise TextSendError(f"unknown text channel {channel!r}", retryable=False)


class TwilioTransport:
    """Sends through Twilio's Messages API (or a fake speaking it, for tests)."""

    def __init__(self, settings: TextSettings) -> None:
        self.settings = settings

    def _sender(self, channel: str) -> str:
        s = self.settings
        sender = (s.whatsapp_from if channel == "whatsapp" else s.sms_from).strip()
        if not sender:
            raise TextSendError(f"no sender number configured for {channel}", retryable=False)
        return sender.removeprefix(_WHATSAPP)

    async def send_text(
        self,
        channel: str,
        to: str,
        body: str,
        reference: str,
        *,
        content_sid: str = "",
        content_variables: str = "",
    ) -> str:
        """Send one text and return Twilio's message sid; raises TextSendError. With
        ``content_sid``, an approved WhatsApp template through Twilio's Content API
        (``ContentSid`` + ``ContentVariables``) instead of the free text of ``Body``."""
        _check_channel(channel)
        number = to_e164(to)
        sender = self._sender(channel)
        prefix = _WHATSAPP if channel == "whatsapp" else ""
        s = self.settings
        url = f"{s.api_base.rstrip('/')}/2010-04-01/Accounts/{s.twilio_account_sid}/Messages.json"
        form = {"To": prefix + number, "From": prefix + sender}
        if content_sid:
            form |= {"ContentSid": content_sid, "ContentVariables": content_variables or "{}"}
        else:
            form["Body"] = body
        if s.status_callback:
            form["StatusCallback"] = s.status_callback
        try:
            async with httpx.AsyncClient(
                timeout=s.timeout_seconds, auth=(s.twilio_account_sid, s.twilio_auth_token)
            ) as client:
                response = await client.post(url, data=form)
        except httpx.TransportError as exc:
            # A timeout after Twilio accepted the message may send it twice on retry;
            # a rare duplicate text is better than a reminder that never arrives.
            log.warning(
                "text.unreachable", channel=channel, reference=reference, error=type(exc).__name__
            )
            raise TextSendError(
                f"provider unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        if response.is_success:
            sid = _json(response).get("sid")
            if not isinstance(sid, str) or not sid:
                raise TextSendError("provider answer without a message sid", retryable=False)
            log.info(
                "text.sent", channel=channel, to=mask_phone(number), reference=reference, sid=sid
            )
            return sid
        raise _refusal(response, channel=channel, reference=reference)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refusal(response: httpx.Response, *, channel: str, reference: str) -> TextSendError:
    status = response.status_code
    data = _json(response)
    code = data.get("code")
    code = code if isinstance(code, int) else None
    # Twilio's messages quote the number ("The 'To' number +55... is not valid").
    detail = mask_pii(str(data.get("message") or response.reason_phrase))
    retryable = status == 429 or status >= 500
    log.warning(
        "text.refused",
        channel=channel,
        reference=reference,
        status=status,
        code=code,
        retryable=retryable,
    )
    return TextSendError(f"provider answered {status}: {detail}", retryable=retryable, code=code)


class LocalTextTransport:
    """The development and demo channel: accepts every text; with a folder, appends it
    (masked number, then the text, so the demo's one-time codes can be read) to
    ``<folder>/YYYY-MM-DD.log``, as the development mail folder keeps whole e-mails."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    async def send_text(
        self,
        channel: str,
        to: str,
        body: str,
        reference: str,
        *,
        content_sid: str = "",
        content_variables: str = "",
    ) -> str:
        """Accept the text and return ``local-<reference>`` as its id."""
        if content_sid:  # the template's name and what fills it, as the demo shows it
            body = f"[template {content_sid}] {content_variables}"
        message_id = f"local-{reference}"
        if self.folder is not None:
            now = datetime.now(UTC)
            self.folder.mkdir(parents=True, exist_ok=True)
            line = "\t".join(
                (now.isoformat(timespec="seconds"), channel, mask_phone(to), message_id)
            )
            with (self.folder / f"{now:%Y-%m-%d}.log").open("a", encoding="utf-8") as file:
                file.write(f"{line}\n{body}\n\n")
        return message_id


def text_transport_for(
    settings: TextSettings, folder: Path
) -> TwilioTransport | LocalTextTransport:
    """Twilio when an account SID and token are configured, else the local channel."""
    return TwilioTransport(settings) if settings.enabled else LocalTextTransport(folder)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature`` of a webhook: HMAC-SHA1 with the auth token over
    the full URL followed by each form field's name and value, sorted by name."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def inbound_number(params: Mapping[str, str]) -> str | None:
    """The E.164 number of a person who wrote in (SMS or WhatsApp), or None."""
    try:
        return to_e164(params.get("From", ""))
    except TextSendError:
        return None


def inbound_whatsapp_number(params: Mapping[str, str]) -> str | None:
    """The E.164 number of a person who wrote to the WhatsApp sender, or None when the
    webhook is not an incoming WhatsApp message."""
    sender = params.get("From", "")
    if not sender.startswith(_WHATSAPP):
        return None
    try:
        return to_e164(sender)
    except TextSendError:
        return None
