"""Disputes: the person contests a debt and its collection freezes until the creditor
answers in the portal; "not mine" reports stop a contact for every creditor at once."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.domain.documents import format_cnpj, mask_cpf
from collection.models import Contact, Debt, Debtor, DebtStatus, Dispute, DisputeAttachment
from collection.paperwork import numbers as document_numbers
from collection.paperwork.person_mail import person_email
from collection.regua.disowned import disown
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from core.i18n import local_date
from core.mail import queue_email
from tenants.models import Tenant
from tenants.services import audit
from tenants.services.audit import Actor

KINDS = ("not_mine", "wrong_amount", "already_paid")
OUTCOMES = ("upheld", "rejected")

# A document the person attaches: what its first bytes must be, and its size cap.
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the person sent with a dispute, as received."""

    filename: str
    data: bytes


def checked_attachment(attachment: Attachment) -> tuple[str, str]:
    """The (content type, safe file name) of an acceptable attachment, or DisputeError:
    the type is told by the file's first bytes, never by its name or the browser."""
    if len(attachment.data) > ATTACHMENT_MAX_BYTES:
        raise DisputeError(_("The document is larger than 5 MB."), "document")
    for magic, content_type, extension in ATTACHMENT_TYPES:
        if attachment.data.startswith(magic):
            stem = "".join(
                c for c in attachment.filename.rsplit(".", 1)[0] if c.isalnum() or c in "-_"
            )[:80]
            return content_type, f"{stem or 'documento'}.{extension}"
    raise DisputeError(_("Attach a PDF, JPEG or PNG file."), "document")


class DisputeError(Refusal):
    """A refused dispute action; ``message`` is for the person, beside ``field``."""

    def __init__(self, message: str, field: str = "kind") -> None:
        super().__init__(message)
        self.field = field


async def debt_of_person(
    db: Database, cpf_hash: str, debt_id: uuid.UUID, *, tenants: Collection[uuid.UUID]
) -> Debt | None:
    """A debt of this person at one of the proven creditors ``tenants``, or None."""
    async with db.session(Scope.system()) as session:
        found: Debt | None = await session.scalar(
            select(Debt)
            .join(Debtor, Debtor.id == Debt.debtor_id)
            .where(
                Debt.id == debt_id,
                Debtor.cpf_hash == cpf_hash,
                Debt.tenant_id.in_(list(tenants)),
            )
            .options(selectinload(Debt.debtor))
        )
        return found


async def open_dispute(
    db: Database,
    cpf_hash: str,
    debt_id: uuid.UUID,
    kind: str,
    text: str,
    *,
    ip: str,
    tenants: Collection[uuid.UUID],
    now: datetime,
    attachment: Attachment | None = None,
) -> Dispute:
    """Record the person's dispute (once while one is open) with its protocol number and
    the document attached, if any, and freeze the debt."""
    if kind not in KINDS:
        raise DisputeError(_("Choose what is wrong with this debt."))
    checked = checked_attachment(attachment) if attachment is not None else None
    debt = await debt_of_person(db, cpf_hash, debt_id, tenants=tenants)
    if debt is None:
        raise LookupError(debt_id)
    async with db.session(Scope.tenant(debt.tenant_id)) as session:
        existing = await session.scalar(
            select(Dispute).where(Dispute.debt_id == debt_id, Dispute.status == "open")
        )
        if existing is not None:
            return existing
        protocol = await document_numbers.next_number(
            session, debt.tenant_id, document_numbers.DISPUTE, now
        )
        dispute = Dispute(
            id=uuid.uuid4(),
            debt_id=debt_id,
            kind=kind,
            text=text.strip()[:1000],
            protocol=protocol,
        )
        session.add(dispute)
        if checked is not None and attachment is not None:
            session.add(
                DisputeAttachment(
                    dispute_id=dispute.id,
                    content_type=checked[0],
                    filename=checked[1],
                    size=len(attachment.data),
                    data=attachment.data,
                )
            )
        audit.record(
            session,
            Actor(None, f"devedor {mask_cpf(debt.debtor.cpf)}", ip, debt.tenant_id),
            "dispute.opened",
            target=str(debt_id),
            details={"kind": kind, "protocol": protocol, "attachment": checked is not None},
        )
        await session.commit()
        return dispute


async def tenant_disputes(session: AsyncSession) -> Sequence[Dispute]:
    """The current tenant's disputes, open ones first."""
    rows = await session.scalars(
        select(Dispute)
        .options(selectinload(Dispute.debt).selectinload(Debt.debtor))
        .order_by(Dispute.status.desc(), Dispute.created_at)
    )
    return rows.all()


async def attachments_of(
    session: AsyncSession, dispute_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str, int]]]:
    """(id, file name, size) of the documents attached to ``dispute_ids``, by dispute
    (in the current tenant's scope: another creditor's are never found)."""
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str, int]]] = {}
    if not dispute_ids:
        return found
    rows = await session.execute(
        select(
            DisputeAttachment.dispute_id,
            DisputeAttachment.id,
            DisputeAttachment.filename,
            DisputeAttachment.size,
        )
        .where(DisputeAttachment.dispute_id.in_(list(dispute_ids)))
        .order_by(DisputeAttachment.created_at)
    )
    for dispute_id, attachment_id, filename, size in rows:
        found.setdefault(dispute_id, []).append((attachment_id, filename, size))
    return found


