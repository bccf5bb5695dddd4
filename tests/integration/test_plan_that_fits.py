"""The plan that fits agrees with the offers (one engine), and below the smallest
installment the person can send their own proposal to the creditor's queue (issue 25
item 6)."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from collection.models import Agreement, SpecialOffer, SpecialOfferStatus
from core.db import Scope
from tenants.models import AuditEvent, Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_agreements import _offer_links, _verified

# 24 payments, a small minimum installment: plans beyond 12× exist.
LONG_POLICY = """
version = 1
name = "Longa"
[charges]
late_fee_rate = "2%"
late_interest_monthly = "1%"
[[buckets]]
min_days = 0
cash_discount_charges = "50%"
max_installments = 24
monthly_rate = "1%"
min_installment = "R$ 20,00"
validity_days = 5
"""


async def _use_policy(db, tenant_id, text: str) -> None:
    async with db.session(Scope.system()) as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(policy_toml=text))
        await session.commit()


async def test_the_plan_that_fits_is_always_listed_among_the_offers(client, world, db):
    await _use_policy(db, world.a.id, LONG_POLICY)
    debts_page = await _verified(client, world)
    listed = {link.rsplit("/", 1)[1] for link in _offer_links(debts_page, world.a.id)}
    assert "installments-24" in listed and "down-payment+23" in listed
    # R$ 80,00 a month only fits a long plan (beyond the 12 rows the table used to show).
    fits = await client.get("/plano", params={"credor": str(world.a.id), "valor": "80,00"})
    assert fits.status_code == 200 and "Este plano cabe" in fits.text
    (code,) = re.findall(rf'href="/ofertas/{world.a.id}/([^"]+)"', fits.text)
    assert code in listed
    assert int(code.rsplit("-", 1)[-1].split("+")[-1]) > 12


async def test_below_the_smallest_installment_a_proposal_reaches_the_creditor(client, world, db):
    await _verified(client, world)
    fit = await client.get("/plano", params={"credor": str(world.a.id), "valor": "10,00"})
    assert fit.status_code == 200 and "Nenhum plano cabe" in fit.text
    assert 'action="/plano/proposta"' in fit.text
    assert "Isto é um pedido, não um acordo" in fit.text
    token = csrf_from(fit.text)
    form = {"_csrf_token": token, "credor": str(world.a.id), "valor_mensal": "10,00"}
    bad = await client.post("/plano/proposta", data={**form, "meses": "zero"})
    assert bad.status_code == 400 and 'id="e-meses"' in bad.text and "de 1 a 120" in bad.text
    posted = await client.post("/plano/proposta", data={**form, "meses": "20"})
    assert posted.status_code == 303, posted.text[-1500:]
    sent = await client.get(posted.headers["location"])  # reloading it sends nothing again
    assert sent.status_code == 200
    assert "Proposta enviada" in sent.text and "Isto é um pedido, não um acordo." in sent.text
    assert "R$\xa010,00 por mês em 20 meses" in sent.text
    again = await client.post("/plano/proposta", data={**form, "meses": "20"})
    assert again.status_code == 409 and "Aguarde a resposta" in again.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        (request,) = (await session.scalars(select(SpecialOffer))).all()
        assert request.status is SpecialOfferStatus.PENDING and request.proposed_by is None
        assert request.installments == 20 and request.terms["total"] <= 20 * 1000
        assert request.monthly_rate == "0"
        assert await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "special_offer.requested")
        )
        # A request is not an agreement.
        assert await session.scalar(select(func.count()).select_from(Agreement)) == 0
    client.cookies.clear()
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    queue = await client.get("/portal/ofertas-especiais")
    assert queue.status_code == 200
    assert "Proposta do devedor pelo site" in queue.text and f"/{request.id}/aprovar" in queue.text
    # Another person (or none) cannot read the confirmation.
    client.cookies.clear()
    assert (await client.get(posted.headers["location"])).status_code in (302, 303, 401, 403, 404)


async def test_a_proposal_needs_the_proof_and_a_known_creditor(client, world):
    anonymous = await client.post(
        "/plano/proposta", data={"credor": str(world.a.id), "valor_mensal": "10", "meses": "3"}
    )
    assert anonymous.status_code in (302, 303, 401, 403)
