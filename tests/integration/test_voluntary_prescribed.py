"""Voluntary payment of a prescribed debt from the debtor site (issue 16 item 9, issue 25
item 10): offered apart from the ordinary offers and only when the creditor's policy
allows it, accepted through the usual path, marked voluntary, and never chased: no
message, no escalation, no hand-over."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update

from collection.agency import handover
from collection.debtor.page import DEFAULT_POLICY
from collection.domain.escalation import Block
from collection.escalation import service as escalation
from collection.models import (
    Agreement,
    AgreementInstallment,
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    DebtStatus,
    Message,
    MessageStatus,
    Portfolio,
)
from collection.payments import service as payments
from collection.regua import service as reminders
from core.db import Database, Scope
from core.security import keyed_hash
from tenants.models import AuditEvent, Tenant
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD, valid_cpf
from tests.integration.test_debtor_agreements import _form
from tests.integration.test_debtor_lookup import _start, _verify
from tests.integration.test_escalation import _post
from tests.integration.test_handover import NOW, _placed, _rule
from tests.integration.test_reminders import KEY, Recorder, _claim_only

BIRTH = "07/07/1970"
OLD = date(2019, 1, 10)  # more than five years before any day these tests run


async def _set_policy(db: Database, tenant_id: uuid.UUID, *, allow: bool) -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "allow_voluntary_prescribed = false", f"allow_voluntary_prescribed = {str(allow).lower()}"
    )
    assert f"allow_voluntary_prescribed = {str(allow).lower()}" in text
    async with db.session(Scope.system()) as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(policy_toml=text))
        await session.commit()


async def _prescribed_person(db: Database, settings: Any, tenant_id: uuid.UUID) -> tuple[str, Any]:
    """A person at ``tenant_id`` whose only debt is prescribed, with an e-mail on file."""
    cpf = valid_cpf(random.Random())
    async with db.session(Scope.tenant(tenant_id)) as session:
        portfolio = await session.scalar(select(Portfolio))
        assert portfolio is not None
        person = Debtor(
            id=uuid.uuid4(),
            cpf=cpf,
            name="Pessoa Antiga",
            cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
            birth_date=date(1970, 7, 7),
            address="Rua das Flores, 10",
            zip_code="01310100",
        )
        session.add(person)
        session.add(Contact(debtor=person, kind=ContactKind.EMAIL, value="antiga@example.test"))
        debt = Debt(
            id=uuid.uuid4(),
            portfolio_id=portfolio.id,
            debtor=person,
            contract="OLD-1",
            original_amount=150_000,
            due_date=OLD,
            items=[DebtItem(number=1, due_date=OLD, amount=150_000)],
        )
        session.add(debt)
        await session.commit()
        return cpf, debt.id


def _links(html: str, tenant_id: uuid.UUID) -> list[str]:
    return re.findall(rf'href="(/ofertas/{tenant_id}/[^"]+)"', html)


async def _agreement_messages(db: Database, agreement_id: uuid.UUID) -> list[Message]:
    async with db.session(Scope.system()) as session:
        return list(
            await session.scalars(select(Message).where(Message.agreement_id == agreement_id))
        )


async def test_the_person_pays_a_prescribed_debt_voluntarily_and_it_is_never_chased(
    client: Any, world: Any, db: Database, settings: Any
) -> None:
    a = world.a
    await _set_policy(db, a.id, allow=True)
    cpf, debt_id = await _prescribed_person(db, settings, a.id)
    await _start(client, cpf)
    await _verify(client, BIRTH)
    page = (await client.get("/minhas-dividas")).text
    assert "OLD-1" in page and "Pagamento voluntário de dívida prescrita" in page
    assert "não pode mais ser cobrada" in page and "não traz nenhuma consequência" in page
    assert "sem negativação" in page and "art. 882" in page
    assert "Formas de quitar" not in page  # not among the ordinary offers
    links = _links(page, a.id)
    assert links and all("/voluntary-" in link for link in links)
    plan = next(link for link in links if link.endswith("/voluntary-installments-3"))

    offer_page = await client.get(plan)
    assert offer_page.status_code == 200
    assert "Pagamento voluntário de dívida prescrita" in offer_page.text
    assert "Aceito este acordo" in offer_page.text
    form = _form(offer_page.text)
    accepted = await client.post(form.pop("_action"), data=form)
    assert accepted.status_code in (302, 303), accepted.text[:500]
    agreement_page = await client.get(accepted.headers["location"])
    assert agreement_page.status_code == 200 and "pagamento voluntário" in agreement_page.text

    async with db.session(Scope.tenant(a.id)) as session:
        agreement = await session.scalar(select(Agreement).where(Agreement.offer_code.like("vol%")))
        assert agreement is not None and agreement.voluntary
        assert agreement.offer_code == "voluntary-installments-3"
        assert agreement.terms["includes_prescribed"] is True
        assert "voluntário" in agreement.terms["description"]
        assert (await session.get_one(Debt, debt_id)).status == DebtStatus.IN_AGREEMENT
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "agreement.created", AuditEvent.target == str(agreement.id)
            )
        )
        assert event is not None and event.details["voluntary"] is True
        first_due = await session.scalar(
            select(func.min(AgreementInstallment.due_date)).where(
                AgreementInstallment.agreement_id == agreement.id
            )
        )
        assert first_due is not None
        grace = agreement.grace_days
        # Staff may not write to the account either: a voluntary agreement is nothing
        # to collect, and its only debt is prescribed.
        rule = await reminders.account_rule(session, a.id, agreement.debtor_id, first_due)
        assert rule == "not_due"
        await session.execute(
            update(Tenant).where(Tenant.id == a.id).values(reminders_enabled=True)
        )
        await session.commit()

    # The régua finds the installments (the person has an e-mail on file) and blocks
    # every message about them as prescribed, the day before, on the day and after.
    for day in (first_due - timedelta(days=3), first_due, first_due + timedelta(days=1)):
        await reminders.plan(db, day, datetime.combine(day, time(13), UTC))
    about_installments = await _agreement_messages(db, agreement.id)
    assert len(about_installments) >= 3
    assert {(m.status, m.rule) for m in about_installments} == {
        (MessageStatus.BLOCKED, "prescribed")
    }

    # A missed installment ends the agreement, and still nothing is sent about it.
    broken_day = first_due + timedelta(days=grace + 1)
    assert await payments.advance_agreements(db, broken_day, tenant_id=a.id) == 1
    async with db.session(Scope.tenant(a.id)) as session:
        broken = await session.get_one(Agreement, agreement.id)
        assert broken.status == "broken" and broken.broken_on is not None
        broken_on = broken.broken_on
    await reminders.plan(db, broken_on, datetime.combine(broken_on, time(13), UTC))
    messages = await _agreement_messages(db, agreement.id)
    assert len(messages) > len(about_installments)  # the broken-agreement step was found
    assert all(m.status == MessageStatus.BLOCKED and m.rule == "prescribed" for m in messages)

    # Escalation refuses the debt: no negativação notice, no protest, no court.
    client.cookies.clear()
    await login(client, a.users[Role.ADMIN], PASSWORD)
    refused = await _post(client, "/avisos", {"debt_id": [str(debt_id)]})
    assert refused.status_code == 400
    assert escalation.reason_text(Block.PRESCRIBED) in refused.text
    for kind in ("protesto", "judicial"):
        decided = await _post(
            client, "/decisoes", {"debt_id": str(debt_id), "kind": kind, "reason": "x"}
        )
        assert decided.status_code == 400
        assert escalation.reason_text(Block.PRESCRIBED) in decided.text


async def test_without_the_policy_option_there_is_no_offer_and_the_page_says_so(
    client: Any, world: Any, db: Database, settings: Any
) -> None:
    a = world.a
    await _set_policy(db, a.id, allow=False)
    cpf, debt_id = await _prescribed_person(db, settings, a.id)
    await _start(client, cpf)
    await _verify(client, BIRTH)
    page = (await client.get("/minhas-dividas")).text
    assert "OLD-1" in page and "prescrita" in page
    assert "não recebe pelo Quita o pagamento de dívidas prescritas" in page
    assert "Pagamento voluntário" not in page and "ainda pode pagá-la" not in page
    assert _links(page, a.id) == []
    refused = await client.get(f"/ofertas/{a.id}/voluntary-cash")
    assert refused.status_code == 409
    async with db.session(Scope.tenant(a.id)) as session:
        assert await session.scalar(select(Agreement.id)) is None
        assert (await session.get_one(Debt, debt_id)).status == DebtStatus.OPEN


async def _agreement(
    db: Database, tenant_id: uuid.UUID, debtor_id: uuid.UUID, *, voluntary: bool
) -> None:
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            Agreement(
                debtor_id=debtor_id,
                offer_code="voluntary-cash" if voluntary else "cash",
                kind="cash",
                status="broken",
                balance=150_000,
                discount=0,
                total=150_000,
                down_payment=150_000,
                monthly_rate="0",
                cet_yearly="0",
                grace_days=5,
                accepted_on=date(2026, 1, 20),
                idempotency_key=uuid.uuid4().hex,
                terms={},
                broken_on=date(2026, 2, 1),
                voluntary=voluntary,
            )
        )
        await session.commit()


async def test_a_broken_voluntary_agreement_never_hands_the_account_over(
    db: Database, world: Any
) -> None:
    await _agreement(db, world.a.id, world.a.debtor_ids[0], voluntary=True)
    await _agreement(db, world.a.id, world.a.debtor_ids[1], voluntary=False)
    await _rule(db, world.a.id, world.agency_id, broken=True)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[1]}


async def test_a_message_planned_before_an_agreement_was_marked_voluntary_is_not_sent(
    db: Database, world: Any
) -> None:
    a = world.a
    due = date(2026, 3, 10)
    async with db.session(Scope.tenant(a.id)) as session:
        agreement = Agreement(
            debtor_id=a.debtor_ids[0],
            offer_code="installments-2",
            kind="installments",
            status="active",
            balance=150_000,
            discount=0,
            total=150_000,
            down_payment=0,
            monthly_rate="0",
            cet_yearly="0",
            grace_days=5,
            accepted_on=date(2026, 2, 1),
            idempotency_key=uuid.uuid4().hex,
            terms={},
            installments=[
                AgreementInstallment(number=1, due_date=due, amount=75_000),
                AgreementInstallment(number=2, due_date=date(2026, 4, 10), amount=75_000),
            ],
        )
        session.add(agreement)
        await session.execute(
            update(Tenant).where(Tenant.id == a.id).values(reminders_enabled=True)
        )
        await session.commit()
    day = due - timedelta(days=3)  # the e-mail step of the default régua
    now = datetime.combine(day, time(13), UTC)
    await reminders.plan(db, day, now)
    planned = [
        m for m in await _agreement_messages(db, agreement.id) if m.status == MessageStatus.PLANNED
    ]
    assert planned  # an ordinary agreement is reminded
    async with db.session(Scope.tenant(a.id)) as session:
        await session.execute(
            update(Agreement).where(Agreement.id == agreement.id).values(voluntary=True)
        )
        await session.commit()
    channels = Recorder()
    for message in planned:
        await _claim_only(db, message.id, now)
        outcome = await reminders.deliver(
            db, reminders.Delivery("x", channels, KEY), message.id, now
        )
        assert outcome == "prescribed"
    assert channels.sent == []
