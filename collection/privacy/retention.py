"""How long a creditor keeps a person's data after the account is settled (LGPD arts. 15
and 16), and the periodic job that anonymises what is past it.

A person qualifies at a creditor when every debt there is finished (paid, regularised or
written off), nothing is under way (no open agreement, dispute or escalation step) and the
last movement on the account (a debt, agreement, payment, message, staff entry or site
visit) is older than the creditor's retention period (``Tenant.retention_years``, default
5). Anonymising removes what identifies the person (name, CPF, birth date, address,
contacts, the texts of messages, notes, disputes and requests, the details of site visits)
and keeps the figures and dates the creditor's books and the statistics need. The audit
trail is kept, without personal data: the events about the person's records keep who (staff)
did what and when, and lose their details. Each run is idempotent: an anonymised person is
never selected again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.agreements import AgreementStatus
from collection.domain.escalation import IN_COURSE
from collection.models import (
    Agreement,
    CaseEntry,
    Contact,
    Debt,
    Debtor,
    DebtStatus,
    Dispute,
    Escalation,
    Handover,
    Message,
    Payment,
    PrivacyRequest,
    SiteVisit,
    SpecialOffer,
)
from core.db import Database, Scope
from tenants.models import AuditEvent, Tenant

DEFAULT_YEARS = 5
MIN_YEARS, MAX_YEARS = 1, 30
FINISHED = (DebtStatus.PAID, DebtStatus.REGULARIZED, DebtStatus.WRITTEN_OFF)
ANONYMOUS_NAME = "Pessoa anonimizada"
ANONYMOUS_CPF = "00000000000"
# Agreement and escalation states that mean something is still under way.
LIVE_AGREEMENTS = tuple(s.value for s in AgreementStatus if s.is_open)
LIVE_ESCALATIONS = tuple(s.value for s in IN_COURSE)


@dataclass(frozen=True)
class RetentionRun:
    tenants: int
    anonymised: int


def valid_years(raw: str) -> int:
    """The retention period a creditor typed, in whole years; raises ValueError."""
    years = int(raw.strip())
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise ValueError(raw)
    return years


def _last_movements() -> Any:
    """Per person, the latest moment anything happened on their account: a debt, an
    agreement, a payment, a message planned or sent, a staff entry or a site visit."""
    moments = union_all(
        select(Debt.debtor_id.label("debtor_id"), Debt.created_at.label("at")),
        select(Agreement.debtor_id, Agreement.created_at),
        select(Agreement.debtor_id, Payment.created_at).join(
            Agreement, Agreement.id == Payment.agreement_id
        ),
        select(Message.debtor_id, Message.created_at),
        select(Message.debtor_id, Message.sent_at).where(Message.sent_at.is_not(None)),
        select(CaseEntry.debtor_id, CaseEntry.at),
        select(SiteVisit.debtor_id, SiteVisit.at),
    ).subquery("moments")
    return (
        select(moments.c.debtor_id, func.max(moments.c.at).label("last"))
        .group_by(moments.c.debtor_id)
        .subquery("last_movements")
    )


def _due(cutoff: datetime) -> Any:
    """The people whose account is finished and has not moved since ``cutoff``: every
    debt paid, regularised or written off, no open agreement, dispute or escalation."""
    last = _last_movements()
    under_way = [
        select(Debt.debtor_id).where(Debt.status.not_in(FINISHED)),
        select(Agreement.debtor_id).where(Agreement.status.in_(LIVE_AGREEMENTS)),
        select(Debt.debtor_id)
        .join(Dispute, Dispute.debt_id == Debt.id)
        .where(Dispute.status == "open"),
        select(Debt.debtor_id)
        .join(Escalation, Escalation.debt_id == Debt.id)
        .where(Escalation.status.in_(LIVE_ESCALATIONS)),
    ]
    return (
        select(Debtor)
        .join(last, last.c.debtor_id == Debtor.id)
        .where(
            Debtor.anonymised_at.is_(None),
            last.c.last < cutoff,
            *(~Debtor.id.in_(query) for query in under_way),
        )
    )


async def _related_ids(session: AsyncSession, debtor: Debtor) -> list[str]:
    """Every record id of the person that an audit event may name as its target."""
    debt_ids = select(Debt.id).where(Debt.debtor_id == debtor.id)
    queries = [
        debt_ids,
        select(Contact.id).where(Contact.debtor_id == debtor.id),
        select(Agreement.id).where(Agreement.debtor_id == debtor.id),
        select(Dispute.id).where(Dispute.debt_id.in_(debt_ids)),
        select(Escalation.id).where(Escalation.debt_id.in_(debt_ids)),
        select(Handover.id).where(Handover.debtor_id == debtor.id),
        select(CaseEntry.id).where(CaseEntry.debtor_id == debtor.id),
        select(SpecialOffer.id).where(SpecialOffer.debtor_id == debtor.id),
    ]
    ids = [str(debtor.id)]
    for query in queries:
        ids.extend(str(i) for i in (await session.scalars(query)).all())
    return ids


async def anonymise(session: AsyncSession, debtor: Debtor, now: datetime) -> None:
    """Remove what identifies the person from this creditor's records; keep the figures."""
    targets = await _related_ids(session, debtor)
    debt_ids = select(Debt.id).where(Debt.debtor_id == debtor.id)
    await session.execute(
        update(AuditEvent)
        .where(AuditEvent.tenant_id == debtor.tenant_id, AuditEvent.target.in_(targets))
        .values(details={})
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AuditEvent)
        .where(
            AuditEvent.tenant_id == debtor.tenant_id,
            AuditEvent.target.in_(targets),
            AuditEvent.actor_id.is_(None),  # the person's own actions: their label goes
        )
        .values(actor_label="", ip="")
        .execution_options(synchronize_session=False)
    )
    by_debtor: list[tuple[Any, dict[str, Any]]] = [
        (Message, {"subject": "", "body": ""}),
        (CaseEntry, {"text": ""}),
        (SiteVisit, {"details": {}}),
        (PrivacyRequest, {"details": {}}),
    ]
    for model, values in by_debtor:
        await session.execute(
            update(model)
            .where(model.debtor_id == debtor.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Dispute)
        .where(Dispute.debt_id.in_(debt_ids))
        .values(text="", answer="")
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Contact).where(Contact.debtor_id == debtor.id))
    debtor.name = ANONYMOUS_NAME
    debtor.cpf = ANONYMOUS_CPF
    debtor.cpf_hash = f"anon:{debtor.id.hex}"  # never found by a CPF look-up again
    debtor.birth_date = None
    debtor.address = debtor.city = debtor.state = debtor.zip_code = ""
    debtor.anonymised_at = now
    session.add(
        AuditEvent(
            tenant_id=debtor.tenant_id,
            actor_label="retention",
            action="debtor.anonymised",
            target=str(debtor.id),
            at=now,
        )
    )


async def run_retention(db: Database, now: datetime) -> RetentionRun:
    """Anonymise, at every creditor, the people past its retention period."""
    async with db.session(Scope.system()) as session:
        tenants = list((await session.execute(select(Tenant.id, Tenant.retention_years))).all())
    anonymised = 0
    for tenant_id, years in tenants:
        cutoff = now - timedelta(days=365 * years + years // 4)
        async with db.session(Scope.tenant(tenant_id)) as session:
            for debtor in (await session.scalars(_due(cutoff))).all():
                await anonymise(session, debtor, now)
                anonymised += 1
            await session.commit()
    return RetentionRun(tenants=len(tenants), anonymised=anonymised)
