"""The person's rights on the debtor site (LGPD art. 18): stop a channel, correct contacts,
get a copy of the data. Each request touches only the creditors the person proved their
identity for (``tenants``) and is recorded for each of them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.domain.documents import format_cnpj, format_cpf
from collection.models import (
    Agreement,
    Contact,
    ContactKind,
    Debt,
    Debtor,
    Dispute,
    PrivacyRequest,
)
from collection.privacy import data_copy
from collection.webhooks import outbound as outbound_webhooks
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.models import Tenant

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")


class ContactRefused(Refusal):
    """A contact that cannot be used; ``message`` is for the person."""


def normalize_contact(kind: ContactKind, raw: str) -> str:
    """An e-mail in lower case, or a Brazilian phone in E.164; raises ContactRefused."""
    text = raw.strip()
    if kind is ContactKind.EMAIL:
        if not _EMAIL.match(text) or len(text) > 254:
            raise ContactRefused(_("Type a valid e-mail address."))
        return text.lower()
    try:
        number = phonenumbers.parse(text, "BR")
    except phonenumbers.NumberParseException as exc:
        raise ContactRefused(_("Type a phone number with area code.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactRefused(_("Type a phone number with area code."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def _debtors(db: Database, cpf_hash: str, tenants: Collection[uuid.UUID]) -> list[Debtor]:
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(
            select(Debtor).where(Debtor.cpf_hash == cpf_hash, Debtor.tenant_id.in_(list(tenants)))
        )
        return list(rows.all())


async def stop_channel(
    db: Database,
    cpf_hash: str,
    kind: ContactKind,
    now: datetime,
    *,
    tenants: Collection[uuid.UUID],
) -> int:
    """Stop every message on a channel (e-mail or phone) from every proven creditor, at
    once."""
    debtors = await _debtors(db, cpf_hash, tenants)
    async with db.session(Scope.system()) as session:
        result = await session.execute(
            update(Contact)
            .where(
                Contact.debtor_id.in_([d.id for d in debtors]),
                Contact.kind == kind,
                Contact.opted_out_at.is_(None),
            )
            .values(opted_out_at=now)
            .execution_options(synchronize_session=False)
        )
        session.add_all(
            PrivacyRequest(
                id=uuid.uuid4(),
                tenant_id=d.tenant_id,
                debtor_id=d.id,
                kind="opt_out",
                details={"channel": kind.value},
                answered_at=now,
            )
            for d in debtors
        )
        for d in debtors:
            await outbound_webhooks.emit(
                session,
                d.tenant_id,
                outbound_webhooks.DEBTOR_OPTED_OUT,
                {"debtor_id": str(d.id), "channel": kind.value, "at": now.isoformat()},
                now=now,
            )
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)


async def add_contact(
    db: Database,
    cpf_hash: str,
    kind: ContactKind,
    raw: str,
    now: datetime,
    *,
    tenants: Collection[uuid.UUID],
) -> str:
    """Give every proven creditor a corrected contact; returns the normalised value.
    (Never another creditor: a contact added here would then prove that creditor.)"""
    value = normalize_contact(kind, raw)
    debtors = await _debtors(db, cpf_hash, tenants)
    async with db.session(Scope.system()) as session:
        for debtor in debtors:
            exists = await session.scalar(
                select(Contact.id).where(
                    Contact.debtor_id == debtor.id, Contact.kind == kind, Contact.value == value
                )
            )
            if exists is None:
                session.add(
                    Contact(
                        id=uuid.uuid4(),
                        tenant_id=debtor.tenant_id,
                        debtor_id=debtor.id,
                        kind=kind,
                        value=value,
                    )
                )
            session.add(
                PrivacyRequest(
                    id=uuid.uuid4(),
                    tenant_id=debtor.tenant_id,
                    debtor_id=debtor.id,
                    kind="correction",
                    details={"channel": kind.value},
                    answered_at=now,
                )
            )
        await session.commit()
    return value


async def copy_of_data(
    db: Database, cpf_hash: str, now: datetime, *, tenants: Collection[uuid.UUID]
) -> dict[str, Any]:
    """Everything Quita keeps about the person at the proven creditors ``tenants``, by
    creditor; the request is recorded."""
    creditors: list[dict[str, Any]] = []
    async with db.session(Scope.system()) as session:
        debtors = (
            await session.scalars(
                select(Debtor)
                .where(Debtor.cpf_hash == cpf_hash, Debtor.tenant_id.in_(list(tenants)))
                .options(
                    selectinload(Debtor.contacts),
                    selectinload(Debtor.debts).selectinload(Debt.items),
                )
            )
        ).all()
        for debtor in debtors:
            tenant = await session.get_one(Tenant, debtor.tenant_id)
            agreements = (
                await session.scalars(select(Agreement).where(Agreement.debtor_id == debtor.id))
            ).all()
            disputes = (
                await session.scalars(
                    select(Dispute).where(Dispute.debt_id.in_([d.id for d in debtor.debts]))
                )
            ).all()
            creditors.append(
                {
                    "creditor": {
                        "name": tenant.legal_name,
                        "cnpj": format_cnpj(tenant.cnpj),
                        "address": tenant.address,
                    },
                    "person": {
                        "name": debtor.name,
                        "cpf": format_cpf(debtor.cpf),
                        "birth_date": debtor.birth_date.isoformat() if debtor.birth_date else None,
                        "address": debtor.address,
                        "city": debtor.city,
                        "state": debtor.state,
                        "zip_code": debtor.zip_code,
                    },
                    "contacts": [
                        {
                            "kind": c.kind.value,
                            "value": c.value,
                            "opted_out": c.opted_out_at is not None,
                            "not_mine": c.not_mine_at is not None,
                        }
                        for c in debtor.contacts
                    ],
                    "debts": [
                        {
                            "contract": d.contract,
                            "product": d.product,
                            "original_amount_centavos": d.original_amount,
                            "due_date": d.due_date.isoformat(),
                            "status": d.status.value,
                            "installments": [
                                {
                                    "number": i.number,
                                    "due_date": i.due_date.isoformat(),
                                    "amount_centavos": i.amount,
                                }
                                for i in d.items
                            ],
                        }
                        for d in debtor.debts
                    ],
                    "agreements": [
                        {
                            "id": str(a.id),
                            "accepted_on": a.accepted_on.isoformat(),
                            "status": a.status,
                            "total_centavos": a.total,
                        }
                        for a in agreements
                    ],
                    "disputes": [
                        {"kind": x.kind, "status": x.status, "text": x.text, "answer": x.answer}
                        for x in disputes
                    ],
                    **await data_copy.activity_sections(
                        session, debtor.id, debtor.debts, agreements
                    ),
                    "retention": {
                        "years_after_settlement": tenant.retention_years,
                        "policy": _(
                            "After the account is settled, this creditor keeps the data for "
                            "the years shown, then anonymises it."
                        ),
                    },
                }
            )
            session.add(
                PrivacyRequest(
                    id=uuid.uuid4(),
                    tenant_id=debtor.tenant_id,
                    debtor_id=debtor.id,
                    kind="copy",
                    answered_at=now,
                )
            )
        await session.commit()
    return {
        "generated_at": now.isoformat(),
        "legal_basis": "LGPD art. 7, X",
        "creditors": creditors,
    }


async def tenant_requests(session: AsyncSession) -> list[PrivacyRequest]:
    """The current tenant's privacy requests, newest first (portal)."""
    rows = await session.scalars(
        select(PrivacyRequest)
        .options(selectinload(PrivacyRequest.debtor))
        .order_by(PrivacyRequest.created_at.desc())
        .limit(500)
    )
    return list(rows.all())
