"""Special offers: proposed by agency staff beyond the policy, approved or rejected by the
creditor, and only once approved seen and accepted by the person on the debtor site."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update

from collection.models import (
    Agreement,
    Debt,
    DebtStatus,
    SpecialOffer,
    SpecialOfferStatus,
)
from core.clock import ShiftedClock, SystemClock, local_today
from core.db import Database, Scope
from tenants.models import AuditEvent
from tenants.roles import Role
from tenants.services.directory import add_agency_member, create_agency, ensure_user
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, hand_over, valid_cnpj
from tests.integration.test_debtor_agreements import _verified
from tests.integration.test_debtor_lookup import _start, _verify

HX = {"HX-Request": "true"}
BASE = "/portal/ofertas-especiais"


def _today() -> date:
    return local_today(SystemClock())


def _terms(world, **changes: str) -> dict[str, str]:
    terms = {
        "debt": str(world.a.debt_ids[0]),
        "discount": "40",
        "payments": "3",
        "monthly_rate": "1",
        "down_payment": "",
        "valid_until": (_today() + timedelta(days=7)).isoformat(),
        "justification": "Desempregado desde março; pagaria em três vezes.",
    }
    terms.update(changes)
    return terms


async def _propose(client, world, db: Database, **changes: str) -> uuid.UUID:
    """An agent of the world's agency proposes an offer for creditor A's first debtor."""
    handover_id = await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    client.cookies.clear()
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    page = await client.get(f"{BASE}/propor/{handover_id}")
    assert page.status_code == 200, page.text[:500]
    assert world.a.contracts[0] in page.text
    sent = await client.post(
        f"{BASE}/propor/{handover_id}",
        data={**_terms(world, **changes), "action": "send", "_csrf_token": csrf_from(page.text)},
    )
    assert sent.status_code == 303, sent.text[:2000]
    assert sent.headers["location"] == f"{BASE}/propor/{handover_id}?enviada=1"
    async with db.session(Scope.tenant(world.a.id)) as session:
        offer_id: uuid.UUID = (await session.scalars(select(SpecialOffer.id))).one()
    return offer_id


async def _decide(client, world, offer_id: uuid.UUID, verb: str, reason: str, **kwargs):
    client.cookies.clear()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get(BASE)
    assert page.status_code == 200
    return await client.post(
        f"{BASE}/{offer_id}/{verb}",
        data={"reason": reason, "_csrf_token": csrf_from(page.text)},
        **kwargs,
    )


async def _offer(db: Database, world, offer_id: uuid.UUID) -> SpecialOffer:
    async with db.session(Scope.tenant(world.a.id)) as session:
        return await session.get_one(SpecialOffer, offer_id)


async def _actions(db: Database, tenant_id: uuid.UUID) -> set[str]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        return set((await session.scalars(select(AuditEvent.action))).all())


def _key_of(html: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f]+)"', html)
    assert found, html[-1500:]
    return found.group(1)


async def test_an_approved_special_offer_reaches_the_debtor_and_becomes_exactly_one_agreement(
    client, other_client, world, db
):
    offer_id = await _propose(client, world, db)
    proposed = await _offer(db, world, offer_id)
    assert proposed.status is SpecialOfferStatus.PENDING
    assert proposed.installments == 3 and proposed.discount_rate == "0.4"
    assert proposed.terms["total"] > proposed.terms["balance"] * 0.6  # interest on top
    # While pending, the person does not see it (and the debts page is cached meanwhile).
    person = other_client
    before = await _verified(person, world)
    assert f"/ofertas-especiais/{offer_id}" not in before
    assert (await person.get(f"/ofertas-especiais/{offer_id}")).status_code == 404
    # The creditor sees it, with the justification, and approves it.
    approved = await _decide(client, world, offer_id, "aprovar", "")
    assert approved.status_code == 303
    assert (await _offer(db, world, offer_id)).status is SpecialOfferStatus.APPROVED
    listed = await client.get(BASE)
    assert "Desempregado desde março" in listed.text
    # Now it is on the debts page (a new version of the page) and may be accepted.
    after = (await person.get("/minhas-dividas")).text
    assert f'href="/ofertas-especiais/{offer_id}"' in after
    page = await person.get(f"/ofertas-especiais/{offer_id}")
    assert page.status_code == 200
    assert "Custo efetivo total" in page.text  # the CET is stated
    total = proposed.terms["total"]
    assert f"{total // 100:,}".replace(",", ".") + f",{total % 100:02d}" in page.text
    data = {"key": _key_of(page.text), "_csrf_token": csrf_from(page.text)}
    first = await person.post(f"/ofertas-especiais/{offer_id}/aceitar", data=data)
    second = await person.post(f"/ofertas-especiais/{offer_id}/aceitar", data=data)  # twice
    assert first.status_code in (302, 303) and second.status_code in (302, 303)
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith("/acordos/")
    assert (await person.get(first.headers["location"])).status_code == 200
    async with db.session(Scope.tenant(world.a.id)) as session:
        agreements = (await session.scalars(select(Agreement))).all()
        assert len(agreements) == 1
        agreement = agreements[0]
        assert first.headers["location"] == f"/acordos/{agreement.id}"
        assert agreement.total == total and agreement.offer_code == "special-installments-3"
        offer = await session.get_one(SpecialOffer, offer_id)
        assert offer.status is SpecialOfferStatus.ACCEPTED and offer.agreement_id == agreement.id
        debt = await session.get_one(Debt, world.a.debt_ids[0])
        assert debt.status == DebtStatus.IN_AGREEMENT
    assert {
        "special_offer.proposed",
        "special_offer.approved",
        "agreement.created",
    } <= await _actions(db, world.a.id)
    # The accepted offer is gone from the debts page; opening it leads to the agreement.
    final = (await person.get("/minhas-dividas")).text
    assert f'href="/ofertas-especiais/{offer_id}"' not in final
    again = await person.get(f"/ofertas-especiais/{offer_id}")
    assert (
        again.status_code in (302, 303) and again.headers["location"] == f"/acordos/{agreement.id}"
    )


async def test_a_rejection_needs_a_reason_and_never_reaches_the_debtor(
    client, other_client, world, db
):
    offer_id = await _propose(client, world, db)
    empty = await _decide(client, world, offer_id, "recusar", "  ")
    assert empty.status_code == 400 and 'class="alert error"' in empty.text
    assert (await _offer(db, world, offer_id)).status is SpecialOfferStatus.PENDING
    page = await client.get(BASE)
    rejected = await client.post(
        f"{BASE}/{offer_id}/recusar",
        data={"reason": "Desconto acima do que aceitamos.", "_csrf_token": csrf_from(page.text)},
        headers=HX,
    )
    assert rejected.status_code == 200
    assert rejected.text.lstrip().startswith(f'<section class="card" id="offer-{offer_id}"')
    assert "Desconto acima do que aceitamos." in rejected.text
    offer = await _offer(db, world, offer_id)
    assert offer.status is SpecialOfferStatus.REJECTED
    assert offer.decision_reason == "Desconto acima do que aceitamos."
    assert "special_offer.rejected" in await _actions(db, world.a.id)
    person = other_client
    debts = await _verified(person, world)
    assert f"/ofertas-especiais/{offer_id}" not in debts
    assert (await person.get(f"/ofertas-especiais/{offer_id}")).status_code == 404
    refused = await person.post(
        f"/ofertas-especiais/{offer_id}/aceitar",
        data={"key": "k" * 32, "_csrf_token": csrf_from(debts)},
    )
    assert refused.status_code == 409 and 'class="alert error"' in refused.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(Agreement)) == 0


async def test_approving_an_offer_whose_validity_passed_is_refused_with_the_reason(
    client, world, db, app, monkeypatch
):
    offer_id = await _propose(client, world, db, valid_until=(_today() + timedelta(2)).isoformat())
    monkeypatch.setattr(app.state, "clock", ShiftedClock(datetime.now(UTC) + timedelta(days=5)))
    response = await _decide(client, world, offer_id, "aprovar", "")
    assert response.status_code == 400
    offer = await _offer(db, world, offer_id)
    assert offer.status is SpecialOfferStatus.EXPIRED
    assert offer.valid_until.strftime("%d/%m/%Y") in offer.decision_reason
    assert offer.decision_reason in response.text  # the reason, shown to the approver
    assert "special_offer.expired" in await _actions(db, world.a.id)
    # It was decided: a second attempt is refused too, and nothing reaches the person.
    again = await _decide(client, world, offer_id, "aprovar", "", headers=HX)
    assert again.status_code == 200 and 'class="alert error"' in again.text
    assert (await _offer(db, world, offer_id)).status is SpecialOfferStatus.EXPIRED


async def test_approving_an_offer_whose_debts_changed_is_refused(client, world, db):
    offer_id = await _propose(client, world, db)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(
            update(Debt).where(Debt.id == world.a.debt_ids[0]).values(status=DebtStatus.REGULARIZED)
        )
        await session.commit()
    response = await _decide(client, world, offer_id, "aprovar", "")
    assert response.status_code == 400
    offer = await _offer(db, world, offer_id)
    assert offer.status is SpecialOfferStatus.EXPIRED and offer.decision_reason


async def test_terms_beyond_the_law_or_the_policys_rate_are_refused_with_the_field_named(
    client, world, db
):
    handover_id = await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    page = await client.get(f"{BASE}/propor/{handover_id}")
    token = csrf_from(page.text)
    cases = {
        "discount": {"discount": "100"},  # nothing left to pay
        "monthly_rate": {"monthly_rate": "3"},  # above the policy's 1,99% a month
        "valid_until": {"valid_until": _today().isoformat()},  # less than two days
        "justification": {"justification": " "},
    }
    for field, change in cases.items():
        data = {**_terms(world, **change), "action": "send", "_csrf_token": token}
        sent = await client.post(f"{BASE}/propor/{handover_id}", data=data)
        assert sent.status_code == 400, field
        assert f'id="e-{field}"' in sent.text, field
    # The live preview answers the terms (or what is wrong with them) for htmx.
    preview = await client.post(
        f"{BASE}/propor/{handover_id}/previa",
        data={**_terms(world, payments="2"), "_csrf_token": token},
        headers=HX,
    )
    assert preview.status_code == 200 and "<table>" in preview.text
    assert "<html" not in preview.text
    wrong = await client.post(
        f"{BASE}/propor/{handover_id}/previa",
        data={**_terms(world, discount="abc"), "_csrf_token": token},
        headers=HX,
    )
    assert wrong.status_code == 200 and 'class="alert error"' in wrong.text
    plain = await client.post(
        f"{BASE}/propor/{handover_id}",
        data={**_terms(world), "action": "preview", "_csrf_token": token},
    )
    assert plain.status_code == 200 and 'id="offer-preview"' in plain.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(SpecialOffer)) == 0


async def test_an_agent_of_an_agency_without_a_grant_gets_not_found(client, world, db):
    handover_id = await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    suffix = uuid.uuid4().hex[:8]
    email = f"agent-nogrant-{suffix}@example.test"
    async with db.session(Scope.system()) as session:
        agency = await create_agency(
            session,
            slug=f"ng-{suffix}",
            name=f"Sem Acesso {suffix}",
            cnpj=valid_cnpj(random.Random()),
        )
        await session.flush()
        user = await ensure_user(session, email=email, name="Agente sem acesso", password=PASSWORD)
        await session.flush()
        add_agency_member(session, agency, user, Role.AGENT)
        await session.commit()
        agency_id = agency.id
    # Tenant B's account placed with that agency: B never granted it access.
    own = await hand_over(db, world.b.id, world.b.debtor_ids[0], agency_id)
    await login(client, email, PASSWORD)
    assert (await client.get(f"{BASE}/propor/{handover_id}")).status_code == 404
    assert (await client.get(f"{BASE}/propor/{own}")).status_code == 404
    home = await client.get("/portal/security")
    posted = await client.post(
        f"{BASE}/propor/{own}", data={**_terms(world), "_csrf_token": csrf_from(home.text)}
    )
    assert posted.status_code == 404
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert await session.scalar(select(func.count()).select_from(SpecialOffer)) == 0


async def test_a_viewer_cannot_approve_and_a_creditor_user_cannot_propose(client, world, db):
    offer_id = await _propose(client, world, db)
    client.cookies.clear()
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    assert (await client.get(BASE)).status_code == 403
    home = await client.get("/portal/security")
    response = await client.post(
        f"{BASE}/{offer_id}/aprovar", data={"reason": "", "_csrf_token": csrf_from(home.text)}
    )
    assert response.status_code == 403
    assert (await _offer(db, world, offer_id)).status is SpecialOfferStatus.PENDING
    # An owner approves offers but is no agency staff: the proposal page is not theirs.
    client.cookies.clear()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    handover_id = (await _offer(db, world, offer_id)).handover_id
    assert (await client.get(f"{BASE}/propor/{handover_id}")).status_code == 403


async def test_another_person_cannot_see_or_accept_an_approved_offer(
    client, other_client, world, db
):
    offer_id = await _propose(client, world, db)
    assert (await _decide(client, world, offer_id, "aprovar", "Ok.")).status_code == 303
    person = other_client
    await _start(person, world.a.cpfs[1])
    await _verify(person, "02/01/1980")
    debts = await person.get("/minhas-dividas")
    assert debts.status_code == 200 and f"/ofertas-especiais/{offer_id}" not in debts.text
    assert (await person.get(f"/ofertas-especiais/{offer_id}")).status_code == 404
    accepted = await person.post(
        f"/ofertas-especiais/{offer_id}/aceitar",
        data={"key": "k" * 32, "_csrf_token": csrf_from(debts.text)},
    )
    assert accepted.status_code == 404
    assert (await _offer(db, world, offer_id)).status is SpecialOfferStatus.APPROVED
    person.cookies.clear()  # and without a verified session at all: back to look-up
    assert (await person.get(f"/ofertas-especiais/{offer_id}")).status_code in (302, 303)


async def test_another_tenant_cannot_see_or_approve_the_offer(client, world, db):
    offer_id = await _propose(client, world, db)
    client.cookies.clear()
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    page = await client.get(BASE)
    assert page.status_code == 200 and str(offer_id) not in page.text
    for verb in ("aprovar", "recusar"):
        response = await client.post(
            f"{BASE}/{offer_id}/{verb}", data={"reason": "x", "_csrf_token": csrf_from(page.text)}
        )
        assert response.status_code == 404
    assert (await _offer(db, world, offer_id)).status is SpecialOfferStatus.PENDING


async def test_an_approved_offer_past_its_validity_cannot_be_accepted_and_says_why(
    client, other_client, world, db
):
    offer_id = await _propose(client, world, db)
    assert (await _decide(client, world, offer_id, "aprovar", "")).status_code == 303
    person = other_client
    await _verified(person, world)
    offer_page = await person.get(f"/ofertas-especiais/{offer_id}")
    assert offer_page.status_code == 200
    # Its last day passes before the person accepts.
    yesterday = _today() - timedelta(days=1)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(
            update(SpecialOffer).where(SpecialOffer.id == offer_id).values(valid_until=yesterday)
        )
        await session.commit()
    assert f"/ofertas-especiais/{offer_id}" not in (await person.get("/minhas-dividas")).text
    shown = await person.get(f"/ofertas-especiais/{offer_id}")
    assert shown.status_code == 409 and yesterday.strftime("%d/%m/%Y") in shown.text
    data = {"key": _key_of(offer_page.text), "_csrf_token": csrf_from(offer_page.text)}
    refused = await person.post(f"/ofertas-especiais/{offer_id}/aceitar", data=data)
    assert refused.status_code == 409 and yesterday.strftime("%d/%m/%Y") in refused.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(Agreement)) == 0
