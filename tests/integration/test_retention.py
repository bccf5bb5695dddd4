"""LGPD: the person's data copy holds everything about them, and a creditor's retention
period anonymises a settled person's data when it ends (issue 16 item 10)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from collection.models import (
    Agreement,
    AgreementInstallment,
    CaseEntry,
    CaseEntryKind,
    Channel,
    Contact,
    Debt,
    Debtor,
    DebtStatus,
    Escalation,
    EscalationKind,
    Message,
    MessageStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    SiteVisit,
)
from collection.privacy.retention import ANONYMOUS_NAME, run_retention
from core.db import Scope
from tenants.models import AuditEvent, Tenant
from tests.integration.test_debtor_lookup import _start, _verify
from tests.integration.test_workers import broker_setup  # noqa: F401 - the fixture
from workers.actors import PRIVACY_RETENTION

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
NOTE = "Disse que recebe o salário no dia 10"


async def _history(db, tenant_id: uuid.UUID, debtor_id: uuid.UUID, debt_id: uuid.UUID) -> None:
    """An agreement paid in full, its messages, a call, a note, a listing and a visit."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        agreement = Agreement(
            id=uuid.uuid4(),
            debtor_id=debtor_id,
            offer_code="cash",
            kind="cash",
            status="paid",
            balance=150_000,
            discount=30_000,
            total=120_000,
            down_payment=0,
            monthly_rate="0",
            cet_yearly="0",
            grace_days=0,
            accepted_on=date(2026, 2, 1),
            idempotency_key=uuid.uuid4().hex,
            terms={},
            installments=[
                AgreementInstallment(
                    number=1, due_date=date(2026, 2, 3), amount=120_000, paid=120_000
                )
            ],
        )
        session.add(agreement)
        await session.flush()
        session.add_all(
            [
                Payment(
                    agreement_id=agreement.id,
                    installment_number=1,
                    method=PaymentMethod.PIX,
                    amount=120_000,
                    status=PaymentStatus.SUCCEEDED,
                    idempotency_key=uuid.uuid4().hex,
                    paid_on=date(2026, 2, 2),
                ),
                Message(
                    subject_key=f"d:{debt_id}",
                    debtor_id=debtor_id,
                    debt_id=debt_id,
                    channel=Channel.EMAIL,
                    planned_for=date(2026, 1, 13),
                    send_after=datetime(2026, 1, 13, 12, tzinfo=UTC),
                    status=MessageStatus.SENT,
                    subject="Sua dívida com desconto",
                    body="Olá, há uma proposta para você.",
                ),
                CaseEntry(
                    debtor_id=debtor_id,
                    kind=CaseEntryKind.CALL,
                    call_outcome="answered",
                    text="Atendeu e pediu prazo",
                    at=datetime(2026, 1, 20, 14, tzinfo=UTC),
                ),
                CaseEntry(
                    debtor_id=debtor_id,
                    kind=CaseEntryKind.NOTE,
                    text=NOTE,
                    at=datetime(2026, 1, 21, 14, tzinfo=UTC),
                ),
                Escalation(
                    debt_id=debt_id,
                    kind=EscalationKind.NEGATIVACAO,
                    status="removal_requested",
                    amount=150_000,
                    listed_on=date(2026, 1, 25),
                    removal_requested_on=date(2026, 2, 3),
                ),
                SiteVisit(debtor_id=debtor_id, what="offer_seen", details={}, at=NOW),
                AuditEvent(
                    tenant_id=tenant_id,
                    actor_label="123.***.***-45",
                    action="debtor.verified",
                    target=str(debtor_id),
                    details={"name": "Pessoa"},
                ),
            ]
        )
        debt = await session.get_one(Debt, debt_id)
        debt.status = DebtStatus.PAID
        await session.commit()


