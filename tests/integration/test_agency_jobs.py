"""The periodic agency jobs run through the broker like every other job: the hand-over
(with the review of promises) and the escalation calendar."""

from __future__ import annotations

from sqlalchemy import select

from collection.models import Handover, HandoverRule, HandoverStatus
from core.db import Scope
from tests.integration.test_workers import broker_setup  # noqa: F401 - the fixture
from workers.actors import AGENCY_HANDOVER, ESCALATION_ADVANCE


def _join(broker, actors, name: str) -> None:
    broker.join(actors[name].queue_name, fail_fast=True, timeout=60_000)


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


async def test_the_escalation_job_runs_through_the_broker(broker_setup):  # noqa: F811
    broker, actors, _transport = broker_setup
    actors[ESCALATION_ADVANCE].send()
    _join(broker, actors, ESCALATION_ADVANCE)  # fail_fast: an error in the job fails here
