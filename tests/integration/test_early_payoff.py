"""Early payoff (issue 16 item 3, CDC art. 52 §2): from the agreement page the person pays
all that remains at present value by Pix, boleto or card; the provider's confirmation
settles the agreement and closes the remaining installments (once, however often it
arrives); a refund gives the discount back; the API and the portal show the amount."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from collection.domain.price import early_payoff
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Debt,
    DebtStatus,
    Payment,
    PaymentPurpose,
)
from core.clock import local_today
from core.db import Scope
from integrations.local_payments import SIGNATURE_HEADER
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration import test_local_payments, test_payments
from tests.integration.test_api import bearer, make_client, token_for
from tests.integration.test_local_payments import _apply_received, _simulate
from tests.integration.test_payments import _agreement, _applied, event, signed

# The fixtures of those modules, shared here.
local = test_local_payments.local
localstripe = test_payments.localstripe
with_gateway = test_payments.with_gateway
shaped = test_payments.shaped


def _brl_cents(text: str) -> int:
    return int(re.sub(r"\D", "", text))


async def _rows(db: Any, tenant_id: Any) -> tuple[Agreement, list[AgreementInstallment]]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        agreement = await session.scalar(select(Agreement).order_by(Agreement.created_at.desc()))
        assert agreement is not None
        items = list(
            await session.scalars(
                select(AgreementInstallment)
                .where(AgreementInstallment.agreement_id == agreement.id)
                .order_by(AgreementInstallment.number)
            )
        )
        return agreement, items


async def _expected_payoff(db: Any, client: Any, tenant_id: Any) -> tuple[int, int]:
    """The payoff recomputed here from the stored schedule, and what remains."""
    agreement, items = await _rows(db, tenant_id)
    today = local_today(client.app.state.clock)
    open_items = [(i.amount - i.paid, i.due_date) for i in items if i.amount > i.paid]
    remaining = sum(amount for amount, _due in open_items)
    return early_payoff(open_items, Decimal(agreement.monthly_rate), today), remaining


async def _pay_off_by_pix(client: Any, url: str) -> str:
    page = await client.get(url)
    form = re.search(
        r'name="purpose" value="payoff">\s*<input type="hidden" name="key" value="([0-9a-f]+)"',
        page.text,
    )
    assert form, page.text[-3000:]
    answer = await client.post(
        f"{url}/pagamentos",
        data={
            "method": "pix",
            "purpose": "payoff",
            "key": form.group(1),
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert answer.status_code in (302, 303), answer.text[-800:]
    return str(answer.headers["location"])


async def test_the_agreement_page_offers_the_payoff_at_present_value(client, world, db, local):
    url = await _agreement(client, world)
    expected, remaining = await _expected_payoff(db, client, world.a.id)
    assert 0 < expected < remaining  # the plan charges interest: paying early costs less
    page = await client.get(url)
    assert "Quitar o acordo inteiro" in page.text
    shown = re.search(r'<strong id="payoff-amount">([^<]+)</strong>', page.text)
    assert shown and _brl_cents(shown.group(1)) == expected
    assert page.text.index("Quitar com Pix") < page.text.index("Quitar com boleto")
    # The boleto and card pages charge the same payoff, marked as such.
    boleto_page = await client.get(f"{url}/pagar/boleto?quitar=1")
    assert 'name="purpose" value="payoff"' in boleto_page.text
    assert "Quitação antecipada" in boleto_page.text
    card_page = await client.get(f"{url}/pagar/cartao?quitar=1")
    assert 'name="purpose" value="payoff"' in card_page.text


async def test_a_pix_payoff_confirmed_by_webhook_settles_the_agreement_once(
    client, world, db, local
):
    url = await _agreement(client, world)
    expected, remaining = await _expected_payoff(db, client, world.a.id)
    payment_url = await _pay_off_by_pix(client, url)
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
        assert payment is not None
    assert payment.purpose is PaymentPurpose.PAYOFF and payment.amount == expected
    page = await client.get(payment_url)
    assert "Quitação antecipada" in page.text
    agreement, _items = await _rows(db, world.a.id)
    assert agreement.status != "paid"  # nothing settles before the provider confirms

    assert (await _simulate(client, payment_url)).status_code in (302, 303)
    assert await _apply_received(db, world.a.id) == ["succeeded"]
    agreement, items = await _rows(db, world.a.id)
    assert agreement.status == "paid"
    assert all(i.paid + i.waived == i.amount for i in items)  # every installment closed
    assert sum(i.paid for i in items) == expected  # exactly what was paid
    assert sum(i.waived for i in items) == remaining - expected  # the interest given up
    async with db.session(Scope.tenant(world.a.id)) as session:
        statuses = set(
            await session.scalars(
                select(Debt.status)
                .join(AgreementDebt, AgreementDebt.debt_id == Debt.id)
                .where(AgreementDebt.agreement_id == agreement.id)
            )
        )
    assert statuses == {DebtStatus.PAID}
    # The same webhook again, and the button again: still one payment.
    body, signature = local.sent[0]
    replay = await client.post(
        "/webhooks/local",
        content=body,
        headers={SIGNATURE_HEADER: signature, "content-type": "application/json"},
    )
    assert replay.json()["status"] == "duplicate"
    await _simulate(client, payment_url, button=False)
    assert await _apply_received(db, world.a.id) == []
    _agreement_row, again = await _rows(db, world.a.id)
    assert [(i.paid, i.waived) for i in again] == [(i.paid, i.waived) for i in items]
    # Nothing left to pay: the page no longer offers a payment or a payoff.
    page = await client.get(url)
    assert "Quitar o acordo inteiro" not in page.text and "Pagar com Pix" not in page.text


async def test_a_refunded_payoff_gives_the_discount_back_and_reopens_the_schedule(
    client, world, db, shaped
):
    url = await _agreement(client, world)
    _expected, remaining = await _expected_payoff(db, client, world.a.id)
    await _pay_off_by_pix(client, url)
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
        assert payment is not None and payment.purpose is PaymentPurpose.PAYOFF
    intent = {"id": payment.provider_id, "object": "payment_intent", "status": "succeeded"}
    account = world.a.tenant.stripe_account
    paid = event("payment_intent.succeeded", intent, account=account)
    assert await _applied(client, db, *signed(paid)) == "succeeded"
    agreement, _items = await _rows(db, world.a.id)
    assert agreement.status == "paid"
    charge = {"id": "ch_p", "object": "charge", "payment_intent": payment.provider_id}
    refund = event(
        "charge.refunded", {**charge, "amount_refunded": payment.amount}, account=account
    )
    assert await _applied(client, db, *signed(refund)) == "refunded"
    agreement, items = await _rows(db, world.a.id)
    assert agreement.status == "awaiting_first_payment"
    assert [(i.paid, i.waived) for i in items] == [(0, 0)] * len(items)
    assert sum(i.amount for i in items) == remaining


async def test_the_api_and_the_portal_show_the_payoff_amount(client, world, db, local):
    url = await _agreement(client, world)
    expected, _remaining = await _expected_payoff(db, client, world.a.id)
    agreement, _items = await _rows(db, world.a.id)
    new = await make_client(db, world.a.id, "agreements:read")
    token = await token_for(client, new)
    shown = await client.get(f"/api/v1/agreements/{agreement.id}", headers=bearer(token))
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["payoff_amount"] == expected
    assert body["payoff_on"] == local_today(client.app.state.clock).isoformat()
    listed = await client.get("/api/v1/agreements", headers=bearer(token))
    assert any(a["payoff_amount"] == expected for a in listed.json()["items"])

    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    account = await client.get(f"/portal/debtors/{agreement.debtor_id}")
    assert account.status_code == 200
    assert "Quitação antecipada hoje" in account.text
    line = re.search(r"Quitação antecipada hoje[^:]*: <strong>([^<]+)</strong>", account.text)
    assert line and _brl_cents(line.group(1)) == expected
    client.cookies.clear()

    # Settled: the API says there is nothing to pay off.
    payment_url = await _pay_off_after_login_reset(client, world, url)
    await _simulate(client, payment_url)
    await _apply_received(db, world.a.id)
    closed = await client.get(f"/api/v1/agreements/{agreement.id}", headers=bearer(token))
    assert closed.json()["payoff_amount"] is None and closed.json()["status"] == "paid"
    assert all(i["paid"] + i["waived"] == i["amount"] for i in closed.json()["installments"])


async def _pay_off_after_login_reset(client: Any, world: Any, url: str) -> str:
    from tests.integration.test_debtor_agreements import _verified

    await _verified(client, world)
    return await _pay_off_by_pix(client, url)


async def test_a_card_payoff_through_the_gateway_settles_the_agreement(
    client, world, db, with_gateway, localstripe
):
    from tests.integration.test_payments import Capture, _card, _deliver, captured_for

    url = await _agreement(client, world)
    expected, _remaining = await _expected_payoff(db, client, world.a.id)
    card_page = await client.get(f"{url}/pagar/cartao?quitar=1")
    key = re.search(r'name="key" value="([0-9a-f]+)"', card_page.text)
    assert key and 'name="purpose" value="payoff"' in card_page.text
    Capture.received.clear()
    Capture.arrived.clear()
    answer = await client.post(
        f"{url}/pagamentos",
        data={
            "method": "card",
            "purpose": "payoff",
            "key": key.group(1),
            "payment_method": _card(localstripe, "4242424242424242").id,
            "_csrf_token": csrf_from(card_page.text),
        },
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
        assert payment is not None
    assert payment.purpose is PaymentPurpose.PAYOFF and payment.amount == expected
    body, signature = await captured_for(db, world.a.id)
    assert (await _deliver(client, body, signature)).json()["status"] == "received"
    assert await _apply_received(db, world.a.id) == ["succeeded"]
    assert (await _deliver(client, body, signature)).json()["status"] == "duplicate"
    agreement, items = await _rows(db, world.a.id)
    assert agreement.status == "paid" and sum(i.paid for i in items) == expected
    assert all(i.paid + i.waived == i.amount for i in items)
