"""Special offers: staff propose terms beyond the policy for one account, the creditor
approves or rejects them with a reason, and only an approved offer reaches the person,
who may accept it on the debtor site.

Rules where the issue is silent:

- Only the account's open debts that are neither disputed nor prescribed may be offered
  (their prescribed items are left out, as in the policy's offers); the balance is the
  updated balance of the day of the proposal, and stays fixed: that is what is approved.
- An approval is refused with its reason, and the offer closed as ``expired``, when its
  validity passed or when one of its debts is no longer open and undisputed (paid, in an
  agreement, disputed); a refused approval still records that, so the caller commits.
- The person sees an offer only once approved and until its ``valid_until``; a pending,
  rejected or withdrawn offer does not exist for them (not found), and accepting an
  expired or not approved one is refused with the reason.
- Accepting makes the agreement through ``negotiation.create_agreement``, the path of the
  policy's offers, and marks the offer accepted in the same unit of work.

Agency pages call these functions with a system-scope session: every query here filters
by the account's tenant and debtor explicitly, so they are correct in either scope.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.debtor.page import policy_of
from collection.domain import valuation as v
from collection.domain.documents import mask_cpf
from collection.domain.money import InvalidAmount, format_rate, parse_brl
from collection.domain.offers import Offer, OfferKind, make_offers
from collection.domain.policy import MAX_INSTALLMENTS_CAP, MIN_VALIDITY_DAYS, MONTHLY_RATE_CAP
from collection.domain.simulation import offer_to_dict, rate_text
from collection.domain.special_offer import (
    InvalidSpecialOffer,
    Problem,
    SpecialTerms,
    propose_offer,
    special_offer,
)
from collection.models import (
    Debt,
    Debtor,
    DebtStatus,
    Dispute,
    SpecialOffer,
    SpecialOfferStatus,
)
from collection.negotiation.acceptance import agreement_by_key, create_agreement
from core.clock import SAO_PAULO
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.models import Tenant
from tenants.services import audit
from tenants.services.audit import Actor

_PERCENT = re.compile(r"^\s*(\d{1,3}(?:[.,]\d{1,4})?)\s*%?\s*$")
_HUNDRED = Decimal(100)


class SpecialOfferRefused(Refusal):
    """A decision or an acceptance refused; ``message`` says why, for the person."""


class TermsInvalid(ValueError):
    """A proposal that cannot be made; ``errors`` maps each form field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Account:
    """The account an offer is for: a debtor at a tenant, through a hand-over or not."""

    tenant_id: uuid.UUID
    debtor_id: uuid.UUID
    handover_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class TermsForm:
    """The proposal form as typed: percentages, amounts and dates as text."""

    debt_ids: tuple[str, ...] = ()
    discount: str = ""
    payments: str = "1"
    monthly_rate: str = "0"
    valid_until: str = ""
    down_payment: str = ""
    justification: str = ""

    @classmethod
    def from_form(cls, data: Mapping[str, Any], debt_ids: Sequence[str]) -> TermsForm:
        """The form's fields (``debt_ids``: the checked ``debt`` boxes)."""
        return cls(
            debt_ids=tuple(str(d)[:40] for d in debt_ids[:100]),
            discount=str(data.get("discount", ""))[:20],
            payments=str(data.get("payments", ""))[:10],
            monthly_rate=str(data.get("monthly_rate", ""))[:20],
            valid_until=str(data.get("valid_until", ""))[:20],
            down_payment=str(data.get("down_payment", ""))[:30],
            justification=str(data.get("justification", ""))[:1000],
        )


@dataclass(frozen=True, slots=True)
class DebtLine:
    """A debt of the account on the proposal page; ``excluded`` says why it cannot be
    offered ('' when it can), ``valuation`` is its enforceable part (None if closed)."""

    id: uuid.UUID
    contract: str
    product: str
    due_date: date
    status: DebtStatus
    valuation: v.Valuation | None
    excluded: str

    @property
    def offerable(self) -> bool:
        return not self.excluded


class OfferLine(NamedTuple):
    """A special offer with the person it is for (CPF masked), for the portal lists."""

    offer: SpecialOffer
    debtor_name: str
    masked_cpf: str


