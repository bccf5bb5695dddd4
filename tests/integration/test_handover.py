"""Hand-over rules: which accounts go to which agency, placed by the periodic job."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select, update

from collection.agency import handover
from collection.domain.queue_score import AccountFacts, queue_score
from collection.models import (
    Agreement,
    Debt,
    DebtItem,
    DebtStatus,
    Dispute,
    Handover,
    HandoverRule,
    HandoverStatus,
    Message,
    MessageStatus,
    ReminderAnchor,
    ReminderStep,
)
from core.db import Database, Scope
from tenants.models import Agency, AgencyGrant, AuditEvent, Tenant
from tenants.roles import Role
from tenants.services.directory import create_agency, grant_agency
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, valid_cnpj

# Debtors of a world's tenant owe R$ 1.500,00 each, due 2026-01-10, 2025-12-11 and
# 2025-11-11: on this day they are 50, 80 and 110 days overdue.
NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


async def _rule(
    db: Database,
    tenant_id: uuid.UUID,
    agency_id: uuid.UUID,
    *,
    position: int = 0,
    days: int | None = None,
    amount: int | None = None,
    broken: bool = False,
    after_regua: bool = False,
    rate: str = "0.15",
) -> uuid.UUID:
    async with db.session(Scope.tenant(tenant_id)) as session:
        rule = HandoverRule(
            id=uuid.uuid4(),
            agency_id=agency_id,
            name=f"Regra {position}",
            position=position,
            min_days_overdue=days,
            min_amount=amount,
            on_broken_agreement=broken,
            after_regua=after_regua,
            commission_rate=rate,
        )
        session.add(rule)
        await session.commit()
        return rule.id


async def _placed(db: Database, tenant_id: uuid.UUID) -> dict[uuid.UUID, Handover]:
    """The tenant's active hand-overs by debtor."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        rows = await session.scalars(
            select(Handover).where(Handover.status == HandoverStatus.ACTIVE)
        )
        return {h.debtor_id: h for h in rows.all()}


async def _set_debt(db: Database, tenant_id: uuid.UUID, debt_id: uuid.UUID, **values: object):
    async with db.session(Scope.tenant(tenant_id)) as session:
        await session.execute(update(Debt).where(Debt.id == debt_id).values(**values))
        if "original_amount" in values:
            await session.execute(
                update(DebtItem)
                .where(DebtItem.debt_id == debt_id)
                .values(amount=values["original_amount"])
            )
        if "due_date" in values:
            await session.execute(
                update(DebtItem)
                .where(DebtItem.debt_id == debt_id)
                .values(due_date=values["due_date"])
            )
        await session.commit()


async def _agreement(db: Database, tenant_id: uuid.UUID, debtor_id: uuid.UUID, status: str):
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            Agreement(
                debtor_id=debtor_id,
                offer_code="cash",
                kind="cash",
                status=status,
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
                broken_on=date(2026, 2, 1) if status == "broken" else None,
            )
        )
        await session.commit()


async def _second_agency(db: Database, tenant_id: uuid.UUID | None) -> uuid.UUID:
    async with db.session(Scope.system()) as session:
        agency = await create_agency(
            session,
            slug=f"ag2-{uuid.uuid4().hex[:8]}",
            name="Outra Assessoria",
            cnpj=valid_cnpj(random.Random()),
        )
        await session.flush()
        if tenant_id is not None:
            grant_agency(session, await session.get_one(Tenant, tenant_id), agency)
        await session.commit()
        return agency.id


async def test_a_rule_on_days_overdue_places_only_the_accounts_old_enough(db, world):
    rule_id = await _rule(db, world.a.id, world.agency_id, days=75, rate="0.12")
    counts = await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert counts["placed"] == 2
    placed = await _placed(db, world.a.id)
    assert set(placed) == {world.a.debtor_ids[1], world.a.debtor_ids[2]}
    for h in placed.values():
        assert h.agency_id == world.agency_id and h.rule_id == rule_id
        assert h.commission_rate == "0.12" and h.handed_over_at == NOW


