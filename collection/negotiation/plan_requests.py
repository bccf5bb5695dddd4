"""A person's own proposal when no plan of the policy fits ("o plano que cabe").

The proposal (an amount a month and a number of months) becomes a special offer pending
the creditor's decision, in the same queue as the offers agency staff propose, so the
creditor approves or rejects it with the tools it already has, and an approved one
reaches the person as any special offer does. It is a request, never an agreement.

Rules where the issue is silent:

- It covers exactly the debts the policy's offers cover today (open, undisputed, not
  prescribed), valued today; the terms are that many payments without interest, the
  discount being what the proposal leaves unpaid (``terms_from_proposal``).
- It stands for ``REQUEST_VALIDITY_DAYS`` days: the creditor decides within them.
- One proposal at a time: while one is pending, another is refused with the reason.
- When the account is with an agency (an active hand-over), the proposal carries the
  hand-over, so the agency sees it on the account too.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from collection.debtor.page import debts_of_person
from collection.domain.documents import mask_cpf
from collection.domain.money import InvalidAmount, format_brl, parse_brl
from collection.domain.policy import MAX_INSTALLMENTS_CAP
from collection.domain.simulation import offer_to_dict, rate_text
from collection.domain.special_offer import Problem, check_terms, terms_from_proposal
from collection.domain.special_offer import special_offer as make_special_offer
from collection.models import (
    Debtor,
    Handover,
    HandoverStatus,
    SpecialOffer,
    SpecialOfferStatus,
)
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.models import Tenant
from tenants.services import audit
from tenants.services.audit import Actor

REQUEST_VALIDITY_DAYS = 15
# How the queue tells a person's proposal from staff's (staff have a user id).
PERSON_LABEL_PREFIX = "devedor "


class ProposalRefused(Refusal):
    """The proposal cannot be sent; ``message`` says why, for the person."""


class ProposalInvalid(ValueError):
    """What was typed is not a proposal; ``errors`` maps each form field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal as read from the form: centavos a month and months."""

    monthly: int
    months: int


def read_proposal(monthly: str, months: str) -> Proposal:
    """Read the form's two fields; ProposalInvalid names each field that is wrong."""
    errors: dict[str, str] = {}
    amount = count = 0
    try:
        amount = parse_brl(monthly)
        if amount <= 0:
            raise InvalidAmount(monthly)
    except InvalidAmount:
        errors["valor_mensal"] = _("Type an amount, for example 150,00.")
    text = months.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_INSTALLMENTS_CAP:
        errors["meses"] = _("Type a number of months from 1 to %(max)s.") % {
            "max": MAX_INSTALLMENTS_CAP
        }
    else:
        count = int(text)
    if errors:
        raise ProposalInvalid(errors)
    return Proposal(amount, count)


def is_from_person(offer: SpecialOffer) -> bool:
    """True for a special offer the person proposed on the debtor site."""
    return offer.proposed_by is None and offer.proposed_by_label.startswith(PERSON_LABEL_PREFIX)