@dataclass
class ProposalAccount:
    """Everything the proposal page shows about the account."""

    account: Account
    creditor: str
    debtor_name: str
    masked_cpf: str
    debts: list[DebtLine]
    policy_offers: list[Offer]  # the policy's cash offer and its longest plan, to compare
    max_monthly_rate: Decimal | None
    offers: list[SpecialOffer] = field(default_factory=list)

    @property
    def offerable(self) -> list[DebtLine]:
        return [d for d in self.debts if d.offerable]


def status_label(status: SpecialOfferStatus) -> str:
    """The status of an offer in words."""
    labels = {
        SpecialOfferStatus.PENDING: _("Waiting for the creditor"),
        SpecialOfferStatus.APPROVED: _("Approved"),
        SpecialOfferStatus.REJECTED: _("Rejected by the creditor"),
        SpecialOfferStatus.ACCEPTED: _("Accepted: became an agreement"),
        SpecialOfferStatus.EXPIRED: _("Expired"),
        SpecialOfferStatus.WITHDRAWN: _("Withdrawn"),
    }
    return labels[status]


def _today(now: datetime) -> date:
    return now.astimezone(SAO_PAULO).date()


# -- the account and its debts -------------------------------------------------------------


async def _open_disputes(
    session: AsyncSession, tenant_id: uuid.UUID, debt_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(Dispute.debt_id).where(
            Dispute.tenant_id == tenant_id, Dispute.debt_id.in_(debt_ids), Dispute.status == "open"
        )
    )
    return set(rows.all())


async def account_for_proposal(
    session: AsyncSession, account: Account, today: date
) -> ProposalAccount:
    """The account's debts (which may be offered, and why not), the policy's offers and
    the special offers already made for it; LookupError when the debtor is not there."""
    debtor = await session.scalar(
        select(Debtor).where(Debtor.id == account.debtor_id, Debtor.tenant_id == account.tenant_id)
    )
    tenant = await session.get(Tenant, account.tenant_id)
    if debtor is None or tenant is None:
        raise LookupError(account.debtor_id)
    policy = policy_of(tenant)
    debts = (
        await session.scalars(
            select(Debt)
            .where(Debt.tenant_id == account.tenant_id, Debt.debtor_id == account.debtor_id)
            .options(selectinload(Debt.items))
            .order_by(Debt.due_date, Debt.id)
        )
    ).all()
    disputed = await _open_disputes(session, account.tenant_id, [d.id for d in debts])
    lines: list[DebtLine] = []
    domain_debts: list[v.Debt] = []
    for debt in debts:
        valuation = None
        excluded = ""
        if debt.status != DebtStatus.OPEN or not debt.items:
            excluded = _(debt.status.value)
        else:
            domain = v.Debt(
                reference=debt.contract,
                items=tuple(v.DebtItem(i.amount, i.due_date) for i in debt.items),
                paid=debt.paid,
            )
            valuation = v.valuate(domain, today, terms=policy.charges).enforceable()
            if valuation is None:
                excluded = _("prescribed")
            elif debt.id in disputed:
                excluded = _("disputed")
            else:
                domain_debts.append(domain)
        lines.append(
            DebtLine(
                debt.id,
                debt.contract,
                debt.product,
                debt.due_date,
                debt.status,
                valuation,
                excluded,
            )
        )
    policy_offers = make_offers(domain_debts, policy, today) if domain_debts else []
    plans = [o for o in policy_offers if o.kind is OfferKind.INSTALLMENTS and not o.down_payment]
    compare = [o for o in policy_offers[:1] if o.kind is OfferKind.CASH] + plans[-1:]
    # The interest of a plan never goes above the policy's rate for these debts.
    buckets = [
        policy.bucket_for(line.valuation.days_late)
        for line in lines
        if line.offerable and line.valuation is not None
    ]
    rates = [b.monthly_rate for b in buckets if b is not None] or [
        b.monthly_rate for b in policy.buckets
    ]
    offers = (
        await session.scalars(
            select(SpecialOffer)
            .where(
                SpecialOffer.tenant_id == account.tenant_id,
                SpecialOffer.debtor_id == account.debtor_id,
            )
            .order_by(SpecialOffer.created_at.desc(), SpecialOffer.id)
        )
    ).all()
    return ProposalAccount(
        account=account,
        creditor=tenant.name,
        debtor_name=debtor.name,
        masked_cpf=mask_cpf(debtor.cpf),
        debts=lines,
        policy_offers=compare,
        max_monthly_rate=min(rates),
        offers=list(offers),
    )


