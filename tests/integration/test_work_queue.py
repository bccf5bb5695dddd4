"""The agency work queue: granted accounts in priority order, claims that one agent wins,
assignment and rebalancing by supervisors."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select, update

from collection.agency import workqueue
from collection.models import Handover
from core.db import Database, Scope
from tenants.models import AgencyGrant, AuditEvent, Tenant, User
from tenants.roles import Role
from tenants.services.audit import Actor
from tenants.services.directory import add_agency_member, create_agency, ensure_user, grant_agency
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, TenantWorld, hand_over, valid_cnpj

NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
TODAY = date(2026, 3, 1)
QUEUE = "/portal/agencia/fila"


async def _user(db: Database, email: str) -> User:
    async with db.session(Scope.system()) as session:
        found = await session.scalar(select(User).where(User.email == email))
        assert found is not None
        return found


async def _actor(db: Database, email: str) -> Actor:
    user = await _user(db, email)
    return Actor(user_id=user.id, label=email, ip="127.0.0.1")


async def _three(db: Database, world: TenantWorld, scores=(10, 50, 30)) -> list[uuid.UUID]:
    """Tenant A's three accounts handed to the world's agency with these scores."""
    return [
        await hand_over(db, world.a.id, debtor, world.agency_id, score=score)
        for debtor, score in zip(world.a.debtor_ids, scores, strict=True)
    ]


async def _set(db: Database, handover_id: uuid.UUID, **values: object) -> None:
    async with db.session(Scope.system()) as session:
        await session.execute(update(Handover).where(Handover.id == handover_id).values(**values))
        await session.commit()


async def _holder(db: Database, handover_id: uuid.UUID) -> uuid.UUID | None:
    async with db.session(Scope.system()) as session:
        return (await session.get_one(Handover, handover_id)).claimed_by


async def _other_agency(db: Database, grant_to: uuid.UUID | None) -> tuple[uuid.UUID, str]:
    """Another agency with one agent (returned by e-mail), granted by ``grant_to`` only."""
    suffix = uuid.uuid4().hex[:8]
    email = f"agent-other-{suffix}@example.test"
    async with db.session(Scope.system()) as session:
        agency = await create_agency(
            session, slug=f"other-{suffix}", name="Outra", cnpj=valid_cnpj(random.Random())
        )
        await session.flush()
        if grant_to is not None:
            grant_agency(session, await session.get_one(Tenant, grant_to), agency)
        user = await ensure_user(session, email=email, name="Agente de fora", password=PASSWORD)
        await session.flush()
        add_agency_member(session, agency, user, Role.AGENT)
        await session.commit()
        return agency.id, email


async def test_the_queue_lists_only_granted_accounts_of_this_agency_follow_ups_first(db, world):
    ids = await _three(db, world)
    await _set(db, ids[0], follow_up_on=TODAY)  # due today: first despite its low score
    await _set(db, ids[2], follow_up_on=TODAY + timedelta(days=3))  # not yet due
    # Tenant B does not grant the agency; another agency's account is not ours either.
    await hand_over(db, world.b.id, world.b.debtor_ids[0], world.agency_id, score=999)
    other, _ = await _other_agency(db, world.b.id)
    await hand_over(db, world.b.id, world.b.debtor_ids[1], other, score=999)
    async with db.session(Scope.system()) as session:
        page = await workqueue.queue(session, world.agency_id, today=TODAY)
        only_a = await workqueue.queue(session, world.agency_id, today=TODAY, tenant_id=world.a.id)
        of_b = await workqueue.queue(session, world.agency_id, today=TODAY, tenant_id=world.b.id)
    assert [r.handover_id for r in page.rows] == [ids[0], ids[1], ids[2]]
    assert page.total == 3 and only_a.total == 3 and of_b.total == 0
    first = page.rows[0]
    assert first.follow_up_due and not page.rows[2].follow_up_due
    assert first.tenant_name == world.a.tenant.name and first.debtor_name == world.a.debtor_names[0]
    assert first.cpf_masked.startswith("***.") and world.a.cpfs[0] not in first.cpf_masked
    assert first.open_amount == 150_000 and first.days_overdue == (TODAY - date(2026, 1, 10)).days


async def test_the_queue_page_shows_granted_accounts_in_order_without_full_cpfs(client, db, world):
    ids = await _three(db, world)
    await _set(db, ids[0], follow_up_on=date(2020, 1, 1))
    await hand_over(db, world.b.id, world.b.debtor_ids[0], world.agency_id, score=999)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    page = await client.get(QUEUE)
    assert page.status_code == 200 and "<html" in page.text
    text = page.text
    names = world.a.debtor_names
    assert text.index(names[0]) < text.index(names[1]) < text.index(names[2])
    assert world.b.debtor_names[0] not in text
    assert not any(cpf in text for cpf in world.a.cpfs)
    assert f'href="/portal/agencia/contas/{ids[1]}"' in text
    partial = await client.get(QUEUE, params={"ver": "unclaimed"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert names[1] in partial.text


async def test_an_agency_without_a_grant_gets_404_on_claim_and_release(client, db, world):
    ids = await _three(db, world)
    _, outsider = await _other_agency(db, world.b.id)
    await login(client, outsider, PASSWORD)
    page = await client.get(QUEUE)
    assert page.status_code == 200 and world.a.debtor_names[0] not in page.text
    token = csrf_from(page.text)
    for action in ("assumir", "liberar"):
        response = await client.post(f"{QUEUE}/{ids[0]}/{action}", data={"_csrf_token": token})
        assert response.status_code == 404
    assert await _holder(db, ids[0]) is None


async def test_an_agency_whose_grant_ended_gets_404_on_claim(client, db, world):
    ids = await _three(db, world)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    token = csrf_from((await client.get(QUEUE)).text)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(delete(AgencyGrant))
        await session.commit()
    response = await client.post(f"{QUEUE}/{ids[1]}/assumir", data={"_csrf_token": token})
    assert response.status_code == 404
    assert world.a.debtor_names[1] not in (await client.get(QUEUE)).text


async def test_two_agents_claiming_at_the_same_moment_one_wins_the_other_is_told(db, world):
    ids = await _three(db, world)
    first = await _actor(db, world.agency_users[Role.AGENT])
    second = await _actor(db, world.second_agent)
    names = {first.user_id: "agent agência", second.user_id: "agent 2 agência"}

    async def attempt(actor: Actor) -> str:
        async with db.session(Scope.system()) as session:
            try:
                await workqueue.claim(session, world.agency_id, ids[1], actor, NOW)
            except workqueue.QueueRefusal as refused:
                return refused.message
            await session.commit()
            return "won"

    outcomes = await asyncio.gather(attempt(first), attempt(second))
    assert sorted(outcomes).count("won") == 1
    holder = await _holder(db, ids[1])
    assert holder in names
    loser = outcomes[1] if outcomes[0] == "won" else outcomes[0]
    assert names[holder] in loser
    async with db.session(Scope.tenant(world.a.id)) as session:
        claims = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "queue.claimed"))
        ).all()
    assert [c.actor_id for c in claims] == [holder] and claims[0].target == str(ids[1])


async def test_two_browsers_claiming_at_once_one_wins_the_other_is_told(
    client, other_client, db, world
):
    ids = await _three(db, world)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    await login(other_client, world.second_agent, PASSWORD)
    tokens = [csrf_from((await c.get(QUEUE)).text) for c in (client, other_client)]
    hx = {"HX-Request": "true"}
    responses = await asyncio.gather(
        client.post(f"{QUEUE}/{ids[2]}/assumir", data={"_csrf_token": tokens[0]}, headers=hx),
        other_client.post(f"{QUEUE}/{ids[2]}/assumir", data={"_csrf_token": tokens[1]}, headers=hx),
    )
    assert [r.status_code for r in responses] == [200, 200]
    holder = await _holder(db, ids[2])
    agent = await _user(db, world.agency_users[Role.AGENT])
    winner, loser = (0, 1) if holder == agent.id else (1, 0)
    assert 'class="hint"' in responses[winner].text
    told = responses[loser].text
    assert 'class="field-error"' in told and 'role="alert"' in told
    assert ("agent agência" if winner == 0 else "agent 2 agência") in told


async def test_a_plain_claim_redirects_with_a_message_and_a_refused_one_names_the_holder(
    client, other_client, db, world
):
    ids = await _three(db, world)
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    token = csrf_from((await client.get(QUEUE)).text)
    won = await client.post(f"{QUEUE}/{ids[0]}/assumir", data={"_csrf_token": token})
    assert won.status_code == 303 and won.headers["location"].endswith("aviso=claimed")
    mine = await client.get(QUEUE, params={"ver": "mine"})
    assert world.a.debtor_names[0] in mine.text and world.a.debtor_names[1] not in mine.text
    await login(other_client, world.second_agent, PASSWORD)
    other_token = csrf_from((await other_client.get(QUEUE)).text)
    lost = await other_client.post(f"{QUEUE}/{ids[0]}/assumir", data={"_csrf_token": other_token})
    assert lost.status_code == 303 and "aviso=claim_refused" in lost.headers["location"]
    told = await other_client.get(lost.headers["location"])
    assert told.status_code == 200 and 'class="alert error"' in told.text
    assert "agent agência" in told.text
    # The second agent cannot release it either; the holder can.
    refused = await other_client.post(
        f"{QUEUE}/{ids[0]}/liberar", data={"_csrf_token": other_token}
    )
    assert "aviso=release_refused" in refused.headers["location"]
    assert await _holder(db, ids[0]) == (await _user(db, world.agency_users[Role.AGENT])).id
    released = await client.post(
        f"{QUEUE}/{ids[0]}/liberar", data={"_csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert released.status_code == 200 and "/assumir" in released.text
    assert await _holder(db, ids[0]) is None


async def test_a_supervisor_releases_anyones_account(db, world):
    ids = await _three(db, world)
    agent = await _actor(db, world.agency_users[Role.AGENT])
    supervisor = await _actor(db, world.agency_users[Role.SUPERVISOR])
    async with db.session(Scope.system()) as session:
        await workqueue.claim(session, world.agency_id, ids[0], agent, NOW)
        await workqueue.release(session, world.agency_id, ids[0], supervisor)
        await session.commit()
    assert await _holder(db, ids[0]) is None


async def test_a_supervisor_assigns_an_account_to_an_agent(client, db, world):
    ids = await _three(db, world)
    second = await _user(db, world.second_agent)
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    page = await client.get("/portal/agencia/equipe")
    assert page.status_code == 200 and "agent 2 agência" in page.text
    assigned = await client.post(
        "/portal/agencia/equipe/atribuir",
        data={
            "_csrf_token": csrf_from(page.text),
            "handover_id": str(ids[1]),
            "user_id": str(second.id),
        },
    )
    assert assigned.status_code == 303
    assert await _holder(db, ids[1]) == second.id
    async with db.session(Scope.tenant(world.a.id)) as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "queue.assigned")
        )
    assert event is not None and event.details["to"] == str(second.id)
    # Someone outside the agency cannot be given an account.
    outsider = await _user(db, world.a.users[Role.ADMIN])
    refused = await client.post(
        "/portal/agencia/equipe/atribuir",
        data={
            "_csrf_token": csrf_from(page.text),
            "handover_id": str(ids[2]),
            "user_id": str(outsider.id),
        },
    )
    assert refused.status_code == 400 and 'class="alert error"' in refused.text
    assert await _holder(db, ids[2]) is None


async def test_rebalancing_deals_unclaimed_and_idle_accounts_evenly_by_score(db, world):
    ids = await _three(db, world, scores=(10, 50, 30))
    first = await _actor(db, world.agency_users[Role.AGENT])
    second = await _actor(db, world.second_agent)
    supervisor = await _actor(db, world.agency_users[Role.SUPERVISOR])
    # The first agent works account 0 (claimed just now): it stays theirs.
    await _set(db, ids[0], claimed_by=first.user_id, claimed_at=NOW - timedelta(hours=1))
    # The second agent left account 2 idle for three days: back in the pool.
    await _set(db, ids[2], claimed_by=second.user_id, claimed_at=NOW - timedelta(days=3))
    async with db.session(Scope.system()) as session:
        moved = await workqueue.rebalance(
            session,
            world.agency_id,
            [(await _user(db, e)).id for e in (world.agency_users[Role.AGENT], world.second_agent)],
            supervisor,
            NOW,
            today=TODAY,
        )
        await session.commit()
    # Pool in queue order: account 1 (50), account 2 (30). Loads: first 1, second 0.
    # Account 1 → second (fewest); account 2 → first (tie, chosen first).
    assert await _holder(db, ids[0]) == first.user_id
    assert await _holder(db, ids[1]) == second.user_id
    assert await _holder(db, ids[2]) == first.user_id
    assert moved == 2
    async with db.session(Scope.tenant(world.a.id)) as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "queue.rebalanced")
        )
    assert event is not None and sorted(event.details["handovers"]) == sorted(
        [str(ids[1]), str(ids[2])]
    )


async def test_the_team_page_rebalances_among_the_chosen(client, db, world):
    ids = await _three(db, world)
    second = await _user(db, world.second_agent)
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    page = await client.get("/portal/agencia/equipe")
    empty = await client.post(
        "/portal/agencia/equipe/redistribuir", data={"_csrf_token": csrf_from(page.text)}
    )
    assert empty.status_code == 400
    done = await client.post(
        "/portal/agencia/equipe/redistribuir",
        data={"_csrf_token": csrf_from(page.text), "user_id": [str(second.id)]},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("n=3")
    assert [await _holder(db, h) for h in ids] == [second.id] * 3
    shown = await client.get(done.headers["location"])
    assert shown.status_code == 200 and 'class="alert ok"' in shown.text


async def test_an_agent_cannot_assign_or_rebalance(client, db, world):
    ids = await _three(db, world)
    agent = await _user(db, world.agency_users[Role.AGENT])
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    token = csrf_from((await client.get(QUEUE)).text)
    assert (await client.get("/portal/agencia/equipe")).status_code == 403
    assigned = await client.post(
        "/portal/agencia/equipe/atribuir",
        data={"_csrf_token": token, "handover_id": str(ids[0]), "user_id": str(agent.id)},
    )
    assert assigned.status_code == 403
    rebalanced = await client.post(
        "/portal/agencia/equipe/redistribuir",
        data={"_csrf_token": token, "user_id": str(agent.id)},
    )
    assert rebalanced.status_code == 403
    assert await _holder(db, ids[0]) is None


async def test_creditor_staff_without_an_agency_cannot_open_the_queue(client, world):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    assert (await client.get(QUEUE)).status_code == 403


async def test_a_prescribed_or_disputed_debt_counts_in_neither_the_balance_nor_the_age(db, world):
    """Issue 25 item 10: the queue works from what may still be collected."""
    from collection.agency.handover import rescore
    from collection.models import Debt, DebtItem, Dispute

    debtor = world.a.debtor_ids[0]
    old_due = date(2020, 1, 10)  # more than five years before TODAY: prescribed
    async with db.session(Scope.tenant(world.a.id)) as session:
        for contract, due in (("OLD-PRESCRIBED", old_due), ("DISPUTED", date(2025, 6, 1))):
            debt = Debt(
                id=uuid.uuid4(),
                portfolio_id=world.a.portfolio_id,
                debtor_id=debtor,
                contract=contract,
                original_amount=900_000,
                due_date=due,
                items=[DebtItem(number=1, due_date=due, amount=900_000)],
            )
            session.add(debt)
            if contract == "DISPUTED":
                await session.flush()
                session.add(Dispute(debt_id=debt.id, kind="wrong_amount", text="Valor errado"))
        await session.commit()
    handover_id = await hand_over(db, world.a.id, debtor, world.agency_id, score=0)
    async with db.session(Scope.system()) as session:
        page = await workqueue.queue(session, world.agency_id, today=TODAY)
        await rescore(session, TODAY, world.a.id)
        await session.commit()
        score = (await session.get_one(Handover, handover_id)).score
    row = next(r for r in page.rows if r.handover_id == handover_id)
    assert row.open_amount == 150_000  # the collectible debt alone
    assert row.days_overdue == (TODAY - date(2026, 1, 10)).days
    from collection.domain.queue_score import AccountFacts, queue_score

    expected = queue_score(
        AccountFacts(days_overdue=(TODAY - date(2026, 1, 10)).days, open_amount=150_000)
    )
    assert score == expected