async def send_proposal(
    db: Database,
    cpf_hash: str,
    tenant_id: uuid.UUID,
    proposal: Proposal,
    *,
    on: date,
    now: datetime,
    ip: str,
    tenants: Collection[uuid.UUID],
) -> SpecialOffer:
    """Record the person's proposal as a special offer pending the creditor's decision,
    audited; ProposalRefused when there is nothing to propose on or one is pending."""
    creditor = next(
        (
            c
            for c in await debts_of_person(db, cpf_hash, on, tenants=tenants)
            if c.tenant_id == tenant_id
        ),
        None,
    )
    if creditor is None or not creditor.offers:
        raise ProposalRefused(_("There is no open debt at this creditor to make a proposal on."))
    basis = creditor.offers[0]
    by_contract = {d.contract: d.id for d in creditor.debts}
    charges = sum(v.charges for v in basis.valuations)
    valid_until = on + timedelta(days=REQUEST_VALIDITY_DAYS)
    terms = terms_from_proposal(basis.balance, proposal.monthly, proposal.months, valid_until)
    problems = check_terms(terms, basis.balance, on)
    if problems:
        if Problem.INSTALLMENT_TOO_SMALL in problems.values():
            raise ProposalInvalid({"meses": _("Too many months for this amount: use fewer.")})
        raise ProposalInvalid(
            {"valor_mensal": _("This proposal cannot be sent: check the amount.")}
        )
    offer = make_special_offer(basis.balance, charges, terms, debts=basis.debts)
    async with db.session(Scope.tenant(tenant_id)) as session:
        debtor = await session.scalar(select(Debtor).where(Debtor.cpf_hash == cpf_hash))
        if debtor is None:  # pragma: no cover - the offers exist, so the debtor does
            raise ProposalRefused(
                _("There is no open debt at this creditor to make a proposal on.")
            )
        waiting = await session.scalar(
            select(SpecialOffer.id).where(
                SpecialOffer.debtor_id == debtor.id,
                SpecialOffer.status == SpecialOfferStatus.PENDING,
                SpecialOffer.proposed_by.is_(None),
                SpecialOffer.proposed_by_label.startswith(PERSON_LABEL_PREFIX),
            )
        )
        if waiting is not None:
            raise ProposalRefused(
                _("You already sent a proposal to this creditor. Wait for its answer.")
            )
        handover = await session.scalar(
            select(Handover.id).where(
                Handover.debtor_id == debtor.id, Handover.status == HandoverStatus.ACTIVE
            )
        )
        label = f"{PERSON_LABEL_PREFIX}{mask_cpf(debtor.cpf)}"
        row = SpecialOffer(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            debtor_id=debtor.id,
            handover_id=handover,
            proposed_by=None,
            proposed_by_label=label,
            status=SpecialOfferStatus.PENDING,
            debt_ids=[str(by_contract[ref]) for ref in basis.debts],
            balance=offer.balance,
            discount_rate=rate_text(terms.discount_rate),
            installments=offer.payment_count,
            monthly_rate=rate_text(offer.monthly_rate),
            justification=(
                _("Proposal sent by the person: %(amount)s a month for %(n)s months.")
                % {"amount": format_brl(proposal.monthly), "n": proposal.months}
            )[:1000],
            valid_until=offer.valid_until,
            terms={
                **offer_to_dict(offer),
                "debts": list(offer.debts),
                "charges": charges,
                "proposal": {"monthly": proposal.monthly, "months": proposal.months},
            },
        )
        session.add(row)
        audit.record(
            session,
            Actor(None, label, ip, tenant_id),
            "special_offer.requested",
            target=str(row.id),
            details={
                "monthly": proposal.monthly,
                "months": proposal.months,
                "total": offer.total,
                "balance": offer.balance,
            },
        )
        await session.commit()
        return row


@dataclass(frozen=True, slots=True)
class SentProposal:
    """A proposal the person sent, as the confirmation page shows it."""

    creditor: str
    monthly: int
    months: int
    valid_until: date
    status: SpecialOfferStatus


async def proposal_of_person(
    db: Database, cpf_hash: str, offer_id: uuid.UUID, *, tenants: Collection[uuid.UUID]
) -> SentProposal | None:
    """The person's own proposal ``offer_id`` at a proven creditor, or None."""
    async with db.session(Scope.system()) as session:
        row = (
            await session.execute(
                select(SpecialOffer, Tenant.name)
                .join(Debtor, Debtor.id == SpecialOffer.debtor_id)
                .join(Tenant, Tenant.id == SpecialOffer.tenant_id)
                .where(
                    SpecialOffer.id == offer_id,
                    Debtor.cpf_hash == cpf_hash,
                    SpecialOffer.tenant_id.in_(list(tenants)),
                )
            )
        ).first()
    if row is None or not is_from_person(row[0]):
        return None
    offer, creditor = row
    asked = offer.terms.get("proposal", {})
    return SentProposal(
        creditor,
        int(asked.get("monthly", 0)),
        int(asked.get("months", offer.installments)),
        offer.valid_until,
        offer.status,
    )