def default_form(page: ProposalAccount, today: date) -> TermsForm:
    """A starting proposal: every offerable debt, paying at once, no discount yet."""
    return TermsForm(
        debt_ids=tuple(str(d.id) for d in page.offerable),
        discount="0",
        payments="1",
        monthly_rate="0",
        valid_until=(today + timedelta(days=7)).isoformat(),
    )


# -- reading and checking the terms ----------------------------------------------------------


def _percent(text: str) -> Decimal | None:
    match = _PERCENT.match(text)
    if match is None:
        return None
    try:
        return Decimal(match.group(1).replace(",", ".")) / _HUNDRED
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None


def _date(text: str) -> date | None:
    text = text.strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_terms(form: TermsForm) -> SpecialTerms:
    """The typed terms of the form; TermsInvalid names each field that is not readable."""
    errors: dict[str, str] = {}
    discount = _percent(form.discount or "0")
    if discount is None:
        errors["discount"] = _("Type a percentage, for example 35 or 12,5.")
    rate = _percent(form.monthly_rate or "0")
    if rate is None:
        errors["monthly_rate"] = _("Type a percentage, for example 35 or 12,5.")
    payments = 0
    try:
        payments = int(form.payments.strip())
    except ValueError:
        errors["payments"] = _("Type a whole number of payments.")
    valid_until = _date(form.valid_until)
    if valid_until is None:
        errors["valid_until"] = _("Type the date as day/month/year, for example 15/04/1985.")
    down = 0
    if form.down_payment.strip():
        try:
            down = parse_brl(form.down_payment)
        except InvalidAmount:
            errors["down_payment"] = _("Type an amount, for example 150,00.")
    if errors or discount is None or rate is None or valid_until is None:
        raise TermsInvalid(errors)
    return SpecialTerms(discount, payments, rate, valid_until, down)


def _problem_text(problem: Problem, today: date, cap: Decimal | None) -> str:
    match problem:
        case Problem.DISCOUNT_RANGE:
            return _("The discount must be between 0 and 100 percent.")
        case Problem.NOTHING_TO_PAY:
            return _("With this discount nothing is left to pay.")
        case Problem.PAYMENTS_RANGE:
            return _("Choose between 1 and %(n)s payments.") % {"n": MAX_INSTALLMENTS_CAP}
        case Problem.INSTALLMENT_TOO_SMALL:
            return _("The amount is too small for this many payments.")
        case Problem.RATE_NEGATIVE:
            return _("The monthly rate cannot be negative.")
        case Problem.RATE_ABOVE_CAP:
            return _("The monthly rate cannot exceed %(rate)s.") % {
                "rate": format_rate(MONTHLY_RATE_CAP)
            }
        case Problem.RATE_ABOVE_POLICY:
            return _(
                "A special offer cannot charge more interest than the policy: at most "
                "%(rate)s a month for these debts."
            ) % {"rate": format_rate(cap or Decimal(0))}
        case Problem.RATE_PRECISION:
            return _("Use at most two decimal places in a percentage.")
        case Problem.VALIDITY_TOO_SHORT:
            return _("An offer must stand for at least %(n)s days: until %(date)s or later.") % {
                "n": MIN_VALIDITY_DAYS,
                "date": (today + timedelta(days=MIN_VALIDITY_DAYS)).strftime("%d/%m/%Y"),
            }
        case Problem.DOWN_PAYMENT_RANGE:
            return _("A down payment needs two or more payments and must be less than the total.")


_FIELDS = {"discount_rate": "discount", "payments": "payments", "monthly_rate": "monthly_rate"}


def _offer_for(page: ProposalAccount, form: TermsForm, today: date) -> tuple[Offer, list[DebtLine]]:
    chosen = [d for d in page.offerable if str(d.id) in set(form.debt_ids)]
    errors: dict[str, str] = {}
    if not chosen or len(chosen) != len(set(form.debt_ids)):
        errors["debts"] = _("Choose one or more debts that can be offered.")
    try:
        terms = read_terms(form)
    except TermsInvalid as exc:
        raise TermsInvalid({**errors, **exc.errors}) from exc
    if errors:
        raise TermsInvalid(errors)
    valuations = [d.valuation for d in chosen if d.valuation is not None]
    balance = sum(x.total for x in valuations)
    charges = sum(x.charges for x in valuations)
    try:
        offer = propose_offer(
            balance,
            charges,
            terms,
            today,
            debts=[d.contract for d in chosen],
            max_monthly_rate=page.max_monthly_rate,
        )
    except InvalidSpecialOffer as exc:
        raise TermsInvalid(
            {
                _FIELDS.get(name, name): _problem_text(problem, today, page.max_monthly_rate)
                for name, problem in exc.problems.items()
            }
        ) from exc
    return offer, chosen


