"""The agreements' calendar job: one agreement whose stored terms cannot be read is
skipped and logged, and every other agreement still moves on."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import insert, select

from collection.models import Agreement, AgreementInstallment
from collection.payments import service as payments
from core.db import Scope


def _agreement(
    tenant_id: uuid.UUID, debtor_id: uuid.UUID, due: date
) -> tuple[dict[str, object], dict[str, object]]:
    agreement_id = uuid.uuid4()
    return (
        {
            "id": agreement_id,
            "tenant_id": tenant_id,
            "debtor_id": debtor_id,
            "offer_code": "cash",
            "kind": "cash",
            "status": "awaiting_first_payment",
            "balance": 10_000,
            "discount": 0,
            "total": 10_000,
            "down_payment": 0,
            "monthly_rate": "0",
            "cet_yearly": "0",
            "grace_days": 5,
            "accepted_on": date(2026, 3, 2),
            "idempotency_key": f"calendar-{agreement_id.hex}",
            "terms": {},
        },
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "agreement_id": agreement_id,
            "number": 1,
            "due_date": due,
            "amount": 10_000,
            "paid": 0,
        },
    )


async def test_an_unreadable_agreement_does_not_stop_the_others(db, world):
    tenant = world.a.id
    bad = _agreement(tenant, world.a.debtor_ids[0], date(2026, 3, 7))  # a Saturday
    good = _agreement(tenant, world.a.debtor_ids[1], date(2026, 3, 10))  # a Tuesday
    async with db.session(Scope.tenant(tenant)) as session:
        await session.execute(insert(Agreement), [bad[0], good[0]])
        await session.execute(insert(AgreementInstallment), [bad[1], good[1]])
        await session.commit()
    changed = await payments.advance_agreements(db, date(2026, 6, 1), tenant_id=tenant)
    assert changed == 1
    async with db.session(Scope.tenant(tenant)) as session:
        statuses = dict((await session.execute(select(Agreement.id, Agreement.status))).all())
    assert statuses[good[0]["id"]] != "awaiting_first_payment"  # moved on (late or broken)
    assert statuses[bad[0]["id"]] == "awaiting_first_payment"  # left for a person to see
