"""Mail transports: SMTP for real deliveries, a folder of .eml files for development."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from email.message import EmailMessage as MimeMessage
from pathlib import Path

from core.mail import EmailMessage
from core.settings import MailSettings


def _mime(message: EmailMessage, sender: str) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    if message.reference:
        mime["Message-ID"] = f"<{message.reference}@quita>"
    for name, value in message.headers:
        mime[name] = value
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    if message.attachment:
        mime.add_attachment(
            message.attachment,
            maintype="application",
            subtype="pdf",
            filename=message.attachment_name or "documento.pdf",
        )
    return mime


class SmtpTransport:
    """Delivers through an SMTP server (STARTTLS and login when configured)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def _send_blocking(self, mime: MimeMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(mime)

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send_blocking, _mime(message, self.settings.sender))


class FolderTransport:
    """Writes each e-mail as an .eml file (development: open it with any mail reader)."""

    def __init__(self, settings: MailSettings) -> None:
        self.folder = Path(settings.outbox_dir)
        self.sender = settings.sender

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(bytes(_mime(message, self.sender)))


def transport_for(settings: MailSettings) -> SmtpTransport | FolderTransport:
    """SMTP when a host is configured, else the development folder."""
    return SmtpTransport(settings) if settings.smtp_host else FolderTransport(settings)
