"""Money received is never lost (issue 16 items 1 and 4): what a broken agreement
received, and a payment that arrives after it broke, reduce what the debt still owes
(in the debtor view, the offers, escalation and the API); money beyond everything owed
is shown to the creditor to refund; a partial refund takes back only its amount, on
the agreement and on the dashboard."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from collection.debtor.page import debts_of_person, policy_of
from collection.domain import valuation as v
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Debt,
    DebtItem,
    Debtor,
    DebtStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from collection.payments import service as payments
from collection.reports import dashboards as reports
from core.db import Scope
from core.i18n import brl
from core.security import keyed_hash
from portal.api.schemas import debt_out
from tenants.models import Tenant
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD, valid_cpf

# The reported case: R$ 811,18 in two items, an agreement of 6 × R$ 138,48.
ITEMS = ((date(2025, 9, 10), 40_000), (date(2025, 10, 10), 41_118))
INSTALLMENT = 13_848
ACCEPTED = date(2026, 2, 2)
# Business days, a month apart (no holiday among them).
DUES = (
    date(2026, 2, 5),
    date(2026, 3, 5),
    date(2026, 4, 6),
    date(2026, 5, 5),
    date(2026, 6, 5),
    date(2026, 7, 6),
)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(15, 0), UTC)


async def _debt_in_agreement(
    db, settings, tenant_id: uuid.UUID
) -> tuple[str, uuid.UUID, uuid.UUID]:
    """A new debtor of the tenant with the debt above in a 6-installment agreement;
    returns the CPF hash, the debt id and the agreement id."""
    cpf = valid_cpf(random.Random())
    cpf_hash = keyed_hash(settings.security.cpf_hash_key, cpf)
    async with db.session(Scope.tenant(tenant_id)) as session:
        portfolio_id = await session.scalar(select(Debt.portfolio_id).limit(1))
        debtor = Debtor(
            id=uuid.uuid4(), tenant_id=tenant_id, cpf=cpf, cpf_hash=cpf_hash, name="Maria Teste"
        )
        debt = Debt(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            portfolio_id=portfolio_id,
            debtor=debtor,
            contract=f"CT-LIFE-{uuid.uuid4().hex[:8]}",
            original_amount=sum(a for _d, a in ITEMS),
            due_date=ITEMS[0][0],
            status=DebtStatus.IN_AGREEMENT,
            items=[
                DebtItem(tenant_id=tenant_id, number=n, due_date=d, amount=a)
                for n, (d, a) in enumerate(ITEMS, start=1)
            ],
        )
        agreement = Agreement(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            debtor_id=debtor.id,
            offer_code="p6",
            kind="installments",
            status="awaiting_first_payment",
            balance=90_000,
            discount=8_000,
            total=6 * INSTALLMENT,
            down_payment=0,
            monthly_rate="0.0199",
            cet_yearly="0.2667",
            grace_days=5,
            accepted_on=ACCEPTED,
            idempotency_key=f"life-{uuid.uuid4().hex}",
            terms={},
            installments=[
                AgreementInstallment(tenant_id=tenant_id, number=n, due_date=d, amount=INSTALLMENT)
                for n, d in enumerate(DUES, start=1)
            ],
        )
        session.add_all([debtor, debt])
        await session.flush()
        session.add(agreement)
        await session.flush()
        session.add(AgreementDebt(tenant_id=tenant_id, agreement_id=agreement.id, debt_id=debt.id))
        await session.commit()
        return cpf_hash, debt.id, agreement.id


async def _payment(db, tenant_id: uuid.UUID, agreement_id: uuid.UUID, number: int) -> str:
    """A Pix issued for installment ``number``; returns its gateway id."""
    provider_id = f"pi_{uuid.uuid4().hex[:16]}"
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            Payment(
                tenant_id=tenant_id,
                agreement_id=agreement_id,
                installment_number=number,
                method=PaymentMethod.PIX,
                amount=INSTALLMENT,
                idempotency_key=f"pay-{provider_id}",
                provider_id=provider_id,
            )
        )
        await session.commit()
    return provider_id


async def _event(db, kind: str, provider_id: str, on: date, amount: int = 0) -> str:
    notice = payments.Notice(
        event_id=f"evt_{uuid.uuid4().hex}",
        type=kind,
        account="",
        payment_intent=provider_id,
        occurred_at=_at(on),
        amount=amount,
        connected=False,  # as from the local test gateway, which has no connected accounts
    )
    return await payments.apply_notice(db, notice, _at(on))


async def _debt(db, tenant_id: uuid.UUID, debt_id: uuid.UUID) -> Debt:
    async with db.session(Scope.tenant(tenant_id)) as session:
        debt = await session.scalar(
            select(Debt).where(Debt.id == debt_id).execution_options(populate_existing=True)
        )
        assert debt is not None
        await session.refresh(debt, ["items", "portfolio", "debtor"])
        return debt


def _gross(tenant: Tenant, on: date) -> int:
    """The debt valued from its original items alone: what the bug showed."""
    items = tuple(v.DebtItem(a, d) for d, a in ITEMS)
    return v.valuate(v.Debt("x", items), on, terms=policy_of(tenant).charges).total


async def test_a_broken_agreement_and_a_later_pix_reduce_what_the_debt_owes(db, settings, world):
    tenant_id = world.a.id
    cpf_hash, debt_id, agreement_id = await _debt_in_agreement(db, settings, tenant_id)
    first = await _payment(db, tenant_id, agreement_id, 1)
    second = await _payment(db, tenant_id, agreement_id, 2)
    third = await _payment(db, tenant_id, agreement_id, 3)  # issued before the break
    assert await _event(db, "payment_intent.succeeded", first, DUES[0]) == "succeeded"
    assert await _event(db, "payment_intent.succeeded", second, DUES[1]) == "succeeded"

    # Installment 3 unpaid past its grace days: the agreement breaks.
    broken_on = DUES[2] + timedelta(days=6)
    assert await payments.advance_agreements(db, broken_on, tenant_id=tenant_id) == 1
    debt = await _debt(db, tenant_id, debt_id)
    assert debt.status == DebtStatus.OPEN
    assert debt.paid == 2 * INSTALLMENT == 27_696

    # The Pix issued earlier is paid after the break: it goes to the debt, not to a
    # silent credit.
    later = broken_on + timedelta(days=3)
    assert await _event(db, "payment_intent.succeeded", third, later) == "succeeded"
    debt = await _debt(db, tenant_id, debt_id)
    assert debt.status == DebtStatus.OPEN
    assert debt.paid == 41_544
    assert debt.to_refund == 0

    async with db.session(Scope.tenant(tenant_id)) as session:
        tenant = await session.get_one(Tenant, tenant_id)
    gross = _gross(tenant, later)
    creditor = next(
        c
        for c in await debts_of_person(db, cpf_hash, later, tenants=[tenant_id])
        if c.tenant_id == tenant_id
    )
    (view,) = creditor.debts
    assert view.valuation is not None
    assert view.paid == 41_544
    assert view.valuation.received == 41_544
    assert view.valuation.total == gross - 41_544
    # Oldest item first, its charges before its principal: the R$ 415,44 pays all the
    # charges of the first item and then part of its principal; the second is untouched.
    items = tuple(v.DebtItem(a, d) for d, a in ITEMS)
    before = v.valuate(v.Debt("x", items), later, terms=policy_of(tenant).charges).items
    oldest, newest = view.valuation.items
    assert oldest.received == 41_544 and oldest.charges == 0
    assert oldest.principal == 40_000 - (41_544 - before[0].charges)
    assert newest == before[1]
    # Every offer is made on what is still owed.
    assert creditor.offers
    for offer in creditor.offers:
        assert offer.balance == gross - 41_544
    cash = next(o for o in creditor.offers if o.code == "cash")
    assert cash.total <= gross - 41_544

    # Escalation values it likewise, and the API reports what was received.
    assert payments.debt_valuation(debt, tenant, later).total == gross - 41_544  # type: ignore[union-attr]
    out = debt_out(debt)
    assert (out.paid, out.to_refund) == (41_544, 0)


async def test_money_beyond_what_is_owed_is_held_to_refund_and_a_refund_reopens(
    client, db, settings, world
):
    tenant_id = world.a.id
    cpf_hash, debt_id, agreement_id = await _debt_in_agreement(db, settings, tenant_id)
    ids = [await _payment(db, tenant_id, agreement_id, n) for n in (1, 2)]
    assert await _event(db, "payment_intent.succeeded", ids[0], DUES[0]) == "succeeded"
    broken_on = DUES[1] + timedelta(days=6)
    assert await payments.advance_agreements(db, broken_on, tenant_id=tenant_id) == 1
    # Seven more payments of R$ 138,48 after the break, from Pix codes issued before it:
    # R$ 1.107,84 in all, more than the R$ 811,18 and its charges.
    async with db.session(Scope.tenant(tenant_id)) as session:
        tenant = await session.get_one(Tenant, tenant_id)
    later = broken_on + timedelta(days=1)
    extra = [await _payment(db, tenant_id, agreement_id, 2) for _ in range(7)]
    for provider_id in extra:
        assert await _event(db, "payment_intent.succeeded", provider_id, later) == "succeeded"
    debt = await _debt(db, tenant_id, debt_id)
    received = 8 * INSTALLMENT
    assert debt.paid == received
    assert debt.status == DebtStatus.PAID
    assert debt.to_refund == received - _gross(tenant, later) > 0
    assert debt_out(debt).to_refund == debt.to_refund
    # The creditor sees it to refund, on the debt and on the debtor's page.
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    page = await client.get(f"/portal/debts/{debt_id}")
    assert "A devolver" in page.text and brl(debt.to_refund) in page.text
    page = await client.get(f"/portal/debtors/{debt.debtor_id}")
    assert "a devolver" in page.text
    creditor = next(iter(await debts_of_person(db, cpf_hash, later, tenants=[tenant_id])))
    assert creditor.offers == []  # nothing left to offer
    # Refunding the excess and more: the debt owes again exactly the difference.
    for provider_id in extra[:5]:
        assert await _event(db, "charge.refunded", provider_id, later, INSTALLMENT) == "refunded"
    debt = await _debt(db, tenant_id, debt_id)
    assert debt.paid == 3 * INSTALLMENT
    assert debt.status == DebtStatus.OPEN
    assert debt.to_refund == 0
    valuation = payments.debt_valuation(debt, tenant, later)
    assert valuation is not None
    assert valuation.total == _gross(tenant, later) - 3 * INSTALLMENT


async def test_a_partial_refund_reopens_only_its_amount_and_the_dashboard_counts_the_rest(
    db, settings, world
):
    tenant_id = world.a.id
    _cpf_hash, _debt_id, agreement_id = await _debt_in_agreement(db, settings, tenant_id)
    provider_id = await _payment(db, tenant_id, agreement_id, 1)
    assert await _event(db, "payment_intent.succeeded", provider_id, DUES[0]) == "succeeded"

    # R$ 50,00 refunded, then R$ 30,00 more: the gateway reports the running total.
    assert await _event(db, "charge.refunded", provider_id, DUES[0], 5_000) == "partially_refunded"
    assert await _event(db, "charge.refunded", provider_id, DUES[0], 8_000) == "partially_refunded"
    assert await _event(db, "charge.refunded", provider_id, DUES[0], 8_000) == "stale"
    async with db.session(Scope.tenant(tenant_id)) as session:
        agreement = await session.scalar(
            select(Agreement)
            .where(Agreement.id == agreement_id)
            .execution_options(populate_existing=True)
        )
        assert agreement is not None
        await session.refresh(agreement, ["installments"])
        payment = await session.scalar(select(Payment).where(Payment.provider_id == provider_id))
        assert payment is not None
        assert payment.status == PaymentStatus.SUCCEEDED
        assert payment.refunded == 8_000
        paid = {i.number: i.paid for i in agreement.installments}
        assert paid[1] == INSTALLMENT - 8_000  # exactly the refunded part is open again
        assert agreement.status == "awaiting_first_payment"
        # The dashboard counts the payment for what it kept, not its whole amount (the
        # world's tenant is new: this is its only payment).
        month = reports.Month.of(DUES[0])
        (row,) = await reports.recovery(session, reports.ReportFilter(month, month))
        assert row.recovered == INSTALLMENT - 8_000

    # The rest of the payment refunded: it no longer counts at all.
    assert await _event(db, "charge.refunded", provider_id, DUES[0], INSTALLMENT) == "refunded"
    async with db.session(Scope.tenant(tenant_id)) as session:
        payment = await session.scalar(select(Payment).where(Payment.provider_id == provider_id))
        assert payment is not None and payment.status == PaymentStatus.REFUNDED
        (row,) = await reports.recovery(session, reports.ReportFilter(month, month))
        assert row.recovered == 0
