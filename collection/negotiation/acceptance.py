"""Accepting an offer on the debtor site: exactly once, only as it was disclosed.

The offers are computed again at acceptance from the debts and the creditor's policy of
today. An offer whose validity passed, or that the policy no longer gives as it was
shown, is refused with the reason. The idempotency key carried by the form makes a
double click or a retried request find the agreement the first one made.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.debtor.page import CreditorView, debts_of_person, policy_of
from collection.domain.affordability import MINIMO_EXISTENCIAL, leaves_minimo_existencial
from collection.domain.agreements import Agreement as DomainAgreement
from collection.domain.documents import format_cnpj, mask_cpf
from collection.domain.offers import Offer
from collection.domain.simulation import offer_to_dict, rate_text
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Contact,
    ContactKind,
    Debt,
    Debtor,
    DebtStatus,
)
from collection.negotiation import policy_versions
from collection.negotiation.commitments import commitments
from collection.paperwork import numbers as document_numbers
from collection.paperwork import papers as paperwork
from collection.paperwork.terms_pdf import agreement_pdf
from collection.webhooks import outbound as outbound_webhooks
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import brl, local_date
from core.i18n import gettext as _
from core.mail import queue_email
from tenants.models import Tenant
from tenants.services import audit
from tenants.services.audit import Actor

REASONS = ("unemployment", "illness", "income_drop", "other_debts", "forgot", "other")


class OfferUnavailable(Refusal):
    """The offer cannot be accepted; ``message`` says why, for the person."""


@dataclass(frozen=True, slots=True)
class Presented:
    """What the person saw: the offer's code, its total and its validity."""

    code: str
    total: int
    valid_until: date


async def offer_for(
    db: Database,
    cpf_hash: str,
    tenant_id: uuid.UUID,
    code: str,
    on: date,
    *,
    tenants: Collection[uuid.UUID],
) -> tuple[CreditorView, Offer]:
    """Today's offer ``code`` of one creditor for this person, or OfferUnavailable; only
    a creditor among ``tenants`` (the ones the person proved their identity for). The
    offers for voluntary payment of prescribed debts are found here too, when the
    creditor's policy allows them."""
    creditor = next(
        (
            c
            for c in await debts_of_person(db, cpf_hash, on, tenants=tenants)
            if c.tenant_id == tenant_id
        ),
        None,
    )
    offers = [*creditor.offers, *creditor.voluntary_offers] if creditor else []
    offer = next((o for o in offers if o.code == code), None)
    if creditor is None or offer is None:
        raise OfferUnavailable(_("This offer is no longer available. See today's offers."))
    return creditor, offer


async def accept(
    db: Database,
    cpf_hash: str,
    tenant_id: uuid.UUID,
    presented: Presented,
    *,
    key: str,
    reason: str,
    reason_text: str,
    on: date,
    now: datetime,
    ip: str,
    tenants: Collection[uuid.UUID],
    income: int | None = None,
) -> uuid.UUID:
    """Turn the presented offer into an agreement; returns its id (the same on a retry).
    ``income``: what the person told on the budget page, checked against the mínimo
    existencial across all their open agreements (collection/negotiation/commitments.py)."""
    existing = await agreement_by_key(db, key)
    if existing is not None:
        return existing
    if on > presented.valid_until:
        raise OfferUnavailable(
            _("This offer expired on %(date)s. See today's offers.")
            % {"date": presented.valid_until.strftime("%d/%m/%Y")}
        )
    creditor, offer = await offer_for(db, cpf_hash, tenant_id, presented.code, on, tenants=tenants)
    if offer.total != presented.total:
        raise OfferUnavailable(
            _("The creditor's conditions changed since this offer was shown. See today's offers.")
        )
    income = await _check_minimo_existencial(db, cpf_hash, tenants, offer, income)
    by_contract = {d.contract: d.id for d in creditor.debts}
    return await create_agreement(
        db,
        cpf_hash,
        tenant_id,
        offer,
        [by_contract[ref] for ref in offer.debts],
        key=key,
        reason=reason,
        reason_text=reason_text,
        on=on,
        ip=ip,
        declared_income=income,
    )


async def _check_minimo_existencial(
    db: Database,
    cpf_hash: str,
    tenants: Collection[uuid.UUID],
    offer: Offer,
    income: int | None,
) -> int | None:
    """The income to keep with the agreement; refuses an offer whose payments, beside the
    person's other agreements, would leave less than the mínimo existencial."""
    held = await commitments(db, cpf_hash, tenants)
    told = income if income is not None else held.last_income
    if told is None:
        return None
    if not leaves_minimo_existencial(told, held.monthly, offer.largest_payment):
        raise OfferUnavailable(
            _(
                "With the income you told (%(income)s), this plan's payment of %(payment)s "
                "beside the %(committed)s a month of your other agreements would leave less "
                "than %(minimo)s a month (mínimo existencial). Choose a longer plan or "
                "send a proposal."
            )
            % {
                "income": brl(told),
                "payment": brl(offer.largest_payment),
                "committed": brl(held.monthly),
                "minimo": brl(MINIMO_EXISTENCIAL),
            }
        )
    return told


# Called inside the agreement's unit of work, before it commits: what else changes with it.
AlsoInUnitOfWork = Callable[[AsyncSession, Agreement], Awaitable[None]]