async def test_the_data_copy_holds_payments_installments_messages_staff_records_and_visits(
    client, db, world
):
    a = world.a
    await _history(db, a.id, a.debtor_ids[0], a.debt_ids[0])
    await _start(client, world.shared_cpf)
    assert (await _verify(client, "01/01/1980")).status_code == 302
    copy = json.loads((await client.get("/direitos/copia")).content)
    mine = next(c for c in copy["creditors"] if c["creditor"]["name"] == a.tenant.legal_name)
    assert [(p["method"], p["amount_centavos"], p["status"]) for p in mine["payments"]] == [
        ("pix", 120_000, "succeeded")
    ]
    assert [(i["number"], i["paid_centavos"]) for i in mine["agreement_installments"]] == [
        (1, 120_000)
    ]
    assert [m["subject"] for m in mine["messages"]] == ["Sua dívida com desconto"]
    kinds = {(e["kind"], e["text"]) for e in mine["staff_records"]}
    assert kinds == {("call", "Atendeu e pediu prazo"), ("note", NOTE)}
    assert [(x["kind"], x["status"]) for x in mine["escalations"]] == [
        ("negativacao", "removal_requested")
    ]
    assert {v["what"] for v in mine["site_visits"]} == {"offer_seen", "verified"}
    assert mine["retention"]["years_after_settlement"] == 5


async def _backdate(db, tenant_id: uuid.UUID, years: int) -> None:
    """Every movement of the tenant's accounts happened ``years`` ago."""
    then = NOW - timedelta(days=365 * years + 2)
    async with db.session(Scope.tenant(tenant_id)) as session:
        for model in (Debt, Agreement, Payment, Message):
            await session.execute(update(model).values(created_at=then))
        await session.execute(update(Message).values(sent_at=then))
        await session.execute(update(CaseEntry).values(at=then))
        await session.execute(update(SiteVisit).values(at=then))
        await session.commit()


async def test_a_settled_person_is_anonymised_after_the_retention_period_and_nobody_else(db, world):
    a = world.a
    settled, open_one = a.debtor_ids[0], a.debtor_ids[1]
    await _history(db, a.id, settled, a.debt_ids[0])
    await _backdate(db, a.id, years=4)
    assert (await run_retention(db, NOW)).anonymised == 0  # 4 years: still kept
    await _backdate(db, a.id, years=6)
    first = await run_retention(db, NOW)
    assert first.anonymised == 1
    assert (await run_retention(db, NOW)).anonymised == 0  # idempotent
    async with db.session(Scope.tenant(a.id)) as session:
        person = await session.get_one(Debtor, settled)
        assert person.name == ANONYMOUS_NAME and person.birth_date is None
        assert person.cpf == "00000000000" and person.cpf_hash.startswith("anon:")
        assert person.anonymised_at is not None
        assert not (
            await session.scalars(select(Contact).where(Contact.debtor_id == settled))
        ).all()
        notes = (
            await session.scalars(select(CaseEntry.text).where(CaseEntry.debtor_id == settled))
        ).all()
        assert set(notes) == {""}
        bodies = (
            await session.scalars(select(Message.body).where(Message.debtor_id == settled))
        ).all()
        assert set(bodies) == {""}
        paid = await session.scalar(select(Payment.amount))
        assert paid == 120_000  # the books keep their figures
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.target == str(settled)))
        ).all()
        assert {e.action for e in events} == {"debtor.verified", "debtor.anonymised"}
        assert all(e.details == {} for e in events)
        assert all(e.actor_label in ("", "retention") for e in events)
        other = await session.get_one(Debtor, open_one)  # an open debt: kept whole
        assert other.name != ANONYMOUS_NAME and other.anonymised_at is None
    async with db.session(Scope.tenant(world.b.id)) as session:
        same_person_elsewhere = await session.scalar(
            select(Debtor).where(Debtor.cpf == world.shared_cpf)
        )
        assert same_person_elsewhere is not None  # another creditor's record is its own


