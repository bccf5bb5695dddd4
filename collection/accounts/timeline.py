"""One account's history at one creditor: messages (planned, sent, blocked and why,
failed), payments, the agreements' changes of state, staff work on the account (notes,
calls, promises to pay), the person's visits to the debtor site and the special offers
made to them, newest first."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import (
    Agreement,
    CaseEntry,
    CaseEntryKind,
    Contact,
    ContactKind,
    Message,
    Payment,
    ReminderStep,
    SiteVisit,
    SpecialOffer,
)
from collection.regua import inbound_texts
from collection.regua.service import ADHOC
from core.i18n import brl
from core.i18n import gettext as _
from tenants.models import AuditEvent

_AGREEMENT_ACTIONS = ("agreement.created", "agreement.status", "payment.reversed")

# What an agent may record as the outcome of a call (code → English label, translated).
CALL_OUTCOMES: dict[str, str] = {
    "talked": "Talked to the person",
    "no_answer": "No answer",
    "busy": "Busy",
    "voicemail": "Left a voice message",
    "wrong_number": "Wrong number (not the person's)",
    "refused": "The person refused to talk",
}
VISITS: dict[str, str] = {
    "verified": "Proved their identity on the debtor site",
    "offer_seen": "Saw an offer on the debtor site",
}


PAYMENT_METHODS: dict[str, str] = {"pix": "Pix", "boleto": "Boleto", "card": "Card"}
CHANNELS: dict[str, str] = {"email": "E-mail", "sms": "SMS", "whatsapp": "WhatsApp"}
_OFFER_CODE = re.compile(r"(?:^|-)(down-payment\+|installments-)(\d+)$")


def offer_label(code: str) -> str:
    """An offer's code as a person reads it: ``down-payment+5`` → "Entrada + 5 parcelas",
    ``installments-3`` → "3 parcelas", ``cash`` → "Pagamento à vista"; "" for none."""
    if not code:
        return ""
    if code == "cash" or code.endswith("-cash"):
        return _("Cash payment")
    found = _OFFER_CODE.search(code)
    if found is None:
        return ""
    kind, n = found.groups()
    text = "Down payment + %(n)s installments" if kind.startswith("down") else "%(n)s installments"
    return _(text) % {"n": n}


def reason_label(reason: str) -> str:
    """The reason recorded with an agreement (``income_drop`` → "queda de renda"): codes
    are translated by the catalog; free text written by a person is kept as it is."""
    return _(reason) if reason else ""


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str  # message | payment | agreement | note | call | promise | visit | special_offer
    title: str
    status: str
    detail: str = ""
    author: str = ""  # who on the staff did it (case work, special offers)
    amount: int | None = None  # centavos (a promise to pay, a special offer's balance)
    on: date | None = None  # the promised date of a promise to pay
    receipt: str = ""  # a sent text's last delivery status (delivered, read, failed...)


async def account_timeline(
    session: AsyncSession, debtor_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
) -> list[Entry]:
    """Everything that happened to the debtor's account, newest first.

    A debtor row belongs to one tenant, so ``debtor_id`` alone bounds it; pass
    ``tenant_id`` too from a system-scope session (agency pages) as defence in depth.
    """
    entries: list[Entry] = []

    def own(model: Any) -> list[Any]:
        return [model.tenant_id == tenant_id] if tenant_id is not None else []

    messages = await session.execute(
        select(Message, ReminderStep.name)
        .outerjoin(ReminderStep, ReminderStep.id == Message.step_id)
        .where(Message.debtor_id == debtor_id, *own(Message))
    )
    rows = messages.all()
    receipts = await inbound_texts.receipts_of(
        session, [m.provider_id for m, _step in rows if m.provider_id]
    )
    for message, step in rows:
        entries.append(
            Entry(
                at=message.sent_at or message.send_after,
                kind="message",
                title=f"{_staff_or(step, message)} · {_(CHANNELS[message.channel.value])}",
                status=message.status.value,
                detail=message.rule or message.error,
                receipt=(receipts.get(message.provider_id) or [""])[-1],
            )
        )
    entries += await _texts_in(session, debtor_id, own(Contact))
    agreement_ids = list(
        await session.scalars(
            select(Agreement.id).where(Agreement.debtor_id == debtor_id, *own(Agreement))
        )
    )
    payments = await session.scalars(select(Payment).where(Payment.agreement_id.in_(agreement_ids)))
    for payment in payments:
        entries.append(
            Entry(
                at=payment.created_at,
                kind="payment",
                title=f"{_(PAYMENT_METHODS[payment.method.value])} · {payment.amount}",
                status=payment.status.value,
                detail=payment.failure,
            )
        )
    events = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action.in_(_AGREEMENT_ACTIONS),
            AuditEvent.target.in_([str(a) for a in agreement_ids]),
        )
    )
    for event in events:
        details = event.details or {}
        entries.append(
            Entry(
                at=event.at,
                kind="agreement",
                title=event.action,
                status=str(details.get("to", "")),
                detail=reason_label(str(details.get("reason", ""))),
            )
        )
    entries.extend(await _case_work(session, debtor_id, own(CaseEntry)))
    visits = await session.scalars(
        select(SiteVisit).where(SiteVisit.debtor_id == debtor_id, *own(SiteVisit))
    )
    for visit in visits:
        code = str((visit.details or {}).get("code", ""))
        entries.append(
            Entry(
                at=visit.at,
                kind="visit",
                title=_(VISITS.get(visit.what, visit.what)),
                status=visit.what,
                detail=offer_label(code),
            )
        )
    offers = await session.scalars(
        select(SpecialOffer).where(SpecialOffer.debtor_id == debtor_id, *own(SpecialOffer))
    )
    for offer in offers:
        entries.append(
            Entry(
                at=offer.created_at,
                kind="special_offer",
                title=_("Special offer: %(n)s payment(s), valid until %(d)s")
                % {"n": offer.installments, "d": offer.valid_until.strftime("%d/%m/%Y")},
                status=offer.status.value,
                detail=offer.justification,
                author=offer.proposed_by_label,
                amount=offer.balance,
            )
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)


async def _texts_in(session: AsyncSession, debtor_id: uuid.UUID, own: list[Any]) -> list[Entry]:
    """What the person wrote back from their numbers, with the rule that applied."""
    numbers = list(
        await session.scalars(
            select(Contact.value).where(
                Contact.debtor_id == debtor_id, Contact.kind == ContactKind.PHONE, *own
            )
        )
    )
    return [
        Entry(
            at=text.received_at,
            kind="inbound",
            title=_(CHANNELS[text.channel]),
            status=text.outcome,
            detail=text.body,
        )
        for text in await inbound_texts.texts_from(session, numbers)
    ]


def _staff_or(step: str | None, message: Message) -> str:
    if message.subject_key.startswith(ADHOC):
        return _("Message from staff")
    return step or "—"


async def _case_work(session: AsyncSession, debtor_id: uuid.UUID, own: list[Any]) -> list[Entry]:
    rows = await session.scalars(select(CaseEntry).where(CaseEntry.debtor_id == debtor_id, *own))
    entries: list[Entry] = []
    for row in rows:
        if row.kind == CaseEntryKind.CALL:
            title = _(CALL_OUTCOMES.get(row.call_outcome, row.call_outcome))
            entries.append(
                Entry(row.at, "call", title, row.call_outcome, row.text, row.author_label)
            )
        elif row.kind == CaseEntryKind.PROMISE:
            title = _("Promised to pay %(amount)s on %(d)s") % {
                "amount": brl(row.promised_amount or 0),
                "d": row.promised_on.strftime("%d/%m/%Y") if row.promised_on else "—",
            }
            entries.append(
                Entry(
                    row.at,
                    "promise",
                    title,
                    row.promise_status,
                    row.text,
                    row.author_label,
                    row.promised_amount,
                    row.promised_on,
                )
            )
        else:
            entries.append(Entry(row.at, "note", row.text, "", "", row.author_label))
    return entries
