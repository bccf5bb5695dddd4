"""The periodic agency jobs run through the broker like every other job: the hand-over
(with the review of promises) and the escalation calendar."""

from __future__ import annotations

import uuid
from datetime import date

from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select

from collection.models import (
    Debt,
    DebtStatus,
    Escalation,
    EscalationKind,
    Handover,
    HandoverRule,
    HandoverStatus,
)
from core.db import Scope
from tests.integration.test_workers import broker_setup  # noqa: F401 - the fixture
from workers.actors import AGENCY_HANDOVER, ESCALATION_ADVANCE


def _join(broker, actors, name: str) -> None:
    queue = actors[name].queue_name
    if isinstance(broker, StubBroker):
        broker.join(queue, fail_fast=True, timeout=60_000)  # an error in the job fails here
    else:
        broker.join(queue, timeout=60_000)


async def test_the_handover_job_places_the_accounts_a_rule_selects(db, world, broker_setup):  # noqa: F811
    broker, actors, _transport = broker_setup
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(
            HandoverRule(
                tenant_id=world.a.id,
                agency_id=world.agency_id,
                name="Mais de 30 dias",
                min_days_overdue=30,
                commission_rate="0.15",
            )
        )
        await session.commit()
    actors[AGENCY_HANDOVER].send()
    _join(broker, actors, AGENCY_HANDOVER)
    async with db.session(Scope.tenant(world.a.id)) as session:
        placed = (await session.scalars(select(Handover))).all()
    assert {h.debtor_id for h in placed} == set(world.a.debtor_ids)
    assert {(h.agency_id, h.status, h.commission_rate) for h in placed} == {
        (world.agency_id, HandoverStatus.ACTIVE, "0.15")
    }


async def test_the_escalation_job_requests_the_removal_of_a_paid_listing(
    db,
    world,
    broker_setup,  # noqa: F811
):
    broker, actors, _transport = broker_setup
    escalation_id = uuid.uuid4()
    async with db.session(Scope.tenant(world.a.id)) as session:
        debt = await session.get_one(Debt, world.a.debt_ids[0])
        debt.status = DebtStatus.PAID
        session.add(
            Escalation(
                id=escalation_id,
                tenant_id=world.a.id,
                debt_id=debt.id,
                kind=EscalationKind.NEGATIVACAO,
                status="listed",
                amount=150_000,
                listed_on=date(2026, 1, 5),
            )
        )
        await session.commit()
    actors[ESCALATION_ADVANCE].send()
    _join(broker, actors, ESCALATION_ADVANCE)
    async with db.session(Scope.tenant(world.a.id)) as session:
        listing = await session.get_one(Escalation, escalation_id)
    assert listing.status == "removal_requested"
    assert listing.removal_requested_on is not None