def preview(page: ProposalAccount, form: TermsForm, today: date) -> Offer:
    """The offer the form would make, as the person would see it; TermsInvalid if none."""
    offer, _chosen = _offer_for(page, form, today)
    return offer


async def propose(
    session: AsyncSession,
    page: ProposalAccount,
    form: TermsForm,
    by: Actor,
    now: datetime,
) -> SpecialOffer:
    """Record the proposal, pending the creditor's approval, and audit it."""
    today = _today(now)
    offer, chosen = _offer_for(page, form, today)
    justification = form.justification.strip()
    if not justification:
        raise TermsInvalid(
            {"justification": _("Say why this account deserves terms beyond the policy.")}
        )
    charges = sum(d.valuation.charges for d in chosen if d.valuation is not None)
    row = SpecialOffer(
        id=uuid.uuid4(),
        tenant_id=page.account.tenant_id,
        debtor_id=page.account.debtor_id,
        handover_id=page.account.handover_id,
        proposed_by=by.user_id,
        proposed_by_label=by.label[:254],
        status=SpecialOfferStatus.PENDING,
        debt_ids=[str(d.id) for d in chosen],
        balance=offer.balance,
        discount_rate=rate_text(read_terms(form).discount_rate),
        installments=offer.payment_count,
        monthly_rate=rate_text(offer.monthly_rate),
        justification=justification[:1000],
        valid_until=offer.valid_until,
        terms={**offer_to_dict(offer), "debts": list(offer.debts), "charges": charges},
    )
    session.add(row)
    audit.record(
        session,
        by,
        "special_offer.proposed",
        target=str(row.id),
        tenant_id=page.account.tenant_id,
        details={
            "debtor": str(page.account.debtor_id),
            "total": offer.total,
            "payments": offer.payment_count,
            "discount": offer.discount,
            "monthly_rate": row.monthly_rate,
            "valid_until": offer.valid_until.isoformat(),
        },
    )
    return row


# -- the creditor's decision -----------------------------------------------------------------


def _lines(rows: Sequence[Any]) -> list[OfferLine]:
    return [OfferLine(offer, name, mask_cpf(cpf)) for offer, name, cpf in rows]


_WITH_DEBTOR = select(SpecialOffer, Debtor.name, Debtor.cpf).join(
    Debtor, Debtor.id == SpecialOffer.debtor_id
)


async def pending(session: AsyncSession) -> list[OfferLine]:
    """The offers of the session's tenant waiting for a decision, oldest first."""
    rows = await session.execute(
        _WITH_DEBTOR.where(SpecialOffer.status == SpecialOfferStatus.PENDING).order_by(
            SpecialOffer.created_at, SpecialOffer.id
        )
    )
    return _lines(rows.all())


async def decided(session: AsyncSession, *, limit: int = 50) -> list[OfferLine]:
    """The latest decided offers of the session's tenant, newest first."""
    rows = await session.execute(
        _WITH_DEBTOR.where(SpecialOffer.status != SpecialOfferStatus.PENDING)
        .order_by(SpecialOffer.decided_at.desc(), SpecialOffer.created_at.desc())
        .limit(limit)
    )
    return _lines(rows.all())


async def offer_line(session: AsyncSession, offer_id: uuid.UUID) -> OfferLine:
    """One offer of the session's tenant, with its debtor; LookupError if none."""
    row = (await session.execute(_WITH_DEBTOR.where(SpecialOffer.id == offer_id))).first()
    if row is None:
        raise LookupError(offer_id)
    return _lines([row])[0]


async def _close(
    session: AsyncSession, offer: SpecialOffer, by: Actor, now: datetime, reason: str
) -> None:
    offer.status = SpecialOfferStatus.EXPIRED
    offer.decided_at = now
    offer.decision_reason = reason[:500]
    audit.record(
        session, by, "special_offer.expired", target=str(offer.id), details={"reason": reason}
    )