async def test_a_rule_on_the_amount_places_only_the_larger_accounts(db, world):
    await _set_debt(db, world.a.id, world.a.debt_ids[2], original_amount=500_000)
    await _rule(db, world.a.id, world.agency_id, amount=300_000)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[2]}


async def test_a_rule_on_a_broken_agreement_places_only_who_broke_one(db, world):
    await _agreement(db, world.a.id, world.a.debtor_ids[0], "broken")
    await _agreement(db, world.a.id, world.a.debtor_ids[1], "paid")
    await _rule(db, world.a.id, world.agency_id, broken=True)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[0]}


async def test_conditions_are_all_required_together(db, world):
    await _agreement(db, world.a.id, world.a.debtor_ids[0], "broken")
    await _agreement(db, world.a.id, world.a.debtor_ids[2], "broken")
    await _rule(db, world.a.id, world.agency_id, broken=True, days=100)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[2]}


async def test_after_the_whole_regua_needs_every_step_answered_and_no_agreement(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(update(ReminderStep).values(is_active=False))
        step = ReminderStep(
            name="Único",
            anchor=ReminderAnchor.DEBT_DUE,
            offset_days=5,
            channel="email",
            body="Olá, {nome}.",
        )
        session.add(step)
        await session.flush()
        for n in (1, 2):
            session.add(
                Message(
                    step_id=step.id,
                    subject_key=f"d:{world.a.debt_ids[n]}",
                    debtor_id=world.a.debtor_ids[n],
                    debt_id=world.a.debt_ids[n],
                    channel="email",
                    planned_for=date(2026, 1, 1),
                    send_after=NOW,
                    status=MessageStatus.SENT if n == 1 else MessageStatus.BLOCKED,
                )
            )
        await session.commit()
    # Debtor 2 answered once (an agreement, now cancelled): not "no answer".
    await _agreement(db, world.a.id, world.a.debtor_ids[2], "cancelled")
    await _rule(db, world.a.id, world.agency_id, after_regua=True)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[1]}


async def test_prescribed_and_disputed_debts_are_never_handed_over(db, world):
    await _set_debt(db, world.a.id, world.a.debt_ids[0], due_date=date(2021, 2, 28))
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(Dispute(debt_id=world.a.debt_ids[1], kind="already_paid"))
        await session.commit()
    await _rule(db, world.a.id, world.agency_id, days=1)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[2]}


async def test_rules_are_tried_in_order_and_the_first_match_places_the_account(db, world):
    other = await _second_agency(db, world.a.id)
    await _set_debt(db, world.a.id, world.a.debt_ids[2], original_amount=900_000)
    await _rule(db, world.a.id, world.agency_id, position=2, days=1, rate="0.10")
    await _rule(db, world.a.id, other, position=1, amount=500_000, rate="0.20")
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    placed = await _placed(db, world.a.id)
    assert placed[world.a.debtor_ids[2]].agency_id == other
    assert placed[world.a.debtor_ids[2]].commission_rate == "0.20"
    assert {placed[d].agency_id for d in world.a.debtor_ids[:2]} == {world.agency_id}


async def test_running_the_hand_over_twice_changes_nothing(db, world):
    await _rule(db, world.a.id, world.agency_id, days=1)
    first = await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert first["placed"] == 3 and first["rescored"] == 3
    before = {d: (h.id, h.score) for d, h in (await _placed(db, world.a.id)).items()}
    second = await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert second == {"placed": 0, "recalled": 0, "closed": 0, "rescored": 0}
    after = {d: (h.id, h.score) for d, h in (await _placed(db, world.a.id)).items()}
    assert after == before


async def test_the_score_follows_the_queue_score_of_the_account_facts(db, world):
    await _agreement(db, world.a.id, world.a.debtor_ids[2], "broken")
    await _rule(db, world.a.id, world.agency_id, days=1)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    placed = await _placed(db, world.a.id)
    expected = queue_score(AccountFacts(days_overdue=110, open_amount=150_000, broken_agreements=1))
    assert placed[world.a.debtor_ids[2]].score == expected
    assert placed[world.a.debtor_ids[0]].score < expected


