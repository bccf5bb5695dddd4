"""Disputes: the person contests a debt and its collection freezes until the creditor
answers in the portal; "not mine" reports stop a contact for every creditor at once."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.domain.documents import mask_cpf
from collection.models import Contact, Debt, Debtor, DebtStatus, Dispute
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.services import audit
from tenants.services.audit import Actor

KINDS = ("not_mine", "wrong_amount", "already_paid")
OUTCOMES = ("upheld", "rejected")


class DisputeError(Refusal):
    """A refused dispute action; ``message`` is for the person."""


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
) -> Dispute:
    """Record the person's dispute (once while one is open) and freeze the debt."""
    if kind not in KINDS:
        raise DisputeError(_("Choose what is wrong with this debt."))
    debt = await debt_of_person(db, cpf_hash, debt_id, tenants=tenants)
    if debt is None:
        raise LookupError(debt_id)
    async with db.session(Scope.tenant(debt.tenant_id)) as session:
        existing = await session.scalar(
            select(Dispute).where(Dispute.debt_id == debt_id, Dispute.status == "open")
        )
        if existing is not None:
            return existing
        dispute = Dispute(id=uuid.uuid4(), debt_id=debt_id, kind=kind, text=text.strip()[:1000])
        session.add(dispute)
        audit.record(
            session,
            Actor(None, f"devedor {mask_cpf(debt.debtor.cpf)}", ip, debt.tenant_id),
            "dispute.opened",
            target=str(debt_id),
            details={"kind": kind},
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
    return dispute


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
        audit.record(
            session,
            Actor(None, "devedor", ip, contact.tenant_id),
            "contact.not_mine",
            target=str(contact.id),
            details={"kind": contact.kind},
        )
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
