"""The régua's channels: e-mail through the mail transport, SMS and WhatsApp through the
text transport (Twilio, or the local channel of the demo)."""

from __future__ import annotations

import smtplib
from typing import Protocol

from collection.models import Channel
from collection.regua.service import ChannelError
from core.mail import EmailMessage, MailTransport
from integrations.texts import TextSendError


class TextTransport(Protocol):
    async def send_text(
        self,
        channel: str,
        to: str,
        body: str,
        reference: str,
        *,
        content_sid: str = "",
        content_variables: str = "",
    ) -> str: ...


def unsubscribe_headers(url: str) -> tuple[tuple[str, str], ...]:
    """RFC 2369 ``List-Unsubscribe`` with the signed https link and RFC 8058's one-click
    POST. No ``mailto:``: Quita reads no mailbox, so an e-mailed request would be lost."""
    if not url:
        return ()
    return (
        ("List-Unsubscribe", f"<{url}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )


class ChannelRouter:
    """Channels (the port of ``collection.regua.service``) over the transports."""

    def __init__(self, mail: MailTransport, texts: TextTransport) -> None:
        self.mail = mail
        self.texts = texts

    async def send(
        self,
        channel: Channel,
        to: str,
        subject: str,
        body: str,
        reference: str,
        *,
        unsubscribe_url: str = "",
        content_sid: str = "",
        content_variables: str = "",
    ) -> str:
        if channel == Channel.EMAIL:
            message = EmailMessage(
                to_address=to,
                subject=subject,
                body_text=body,
                body_html="",
                reference=reference,
                headers=unsubscribe_headers(unsubscribe_url),
            )
            try:
                await self.mail.send(message)
            except (OSError, smtplib.SMTPException) as exc:
                permanent = isinstance(exc, smtplib.SMTPRecipientsRefused)
                raise ChannelError(
                    f"e-mail: {type(exc).__name__}", retryable=not permanent
                ) from exc
            return f"<{reference}@quita>"
        try:
            return await self.texts.send_text(
                channel.value,
                to,
                body,
                reference,
                content_sid=content_sid,
                content_variables=content_variables,
            )
        except TextSendError as exc:
            raise ChannelError(exc.message, retryable=exc.retryable) from exc
