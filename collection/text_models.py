"""ORM models of two-way texts: the inbox of incoming SMS/WhatsApp messages and the
delivery receipts of the ones Quita sent. Neither belongs to a tenant: one sender number
serves every creditor, and the worker finds the creditors by the person's number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UUIDPrimaryKey


class InboundText(UUIDPrimaryKey, Base):
    """An incoming text, stored once by the provider's message id before it is processed."""

    __tablename__ = "inbound_texts"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    provider: Mapped[str] = mapped_column(String(10))  # twilio | meta
    provider_message_id: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(10))  # sms | whatsapp
    sender: Mapped[str] = mapped_column(String(20))  # E.164, as in ``contacts.value``
    body: Mapped[str] = mapped_column(String(1600), default="")
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    outcome: Mapped[str] = mapped_column(String(40), default="")  # the rule that applied


class TextReceipt(UUIDPrimaryKey, Base):
    """A delivery or read receipt of a text Quita sent (``messages.provider_id``), once
    per status: Twilio's status callback, the Cloud API's ``statuses``."""

    __tablename__ = "text_receipts"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id", "status"),)

    provider: Mapped[str] = mapped_column(String(10))
    provider_message_id: Mapped[str] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(20))  # sent | delivered | read | failed | ...
    error_code: Mapped[str] = mapped_column(String(20), default="")
    at: Mapped[datetime]