async def test_a_longer_retention_period_keeps_the_data(db, world):
    a = world.a
    await _history(db, a.id, a.debtor_ids[0], a.debt_ids[0])
    await _backdate(db, a.id, years=6)
    async with db.session(Scope.system()) as session:
        await session.execute(update(Tenant).where(Tenant.id == a.id).values(retention_years=10))
        await session.commit()
    assert (await run_retention(db, NOW)).anonymised == 0


async def test_the_retention_job_runs_through_the_broker(db, world, broker_setup):  # noqa: F811
    broker, actors, _transport = broker_setup
    a = world.a
    await _history(db, a.id, a.debtor_ids[0], a.debt_ids[0])
    await _backdate(db, a.id, years=30)  # older than any clock the runtime may use
    actors[PRIVACY_RETENTION].send()
    from tests.integration.test_agency_jobs import _join

    _join(broker, actors, PRIVACY_RETENTION)
    # RabbitMQ's message counts lag a freshly published message, so a join can return
    # before the worker took it: wait (bounded) for the job's effect itself.
    for _ in range(300):
        async with db.session(Scope.tenant(a.id)) as session:
            person = await session.get_one(Debtor, a.debtor_ids[0])
        if person.anonymised_at is not None:
            break
        await asyncio.sleep(0.1)
    assert person.anonymised_at is not None


async def test_a_creditor_sets_its_retention_period_in_the_portal(client, db, world):
    from tenants.roles import Role
    from tests.conftest import csrf_from, login
    from tests.factories import PASSWORD

    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await client.get("/portal/privacy/retention")
    assert page.status_code == 200 and "Prazo de guarda dos dados" in page.text
    token = csrf_from(page.text)
    bad = await client.post("/portal/privacy/retention", data={"years": "0", "_csrf_token": token})
    assert bad.status_code == 400 and "de 1 a 30" in bad.text and 'aria-invalid="true"' in bad.text
    saved = await client.post(
        "/portal/privacy/retention", data={"years": "7", "_csrf_token": token}
    )
    assert saved.status_code in (302, 303)
    async with db.session(Scope.system()) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == world.a.id, AuditEvent.action == "privacy.retention_changed"
            )
        )
    assert tenant.retention_years == 7
    assert event is not None and event.details == {"from": 5, "to": 7}
    client.cookies.clear()
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    shown = await client.get("/portal/privacy/retention")
    assert shown.status_code == 200 and "<strong>7</strong>" in shown.text
    refused = await client.post(
        "/portal/privacy/retention", data={"years": "1", "_csrf_token": csrf_from(shown.text)}
    )
    assert refused.status_code == 403


async def test_an_account_with_anything_under_way_is_kept_whatever_its_age(db, world):
    """A settled person with an open dispute, a live listing or a running agreement keeps
    their data: the creditor may still have to answer, remove or collect."""
    from collection.models import Dispute

    a = world.a
    await _history(db, a.id, a.debtor_ids[0], a.debt_ids[0])
    async with db.session(Scope.tenant(a.id)) as session:
        dispute = Dispute(debt_id=a.debt_ids[0], kind="already_paid", text="Já paguei")
        session.add(dispute)
        await session.commit()
    await _backdate(db, a.id, years=10)
    assert (await run_retention(db, NOW)).anonymised == 0
    async with db.session(Scope.tenant(a.id)) as session:
        await session.execute(update(Dispute).values(status="answered"))
        await session.execute(update(Escalation).values(status="listed"))
        await session.commit()
    assert (await run_retention(db, NOW)).anonymised == 0  # still listed at the bureau
    async with db.session(Scope.tenant(a.id)) as session:
        await session.execute(update(Escalation).values(status="removal_requested"))
        await session.execute(update(Agreement).values(status="active"))
        await session.commit()
    assert (await run_retention(db, NOW)).anonymised == 0  # an agreement still running
    async with db.session(Scope.tenant(a.id)) as session:
        await session.execute(update(Agreement).values(status="paid"))
        await session.commit()
    assert (await run_retention(db, NOW)).anonymised == 1