async def _debts_changed(session: AsyncSession, offer: SpecialOffer) -> bool:
    ids = [uuid.UUID(d) for d in offer.debt_ids]
    open_ids = set(
        (
            await session.scalars(
                select(Debt.id).where(
                    Debt.tenant_id == offer.tenant_id,
                    Debt.id.in_(ids),
                    Debt.status == DebtStatus.OPEN,
                )
            )
        ).all()
    )
    return open_ids != set(ids) or bool(await _open_disputes(session, offer.tenant_id, ids))


async def _decide(
    session: AsyncSession,
    offer_id: uuid.UUID,
    target: SpecialOfferStatus,
    by: Actor,
    reason: str,
    now: datetime,
) -> SpecialOffer:
    offer = (await offer_line(session, offer_id)).offer
    if offer.status != SpecialOfferStatus.PENDING:
        raise SpecialOfferRefused(
            _("This offer was already decided: %(status)s.")
            % {"status": status_label(offer.status)}
        )
    if target is SpecialOfferStatus.APPROVED:
        if offer.valid_until < _today(now):
            message = _(
                "This offer expired on %(date)s and can no longer be approved. "
                "Ask for a new proposal."
            ) % {"date": offer.valid_until.strftime("%d/%m/%Y")}
            await _close(session, offer, by, now, message)
            raise SpecialOfferRefused(message)
        if await _debts_changed(session, offer):
            message = _(
                "The debts of this offer changed since it was proposed (paid, disputed or in an "
                "agreement): it can no longer be approved."
            )
            await _close(session, offer, by, now, message)
            raise SpecialOfferRefused(message)
    # A conditional update: of two people deciding at once, only one decides.
    done = await session.execute(
        update(SpecialOffer)
        .where(SpecialOffer.id == offer.id, SpecialOffer.status == SpecialOfferStatus.PENDING)
        .values(status=target, decided_by=by.user_id, decided_at=now, decision_reason=reason[:500])
        .execution_options(synchronize_session="fetch")
    )
    if getattr(done, "rowcount", 0) != 1:
        raise SpecialOfferRefused(_("This offer was already decided."))
    audit.record(
        session,
        by,
        "special_offer.approved"
        if target is SpecialOfferStatus.APPROVED
        else "special_offer.rejected",
        target=str(offer.id),
        details={"reason": reason[:500], "total": offer.terms.get("total")},
    )
    return offer


async def approve(
    session: AsyncSession, offer_id: uuid.UUID, by: Actor, reason: str, now: datetime
) -> SpecialOffer:
    """The creditor approves: the offer reaches the person. Refused (and the offer closed
    as expired) when its validity passed or its debts changed; the caller commits either
    way. LookupError when the offer is not the session's tenant's."""
    return await _decide(session, offer_id, SpecialOfferStatus.APPROVED, by, reason.strip(), now)


async def reject(
    session: AsyncSession, offer_id: uuid.UUID, by: Actor, reason: str, now: datetime
) -> SpecialOffer:
    """The creditor rejects, saying why (required); the person never sees the offer."""
    if not reason.strip():
        raise SpecialOfferRefused(_("Say why the offer is rejected: the proposer will read it."))
    return await _decide(session, offer_id, SpecialOfferStatus.REJECTED, by, reason.strip(), now)


# -- the person ------------------------------------------------------------------------------


class PersonOffer(NamedTuple):
    """A special offer of the verified person, with its creditor."""

    offer: SpecialOffer
    creditor: Tenant


_HIDDEN = (SpecialOfferStatus.PENDING, SpecialOfferStatus.REJECTED, SpecialOfferStatus.WITHDRAWN)


async def _of_person(
    db: Database, cpf_hash: str, offer_id: uuid.UUID, tenants: Collection[uuid.UUID]
) -> PersonOffer | None:
    async with db.session(Scope.system()) as session:
        row = (
            await session.execute(
                select(SpecialOffer, Tenant)
                .join(Debtor, Debtor.id == SpecialOffer.debtor_id)
                .join(Tenant, Tenant.id == SpecialOffer.tenant_id)
                .where(
                    SpecialOffer.id == offer_id,
                    Debtor.cpf_hash == cpf_hash,
                    SpecialOffer.tenant_id.in_(list(tenants)),
                    Tenant.is_active.is_(True),
                )
            )
        ).first()
        return None if row is None else PersonOffer(row[0], row[1])


async def offer_of_person(
    db: Database, cpf_hash: str, offer_id: uuid.UUID, *, tenants: Collection[uuid.UUID]
) -> PersonOffer | None:
    """The person's offer at a proven creditor (``tenants``) once the creditor approved
    it (expired or accepted included); None for anyone else's, and for one the creditor
    has not approved."""
    found = await _of_person(db, cpf_hash, offer_id, tenants)
    return None if found is None or found.offer.status in _HIDDEN else found