async def test_hand_overs_are_recalled_when_the_tenant_no_longer_grants_the_agency(db, world):
    await _rule(db, world.a.id, world.agency_id, days=1)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(delete(AgencyGrant).where(AgencyGrant.agency_id == world.agency_id))
        await session.commit()
    counts = await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert counts["recalled"] == 3 and counts["placed"] == 0
    async with db.session(Scope.tenant(world.a.id)) as session:
        rows = (await session.scalars(select(Handover))).all()
    assert {h.status for h in rows} == {HandoverStatus.RECALLED}
    assert all(h.ended_at == NOW and h.claimed_by is None for h in rows)
    again = await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert again["placed"] == 0 and again["recalled"] == 0


async def test_hand_overs_with_nothing_left_to_collect_are_closed(db, world):
    await _rule(db, world.a.id, world.agency_id, days=1)
    await handover.hand_over(db, NOW, tenant_id=world.a.id)
    await _set_debt(db, world.a.id, world.a.debt_ids[0], status=DebtStatus.PAID)
    await _set_debt(db, world.a.id, world.a.debt_ids[1], status=DebtStatus.IN_AGREEMENT)
    counts = await handover.hand_over(db, NOW, tenant_id=world.a.id)
    assert counts["closed"] == 1
    assert set(await _placed(db, world.a.id)) == {world.a.debtor_ids[1], world.a.debtor_ids[2]}


async def test_a_rule_of_an_agency_not_granted_places_nothing(db, world):
    # Tenant B grants no agency: a rule naming one (written around the form) is ignored.
    await _rule(db, world.b.id, world.agency_id, days=1)
    counts = await handover.hand_over(db, NOW, tenant_id=world.b.id)
    assert counts["placed"] == 0 and await _placed(db, world.b.id) == {}


async def test_tenant_b_cannot_save_a_rule_for_an_agency_it_does_not_grant(db, world):
    form = handover.RuleForm(
        name="Repasse",
        agency_id=str(world.agency_id),
        min_days_overdue="30",
        commission_percent="10",
    )
    async with db.session(Scope.tenant(world.b.id)) as session:
        with pytest.raises(handover.RuleError) as refused:
            await handover.save_rule(session, None, form)
    assert refused.value.field == "agency_id"
    async with db.session(Scope.tenant(world.a.id)) as session:
        rule = await handover.save_rule(session, None, form)
        assert rule.commission_rate == "0.1" and rule.min_days_overdue == 30


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"min_days_overdue": "dez"}, "min_days_overdue"),
        ({"min_amount": "muito"}, "min_amount"),
        ({"min_days_overdue": "", "min_amount": ""}, "conditions"),
        ({"commission_percent": "abc"}, "commission_percent"),
        ({"commission_percent": "120"}, "commission_percent"),
        ({"on_broken_agreement": "on", "after_regua": "on"}, "after_regua"),
        ({"position": "-1"}, "position"),
    ],
)
async def test_portal_form_errors_name_the_field(client, world, db, changes, field):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await client.get("/portal/repasse")
    assert page.status_code == 200
    form = {
        "_csrf_token": csrf_from(page.text),
        "name": "Antigas",
        "agency_id": str(world.agency_id),
        "min_days_overdue": "60",
        "min_amount": "1.000,00",
        "commission_percent": "15",
        "is_active": "on",
        **changes,
    }
    refused = await client.post("/portal/repasse/salvar", data=form)
    assert refused.status_code == 400
    assert f'id="e-{field}"' in refused.text
    assert refused.text.count('class="field-error"') == 1
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.scalars(select(HandoverRule))).all() == []


