"""Outgoing e-mail as an outbox: a row per message, delivered by a worker after commit.

Templates are found by name: ``templates/email/<name>/subject.txt``, ``body.txt`` and
``body.html``, rendered with the same context.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Enum, Integer, LargeBinary, String, Text, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database, Scope, Timestamped, UUIDPrimaryKey
from core.i18n import install_translations
from core.tasks import enqueue_after_commit

EMAIL_TEMPLATES = Path(__file__).parent / "templates"


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboundEmail(UUIDPrimaryKey, Timestamped, Base):
    """One e-mail to send. Delivery is idempotent: only a pending row is claimed."""

    __tablename__ = "outbound_emails"

    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(String(60))
    status: Mapped[EmailStatus] = mapped_column(
        Enum(
            EmailStatus,
            name="email_status",
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=EmailStatus.PENDING,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    attachment_name: Mapped[str] = mapped_column(String(120), default="")
    # "email", or "sms" for a text (one-time codes): to_address is then a phone number.
    channel: Mapped[str] = mapped_column(String(10), default="email")
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """A rendered e-mail, ready for a mail transport."""

    to_address: str
    subject: str
    body_text: str
    body_html: str
    attachment_name: str = ""
    attachment: bytes | None = None  # a PDF (the only kind we send)
    reference: str = ""  # stable id: the Message-ID, so a resend can be recognised
    # Extra header lines (the régua's List-Unsubscribe and List-Unsubscribe-Post).
    headers: tuple[tuple[str, str], ...] = ()


class MailTransport(Protocol):
    """Sends a rendered e-mail (SMTP in production, files in development)."""

    async def send(self, message: EmailMessage) -> None: ...


class TextTransport(Protocol):
    """Sends an SMS or WhatsApp text (Twilio in production, a local file in development)."""

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
        """``content_sid``: a WhatsApp approved template (with its variables' JSON)
        instead of ``body``'s free text."""
        ...


_env = Environment(
    loader=FileSystemLoader(str(EMAIL_TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
)
install_translations(_env)


def render_email(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render ``email/<name>/`` into (subject, text body, html body)."""
    subject = _env.get_template(f"email/{name}/subject.txt").render(context).strip()
    text = _env.get_template(f"email/{name}/body.txt").render(context)
    html_path = EMAIL_TEMPLATES / "email" / name / "body.html"
    html = (
        _env.get_template(f"email/{name}/body.html").render(context) if html_path.exists() else ""
    )
    return subject, text, html


def queue_email(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    attachment: tuple[str, bytes] | None = None,
) -> OutboundEmail:
    """Write an e-mail (and an optional PDF attachment) to the outbox; a worker delivers
    it after commit."""
    subject, text, html = render_email(template, context)
    email = OutboundEmail(
        id=uuid.uuid4(),
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        template=template,
        attachment_name=attachment[0] if attachment else "",
        attachment=attachment[1] if attachment else None,
    )
    session.add(email)
    email_id = email.id
    enqueue_after_commit(session, "mail.deliver", str(email_id))
    return email


def queue_text(session: AsyncSession, *, to: str, body: str) -> OutboundEmail:
    """Write an SMS (a one-time code) to the outbox; a worker delivers it after commit."""
    text = OutboundEmail(
        id=uuid.uuid4(),
        channel="sms",
        to_address=to,
        subject="",
        body_text=body,
        template="text",
    )
    session.add(text)
    enqueue_after_commit(session, "mail.deliver", str(text.id))
    return text


class DeliveryFailed(RuntimeError):
    """The transport refused or could not be reached; the job retries later."""


MAX_ATTEMPTS = 8
_STALE_CLAIM = 600  # seconds after which a "sending" row is considered abandoned


async def deliver(
    db: Database,
    transport: MailTransport,
    email_id: uuid.UUID,
    now: datetime,
    texts: TextTransport | None = None,
) -> str:
    """Send one outbox e-mail exactly when it is still pending; returns its final status.

    A row is claimed with a conditional update, so two workers given the same job
    never both send it. A failure puts it back to pending (or failed after
    ``MAX_ATTEMPTS``) and raises DeliveryFailed so the broker retries with backoff.
    """
    async with db.session(Scope.system()) as session:
        stale_before = now - timedelta(seconds=_STALE_CLAIM)
        claimed = await session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id)
            .where(
                or_(
                    OutboundEmail.status == EmailStatus.PENDING,
                    (OutboundEmail.status == EmailStatus.SENDING)
                    & (OutboundEmail.claimed_at < stale_before),
                )
            )
            .values(status=EmailStatus.SENDING, claimed_at=now, attempts=OutboundEmail.attempts + 1)
        )
        await session.commit()
        if getattr(claimed, "rowcount", 0) != 1:
            row = await session.get(OutboundEmail, email_id)
            return row.status.value if row else "missing"
        row = await session.get_one(OutboundEmail, email_id)
        message = EmailMessage(
            row.to_address,
            row.subject,
            row.body_text,
            row.body_html,
            row.attachment_name,
            row.attachment,
        )
        try:
            if row.channel == "email":
                await transport.send(message)
            else:
                if texts is None:
                    raise DeliveryFailed("no text transport configured")
                await texts.send_text(row.channel, row.to_address, row.body_text, str(row.id))
        except Exception as exc:
            row.status = EmailStatus.FAILED if row.attempts >= MAX_ATTEMPTS else EmailStatus.PENDING
            row.last_error = type(exc).__name__[:500]
            await session.commit()
            if row.status == EmailStatus.FAILED:
                return row.status.value
            raise DeliveryFailed(str(email_id)) from exc
        row.status = EmailStatus.SENT
        row.sent_at = now
        await session.commit()
        return row.status.value