async def approved_for(session: AsyncSession, cpf_hash: str, today: date) -> list[PersonOffer]:
    """The person's approved offers still standing on ``today``, at every creditor
    (``session`` in system scope)."""
    rows = await session.execute(
        select(SpecialOffer, Tenant)
        .join(Debtor, Debtor.id == SpecialOffer.debtor_id)
        .join(Tenant, Tenant.id == SpecialOffer.tenant_id)
        .where(
            Debtor.cpf_hash == cpf_hash,
            Tenant.is_active.is_(True),
            SpecialOffer.status == SpecialOfferStatus.APPROVED,
            SpecialOffer.valid_until >= today,
        )
        .order_by(Tenant.name, SpecialOffer.valid_until, SpecialOffer.id)
    )
    return [PersonOffer(offer, tenant) for offer, tenant in rows.all()]


def disclosed(offer: SpecialOffer) -> Offer:
    """The offer as it was proposed and approved, made again from its stored terms."""
    terms = SpecialTerms(
        discount_rate=Decimal(offer.discount_rate),
        payments=offer.installments,
        monthly_rate=Decimal(offer.monthly_rate),
        valid_until=offer.valid_until,
        down_payment=int(offer.terms.get("down_payment", 0)),
    )
    made = special_offer(
        offer.balance,
        int(offer.terms.get("charges", 0)),
        terms,
        debts=[str(d) for d in offer.terms.get("debts", [])],
    )
    if made.total != offer.terms.get("total"):
        raise SpecialOfferRefused(_("This offer is no longer available. See today's offers."))
    return made


def expired_message(offer: SpecialOffer) -> str:
    return _("This offer expired on %(date)s. See today's offers.") % {
        "date": offer.valid_until.strftime("%d/%m/%Y")
    }


def unavailable(offer: SpecialOffer, today: date) -> str | None:
    """Why the person cannot accept ``offer`` today, or None when they can."""
    if offer.status is SpecialOfferStatus.EXPIRED or (
        offer.status is SpecialOfferStatus.APPROVED and offer.valid_until < today
    ):
        return expired_message(offer)
    if offer.status is not SpecialOfferStatus.APPROVED:
        return _("The creditor has not approved this offer, so it cannot be accepted.")
    return None


async def accept(
    db: Database,
    offer_id: uuid.UUID,
    cpf_hash: str,
    idempotency_key: str,
    *,
    today: date,
    ip: str,
    tenants: Collection[uuid.UUID],
    reason: str = "",
    reason_text: str = "",
) -> uuid.UUID:
    """The person accepts the approved offer: exactly one agreement (the same one on a
    retry), the offer marked accepted with it. LookupError when it is not theirs (or at
    a creditor outside the proven ``tenants``)."""
    existing = await agreement_by_key(db, idempotency_key)
    if existing is not None:
        return existing
    found = await _of_person(db, cpf_hash, offer_id, tenants)
    if found is None:
        raise LookupError(offer_id)
    offer = found.offer
    if offer.status is SpecialOfferStatus.ACCEPTED and offer.agreement_id is not None:
        return offer.agreement_id
    why = unavailable(offer, today)
    if why is not None:
        raise SpecialOfferRefused(why)
    terms = disclosed(offer)
    debt_ids = [uuid.UUID(d) for d in offer.debt_ids]

    async def mark_accepted(session: AsyncSession, agreement: Any) -> None:
        if await _open_disputes(session, offer.tenant_id, debt_ids):
            raise SpecialOfferRefused(
                _("A debt of this offer is disputed: wait for the creditor's answer.")
            )
        done = await session.execute(
            update(SpecialOffer)
            .where(SpecialOffer.id == offer.id, SpecialOffer.status == SpecialOfferStatus.APPROVED)
            .values(status=SpecialOfferStatus.ACCEPTED, agreement_id=agreement.id)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            raise SpecialOfferRefused(_("This offer is no longer available. See today's offers."))

    return await create_agreement(
        db,
        cpf_hash,
        offer.tenant_id,
        terms,
        debt_ids,
        key=idempotency_key,
        reason=reason,
        reason_text=reason_text,
        on=today,
        ip=ip,
        also=mark_accepted,
        details={"special_offer": str(offer.id)},
    )