async def test_portal_tenant_b_is_refused_an_agency_it_does_not_grant(client, world, db):
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/repasse")
    assert page.status_code == 200 and str(world.agency_id) not in page.text
    refused = await client.post(
        "/portal/repasse/salvar",
        data={
            "_csrf_token": csrf_from(page.text),
            "name": "Tentativa",
            "agency_id": str(world.agency_id),
            "min_days_overdue": "30",
            "commission_percent": "10",
        },
    )
    assert refused.status_code == 400 and 'id="e-agency_id"' in refused.text
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert (await session.scalars(select(HandoverRule))).all() == []


async def test_portal_saves_edits_and_deletes_a_rule_with_audit(client, world, db):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    page = await client.get("/portal/repasse")
    agency_name = await _agency_name(db, world.agency_id)
    assert agency_name in page.text
    token = csrf_from(page.text)
    form = {
        "_csrf_token": token,
        "name": "Antigas",
        "agency_id": str(world.agency_id),
        "min_days_overdue": "60",
        "min_amount": "1.000,00",
        "commission_percent": "12,5",
        "is_active": "on",
    }
    saved = await client.post("/portal/repasse/salvar", data=form)
    assert saved.status_code == 303
    async with db.session(Scope.tenant(world.a.id)) as session:
        rule = await session.scalar(select(HandoverRule))
        assert rule is not None
        assert (rule.min_days_overdue, rule.min_amount, rule.commission_rate) == (
            60,
            100_000,
            "0.125",
        )
    edit = await client.get(f"/portal/repasse/{rule.id}")
    assert (
        edit.status_code == 200 and 'value="12,5"' in edit.text and 'value="1.000,00"' in edit.text
    )
    partial = await client.get(f"/portal/repasse/{rule.id}", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert 'id="rule-form"' in partial.text and f'value="{rule.id}"' in partial.text
    edited = await client.post(
        "/portal/repasse/salvar",
        data={**form, "rule_id": str(rule.id), "name": "Muito antigas", "is_active": ""},
    )
    assert edited.status_code == 303
    deleted = await client.post(f"/portal/repasse/{rule.id}/excluir", data={"_csrf_token": token})
    assert deleted.status_code == 303
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.scalars(select(HandoverRule))).all() == []
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("handover.%"))
            )
        )
    assert sorted(actions) == [
        "handover.rule_deleted",
        "handover.rule_saved",
        "handover.rule_saved",
    ]


async def test_portal_run_now_places_this_tenants_accounts_and_shows_the_counts(client, world, db):
    await _rule(db, world.a.id, world.agency_id, days=1)
    await _rule(db, world.b.id, world.agency_id, days=1)  # another tenant: untouched
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/repasse")
    token = csrf_from(page.text)
    partial = await client.post(
        "/portal/repasse/executar", data={"_csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200 and "<html" not in partial.text
    assert 'role="status"' in partial.text and ": 3." in partial.text
    assert len(await _placed(db, world.a.id)) == 3
    plain = await client.post("/portal/repasse/executar", data={"_csrf_token": token})
    assert plain.status_code == 200 and "<html" in plain.text and ": 0." in plain.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        runs = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.run"))
        ).all()
    assert len(runs) == 2 and runs[0].details["placed"] in (0, 3)
    assert await _placed(db, world.b.id) == {}


async def test_only_owners_and_admins_edit_hand_over_rules(client, world):
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    assert (await client.get("/portal/repasse")).status_code == 403


async def test_another_tenants_rule_is_not_found(client, world, db):
    other = await _rule(db, world.b.id, world.agency_id, days=1)
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    assert (await client.get(f"/portal/repasse/{other}")).status_code == 404
    page = await client.get("/portal/repasse")
    deleted = await client.post(
        f"/portal/repasse/{other}/excluir", data={"_csrf_token": csrf_from(page.text)}
    )
    assert deleted.status_code == 404


async def _agency_name(db: Database, agency_id: uuid.UUID) -> str:
    async with db.session(Scope.system()) as session:
        return (await session.get_one(Agency, agency_id)).name