async def attachment(session: AsyncSession, attachment_id: uuid.UUID) -> DisputeAttachment:
    """One attached document of the current tenant, or LookupError."""
    found = await session.scalar(
        select(DisputeAttachment).where(DisputeAttachment.id == attachment_id)
    )
    if found is None:
        raise LookupError(attachment_id)
    return found


async def disputes_of_person(
    db: Database, cpf_hash: str, *, tenants: Collection[uuid.UUID]
) -> list[tuple[Dispute, Tenant]]:
    """The person's disputes at the proven creditors ``tenants``, newest first."""
    async with db.session(Scope.system()) as session:
        rows = await session.execute(
            select(Dispute, Tenant)
            .join(Debt, Debt.id == Dispute.debt_id)
            .join(Debtor, Debtor.id == Debt.debtor_id)
            .join(Tenant, Tenant.id == Dispute.tenant_id)
            .where(Debtor.cpf_hash == cpf_hash, Dispute.tenant_id.in_(list(tenants)))
            .options(selectinload(Dispute.debt))
            .order_by(Dispute.created_at.desc(), Dispute.id)
        )
        return [(dispute, tenant) for dispute, tenant in rows.all()]


async def answer(
    session: AsyncSession,
    dispute_id: uuid.UUID,
    outcome: str,
    text: str,
    *,
    actor: Actor,
    now: datetime,
) -> Dispute:
    """The creditor answers; an upheld dispute takes the debt out of collection."""
    dispute = await session.scalar(select(Dispute).where(Dispute.id == dispute_id))
    if dispute is None:
        raise LookupError(dispute_id)
    if dispute.status != "open":
        raise DisputeError(_("This dispute was already answered."))
    if outcome not in OUTCOMES:
        raise DisputeError(_("Choose the outcome."))
    if not text.strip():
        raise DisputeError(_("Write the answer the person will see."))
    dispute.status, dispute.outcome, dispute.answer = "answered", outcome, text.strip()[:1000]
    dispute.answered_by, dispute.answered_at = actor.user_id, now
    if outcome == "upheld":
        await session.execute(
            update(Debt)
            .where(Debt.id == dispute.debt_id, Debt.status == DebtStatus.OPEN)
            .values(status=DebtStatus.REGULARIZED)
            .execution_options(synchronize_session=False)
        )
    audit.record(
        session, actor, "dispute.answered", target=str(dispute.id), details={"outcome": outcome}
    )
    await _send_answer(session, dispute)
    return dispute


async def _send_answer(session: AsyncSession, dispute: Dispute) -> None:
    """E-mail the creditor's answer to the person (their own request: not a collection
    message, but never to an address they said is not theirs)."""
    debt = await session.scalar(
        select(Debt).where(Debt.id == dispute.debt_id).options(selectinload(Debt.debtor))
    )
    assert debt is not None  # the foreign key guarantees it
    to = await person_email(session, debt.debtor_id)
    tenant = await session.get(Tenant, dispute.tenant_id)
    if to is None or tenant is None:
        return
    queue_email(
        session,
        to=to,
        template="dispute_answer",
        context={
            "name": debt.debtor.name,
            "creditor": tenant.legal_name,
            "cnpj": format_cnpj(tenant.cnpj),
            "date": local_date(dispute.answered_at),
            "contract": debt.contract,
            "protocol": dispute.protocol or "",
            "status": _(dispute.outcome),
            "answer": dispute.answer,
        },
    )


async def contacts_of_person(
    db: Database, cpf_hash: str, *, tenants: Collection[uuid.UUID]
) -> list[Contact]:
    """The person's contacts on file at the proven creditors ``tenants`` (to correct or
    report)."""
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(
            select(Contact)
            .join(Debtor, Debtor.id == Contact.debtor_id)
            .where(Debtor.cpf_hash == cpf_hash, Debtor.tenant_id.in_(list(tenants)))
            .order_by(Contact.kind, Contact.value)
        )
        return list(rows.all())


async def report_not_mine(
    db: Database,
    cpf_hash: str,
    contact_id: uuid.UUID,
    *,
    now: datetime,
    ip: str,
    tenants: Collection[uuid.UUID],
) -> int:
    """Stop every message to a contact the person says is not theirs, for every creditor
    (the contact must be one a proven creditor, in ``tenants``, holds)."""
    contacts = {c.id: c for c in await contacts_of_person(db, cpf_hash, tenants=tenants)}
    contact = contacts.get(contact_id)
    if contact is None:
        raise LookupError(contact_id)
    async with db.session(Scope.system()) as session:
        result = await session.execute(
            update(Contact)
            .where(
                Contact.kind == contact.kind,
                Contact.value == contact.value,
                Contact.not_mine_at.is_(None),
            )
            .values(not_mine_at=now)
            .execution_options(synchronize_session=False)
        )
        await disown(session, contact.kind, contact.value, now)  # and every later copy
        audit.record(
            session,
            Actor(None, "devedor", ip, contact.tenant_id),
            "contact.not_mine",
            target=str(contact.id),
            details={"kind": contact.kind},
        )
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
