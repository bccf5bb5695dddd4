"""Accepting an offer on the debtor site: exactly once, only as disclosed, and private."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from collection.models import Agreement, AgreementInstallment, Debt, DebtStatus
from core.db import Scope
from tenants.models import AuditEvent
from tests.conftest import csrf_from
from tests.integration.test_debtor_lookup import _start, _verify


async def _verified(client, world) -> str:
    await _start(client, world.shared_cpf)
    await _verify(client, "01/01/1980")
    page = await client.get("/minhas-dividas")
    assert page.status_code == 200
    return page.text


def _offer_links(html: str, tenant_id: uuid.UUID) -> list[str]:
    return re.findall(rf'href="(/ofertas/{tenant_id}/[^"]+)"', html)


def _form(html: str) -> dict[str, str]:
    fields = dict(re.findall(r'name="(key|total|valid_until|_csrf_token)" value="([^"]*)"', html))
    action = re.search(r'action="(/ofertas/[^"]+/aceitar)"', html)
    assert action, html[-2000:]
    fields["_action"] = action.group(1)
    return fields


async def test_accepting_an_offer_creates_one_agreement_with_its_schedule(client, world, db):
    debts_page = await _verified(client, world)
    links = _offer_links(debts_page, world.a.id)
    installments = [link for link in links if not link.endswith("/cash")]
    assert links and installments
    offer_page = await client.get(installments[0])
    assert offer_page.status_code == 200
    assert "Custo efetivo total" in offer_page.text and "Aceito este acordo" in offer_page.text
    form = _form(offer_page.text)
    action = form.pop("_action")
    data = {**form, "reason": "unemployment", "reason_text": "Perdi o emprego em março."}
    first = await client.post(action, data=data)
    second = await client.post(action, data=data)  # double click / retried request
    assert first.status_code in (302, 303) and second.status_code in (302, 303)
    assert first.headers["location"] == second.headers["location"]
    agreement_page = await client.get(first.headers["location"])
    assert agreement_page.status_code == 200
    assert world.a.tenant.name in agreement_page.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        agreements = (await session.scalars(select(Agreement))).all()
        assert len(agreements) == 1
        agreement = agreements[0]
        paid_total = await session.scalar(
            select(func.sum(AgreementInstallment.amount)).where(
                AgreementInstallment.agreement_id == agreement.id
            )
        )
        assert paid_total == agreement.total
        assert agreement.reason == "unemployment" and "emprego" in agreement.reason_text
        debt = await session.get_one(Debt, world.a.debt_ids[0])
        assert debt.status == DebtStatus.IN_AGREEMENT
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "agreement.created")
        )
        assert event is not None and event.tenant_id == world.a.id
    # The creditor sees the agreement and why the person fell behind.
    from tenants.roles import Role
    from tests.conftest import login
    from tests.factories import PASSWORD

    debtor_cookie = client.cookies.get("quita_debtor")
    client.cookies.clear()
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    portal = await client.get(f"/portal/debtors/{world.a.debtor_ids[0]}")
    assert "desemprego" in portal.text and "Perdi o emprego em março." in portal.text
    client.cookies.clear()
    client.cookies.set("quita_debtor", debtor_cookie or "", domain="testserver.local", path="/")
    # The debts page now shows the agreement and no more offers from that creditor.
    after = (await client.get("/minhas-dividas")).text
    assert f"/acordos/{agreement.id}" in after
    assert not _offer_links(after, world.a.id)
    assert _offer_links(after, world.b.id)


async def test_an_expired_offer_cannot_be_accepted(client, world, db):
    debts_page = await _verified(client, world)
    offer_page = await client.get(_offer_links(debts_page, world.b.id)[0])
    form = _form(offer_page.text)
    action = form.pop("_action")
    form["valid_until"] = (date.today() - timedelta(days=3)).isoformat()
    response = await client.post(action, data=form)
    assert response.status_code == 409
    assert "venceu em" in response.text
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert await session.scalar(select(func.count()).select_from(Agreement)) == 0


async def test_an_offer_the_policy_no_longer_gives_cannot_be_accepted(client, world, db):
    debts_page = await _verified(client, world)
    offer_page = await client.get(_offer_links(debts_page, world.b.id)[0])
    form = _form(offer_page.text)
    action = form.pop("_action")
    form["total"] = str(int(form["total"]) - 5000)  # what the page showed is not today's offer
    response = await client.post(action, data=form)
    assert response.status_code == 409
    assert "condições do credor mudaram" in response.text


async def test_another_persons_or_a_made_up_agreement_is_not_found(client, world, db):
    debts_page = await _verified(client, world)
    offer_page = await client.get(_offer_links(debts_page, world.a.id)[0])
    form = _form(offer_page.text)
    action = form.pop("_action")
    agreement_url = (await client.post(action, data=form)).headers["location"]
    assert (await client.get(f"/acordos/{uuid.uuid4()}")).status_code == 404
    # Someone else, verified with their own CPF, cannot open it.
    await _start(client, world.a.cpfs[1])
    await _verify(client, "02/01/1980")
    assert (await client.get("/minhas-dividas")).status_code == 200
    assert (await client.get(agreement_url)).status_code == 404
    client.cookies.clear()
    assert (await client.get(agreement_url)).status_code in (302, 303)  # no session at all


async def test_offer_pages_need_a_verified_session(client, world):
    client.cookies.clear()
    response = await client.get(f"/ofertas/{world.a.id}/cash")
    assert response.status_code in (302, 303)
    home = await client.get("/")
    posted = await client.post(
        f"/ofertas/{world.a.id}/cash/aceitar",
        data={
            "_csrf_token": csrf_from(home.text),
            "key": "k" * 32,
            "total": "1",
            "valid_until": "2030-01-01",
        },
    )
    assert posted.status_code in (302, 303)


async def test_the_plan_that_fits_the_monthly_budget(client, world):
    await _verified(client, world)
    fits = await client.get("/plano", params={"credor": str(world.a.id), "valor": "300,00"})
    assert fits.status_code == 200
    assert "Este plano cabe" in fits.text
    amounts = [int(a.replace(".", "")) for a in re.findall(r"× de R\$\xa0([\d.]+),\d\d", fits.text)]
    assert amounts and amounts[0] <= 300
    assert f"/ofertas/{world.a.id}/" in fits.text


async def test_no_plan_leaves_less_than_the_minimo_existencial(client, world):
    await _verified(client, world)
    # Income R$ 700,00: any installment above R$ 100,00 would leave less than R$ 600,00.
    none = await client.get(
        "/plano", params={"credor": str(world.a.id), "valor": "300,00", "renda": "700,00"}
    )
    assert none.status_code == 200
    assert "Nenhum plano cabe" in none.text or all(
        int(a.replace(".", "")) <= 100 for a in re.findall(r"× de R\$\xa0([\d.]+),\d\d", none.text)
    )


async def test_a_budget_that_is_not_an_amount_gets_a_field_error(client, world):
    await _verified(client, world)
    bad = await client.get("/plano", params={"credor": str(world.a.id), "valor": "muito"})
    assert bad.status_code == 400 and "Digite um valor" in bad.text


async def test_the_terms_are_a_pdf_and_are_emailed_with_it(client, world, outbox):
    debts_page = await _verified(client, world)
    offer_page = await client.get(_offer_links(debts_page, world.b.id)[-1])
    form = _form(offer_page.text)
    action = form.pop("_action")
    agreement_url = (await client.post(action, data=form)).headers["location"]
    page = await client.get(agreement_url)
    assert f"{agreement_url}/termo.pdf" in page.text
    pdf = await client.get(f"{agreement_url}/termo.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    address = f"{world.b.debtor_names[0].lower()}@example.test"
    (message,) = await outbox.to(address)
    assert world.b.tenant.legal_name in message.subject
    assert message.attachment_name == "termo-de-acordo.pdf"
    assert message.attachment is not None and message.attachment.startswith(b"%PDF")