async def create_agreement(
    db: Database,
    cpf_hash: str,
    tenant_id: uuid.UUID,
    offer: Offer,
    debt_ids: Sequence[uuid.UUID],
    *,
    key: str,
    reason: str,
    reason_text: str,
    on: date,
    ip: str,
    also: AlsoInUnitOfWork | None = None,
    details: dict[str, Any] | None = None,
    declared_income: int | None = None,
) -> uuid.UUID:
    """Turn an offer the person accepted into an agreement on ``debt_ids`` (all still
    open), e-mail its terms and audit it, in one unit of work; returns its id, the same
    one on a retry with the same idempotency ``key``."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        tenant = await session.get_one(Tenant, tenant_id)
        debtor = await session.scalar(select(Debtor).where(Debtor.cpf_hash == cpf_hash))
        if debtor is None:  # pragma: no cover - the offer exists, so the debtor does
            raise OfferUnavailable(_("This offer is no longer available. See today's offers."))
        terms = DomainAgreement.from_offer(offer, on, policy_of(tenant).grace_days)
        agreement = Agreement(
            id=uuid.uuid4(),
            number=await document_numbers.next_number(
                session, tenant_id, document_numbers.AGREEMENT, on
            ),
            debtor_id=debtor.id,
            offer_code=offer.code,
            kind=offer.kind.value,
            status=terms.status.value,
            balance=offer.balance,
            discount=offer.discount,
            total=offer.total,
            down_payment=offer.down_payment,
            monthly_rate=rate_text(offer.monthly_rate),
            cet_yearly=rate_text(offer.cet_yearly),
            grace_days=policy_of(tenant).grace_days,
            accepted_on=on,
            reason=reason if reason in REASONS else "",
            reason_text=reason_text.strip()[:500],
            idempotency_key=key[:64],
            terms=offer_to_dict(offer),
            policy_version_id=await policy_versions.current_version_id(session, tenant),
            declared_income=declared_income,
            # Only an offer made for voluntary payment includes prescribed debts.
            voluntary=offer.includes_prescribed,
            installments=[
                AgreementInstallment(number=i.number, due_date=i.due_date, amount=i.amount)
                for i in terms.installments
            ],
        )
        session.add(agreement)
        session.add_all(AgreementDebt(agreement_id=agreement.id, debt_id=d) for d in debt_ids)
        # Only debts still open may enter an agreement (another tab may have taken them).
        taken = await session.execute(
            update(Debt)
            .where(Debt.id.in_(debt_ids), Debt.status == DebtStatus.OPEN)
            .values(status=DebtStatus.IN_AGREEMENT)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != len(debt_ids):
            raise OfferUnavailable(_("These debts already have an agreement."))
        if also is not None:
            await also(session, agreement)
        email = await session.scalar(
            select(Contact.value)
            .where(
                Contact.debtor_id == debtor.id,
                Contact.kind == ContactKind.EMAIL,
                Contact.opted_out_at.is_(None),
                Contact.not_mine_at.is_(None),
            )
            .order_by(Contact.created_at)
            .limit(1)
        )
        if email is not None:
            queue_email(
                session,
                to=email,
                template="agreement_terms",
                context={
                    "name": debtor.name,
                    "creditor": tenant.legal_name,
                    "cnpj": format_cnpj(tenant.cnpj),
                    "date": local_date(on),
                    "total": brl(offer.total),
                },
                attachment=(
                    "termo-de-acordo.pdf",
                    agreement_pdf(
                        agreement,
                        tenant,
                        debtor.name,
                        masked_cpf=mask_cpf(debtor.cpf),
                        contracts=await paperwork.contracts_of(session, agreement.id),
                    ),
                ),
            )
        audit.record(
            session,
            Actor(None, f"devedor {mask_cpf(debtor.cpf)}", ip, tenant_id),
            "agreement.created",
            target=str(agreement.id),
            details={
                "offer": offer.code,
                "total": offer.total,
                "reason": agreement.reason,
                **({"voluntary": True} if agreement.voluntary else {}),
                **(details or {}),
            },
        )
        await outbound_webhooks.emit(
            session,
            tenant_id,
            outbound_webhooks.AGREEMENT_CREATED,
            {
                "agreement_id": str(agreement.id),
                "debtor_id": str(debtor.id),
                "contracts": await outbound_webhooks.contracts_of(session, agreement.id),
                "offer_code": offer.code,
                "kind": agreement.kind,
                "balance": offer.balance,
                "discount": offer.discount,
                "total": offer.total,
                "down_payment": offer.down_payment,
                "monthly_rate": agreement.monthly_rate,
                "accepted_on": on.isoformat(),
                "installments": [
                    {"number": i.number, "due_date": i.due_date.isoformat(), "amount": i.amount}
                    for i in terms.installments
                ],
            },
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            again = await agreement_by_key(db, key)
            if again is None:
                raise
            return again
        return agreement.id


async def agreement_by_key(db: Database, key: str) -> uuid.UUID | None:
    async with db.session(Scope.system()) as session:
        found: uuid.UUID | None = await session.scalar(
            select(Agreement.id).where(Agreement.idempotency_key == key[:64])
        )
        return found


async def agreement_of_person(
    db: Database, cpf_hash: str, agreement_id: uuid.UUID, *, tenants: Collection[uuid.UUID]
) -> tuple[Agreement, Tenant, str] | None:
    """An agreement of this person at a proven creditor (``tenants``) with its
    installments, its creditor and the person's name there, or None."""
    async with db.session(Scope.system()) as session:
        row = (
            await session.execute(
                select(Agreement, Tenant, Debtor.name)
                .join(Debtor, Debtor.id == Agreement.debtor_id)
                .join(Tenant, Tenant.id == Agreement.tenant_id)
                .where(
                    Agreement.id == agreement_id,
                    Debtor.cpf_hash == cpf_hash,
                    Agreement.tenant_id.in_(list(tenants)),
                )
                .options(selectinload(Agreement.installments))
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])
