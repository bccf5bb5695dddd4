"""Incremental sync through the API (issue 16 item 14): ``updated_since`` on debts,
agreements and payments, in (updated_at, id) order with a stable cursor, ``updated_at``
kept by every write path (API, ORM children, set-wise imports), bad values refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from collection.models import Agreement, AgreementInstallment, Payment, PaymentMethod
from collection.models import PaymentStatus as PS
from core.db import Scope
from tests.integration.test_api import bearer, clock, make_client, new_debt, token_for
from tests.integration.test_imports import ROWS, csv_bytes

__all__ = ["clock"]  # the frozen app clock fixture of test_api

SETTLED = timedelta(minutes=2)  # past the API's settle time (api_pages.SYNC_SETTLE)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


async def _walk(
    client, token: str, path: str, since: datetime, limit: int = 2
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"updated_since": _iso(since), "limit": limit}
    seen: list[dict[str, Any]] = []
    while True:
        response = await client.get(path, headers=bearer(token), params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["items"])
        if body["next_cursor"] is None:
            return seen
        params["cursor"] = body["next_cursor"]


async def test_debts_changed_while_a_client_pages_are_seen_again_never_missed(
    client, world, db, clock
):
    token = await token_for(client, await make_client(db, world.a.id))
    start = datetime.now(UTC)
    for n in range(4):
        made = await client.post("/api/v1/debts", headers=bearer(token), json=new_debt(f"S-{n}"))
        assert made.status_code == 201, made.text
    clock.advance(SETTLED)
    params = {"updated_since": _iso(start), "limit": 2}
    first = (await client.get("/api/v1/debts", headers=bearer(token), params=params)).json()
    assert [d["contract"] for d in first["items"]] == ["S-0", "S-1"]
    # While the client pages, the first debt changes: it moves to the end of the walk.
    changed = await client.patch(
        f"/api/v1/debts/{first['items'][0]['id']}", headers=bearer(token), json={"product": "X"}
    )
    assert changed.status_code == 200, changed.text
    clock.advance(SETTLED)
    rest: list[dict[str, Any]] = []
    cursor = first["next_cursor"]
    while cursor:
        page = await client.get(
            "/api/v1/debts", headers=bearer(token), params={**params, "cursor": cursor}
        )
        assert page.status_code == 200, page.text
        rest.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
    assert [d["contract"] for d in rest] == ["S-2", "S-3", "S-0"]
    assert rest[-1]["product"] == "X"
    stamps = [d["updated_at"] for d in first["items"] + rest]
    assert stamps == sorted(stamps)
    # Resuming from the last row's updated_at gives that row again and nothing older.
    again = await _walk(client, token, "/api/v1/debts", datetime.fromisoformat(stamps[-1]))
    assert [d["contract"] for d in again] == ["S-0"]


async def test_rows_changed_in_the_last_moments_wait_for_the_next_call(client, world, db, clock):
    token = await token_for(client, await make_client(db, world.a.id))
    start = datetime.now(UTC)
    clock._now = start
    made = await client.post("/api/v1/debts", headers=bearer(token), json=new_debt("W-1"))
    assert made.status_code == 201
    assert await _walk(client, token, "/api/v1/debts", start) == []  # not settled yet
    clock.advance(SETTLED)
    assert [d["contract"] for d in await _walk(client, token, "/api/v1/debts", start)] == ["W-1"]


@pytest.mark.parametrize("path", ["/api/v1/debts", "/api/v1/agreements", "/api/v1/payments"])
@pytest.mark.parametrize("value", ["yesterday", "2026-12-04T10:00:00", "2026-13-40T00:00:00Z"])
async def test_a_bad_updated_since_is_a_400_problem_naming_the_parameter(
    client, world, db, path, value
):
    token = await token_for(client, await make_client(db, world.a.id))
    response = await client.get(path, headers=bearer(token), params={"updated_since": value})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any("updated_since" in e["field"] for e in problem["errors"]), problem


async def test_a_creation_order_cursor_is_refused_in_change_order(client, world, db, clock):
    token = await token_for(client, await make_client(db, world.a.id))
    for n in range(3):
        await client.post("/api/v1/debts", headers=bearer(token), json=new_debt(f"K-{n}"))
    plain = (await client.get("/api/v1/debts", headers=bearer(token), params={"limit": 1})).json()
    params = {"updated_since": "2000-01-01T00:00:00Z", "cursor": plain["next_cursor"]}
    response = await client.get("/api/v1/debts", headers=bearer(token), params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


async def _agreement_with_payment(db, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> uuid.UUID:
    agreement_id = uuid.uuid4()
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            Agreement(
                id=agreement_id,
                debtor_id=debtor_id,
                offer_code="cash",
                kind="cash",
                status="awaiting_first_payment",
                balance=10_000,
                discount=0,
                total=10_000,
                down_payment=0,
                monthly_rate="0",
                cet_yearly="0",
                grace_days=5,
                accepted_on=date(2026, 3, 2),
                idempotency_key=f"sync-{agreement_id.hex}",
                terms={},
                installments=[
                    AgreementInstallment(number=1, due_date=date(2026, 3, 10), amount=10_000)
                ],
            )
        )
        await session.flush()
        await session.execute(
            insert(Payment).values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                agreement_id=agreement_id,
                installment_number=1,
                method=PaymentMethod.PIX,
                amount=10_000,
                idempotency_key=f"sync-pay-{agreement_id.hex}",
            )
        )
        await session.commit()
    return agreement_id


async def test_an_installment_paid_changes_its_agreement_and_the_payment_for_sync(
    client, world, db, clock
):
    token = await token_for(client, await make_client(db, world.a.id))
    agreement_id = await _agreement_with_payment(db, world.a.id, world.a.debtor_ids[0])
    clock.advance(SETTLED)
    before = datetime.now(UTC)
    # What the payment path does: the installment is paid, the payment succeeds (ORM).
    async with db.session(Scope.tenant(world.a.id)) as session:
        agreement = await session.scalar(
            select(Agreement)
            .where(Agreement.id == agreement_id)
            .options(selectinload(Agreement.installments))
        )
        agreement.installments[0].paid = 10_000
        payment = await session.scalar(select(Payment).where(Payment.agreement_id == agreement_id))
        payment.status = PS.SUCCEEDED
        await session.commit()
    clock._now = datetime.now(UTC) + SETTLED
    agreements = await _walk(client, token, "/api/v1/agreements", before)
    assert [a["id"] for a in agreements] == [str(agreement_id)]
    assert agreements[0]["installments"][0]["paid"] == 10_000
    payments = await _walk(client, token, "/api/v1/payments", before)
    assert [(p["agreement_id"], p["status"]) for p in payments] == [
        (str(agreement_id), "succeeded")
    ]


async def _import(client, db, settings, token: str, rows: list[str]) -> None:
    from tests.integration.test_imports import _run_worker

    response = await client.post(
        "/api/v1/imports",
        headers=bearer(token),
        data={"portfolio": "Carteira sync"},
        files={"file": ("carteira.csv", csv_bytes(rows), "text/csv")},
    )
    assert response.status_code == 202, response.text
    job = response.json()["id"]
    assert await _run_worker(db, settings, job) == "previewed"
    confirmed = await client.post(f"/api/v1/imports/{job}/confirm", headers=bearer(token))
    assert confirmed.status_code == 202
    assert await _run_worker(db, settings, job) == "imported"


async def test_a_reimport_that_changes_only_an_installment_marks_the_debt_changed(
    client, world, db, settings, clock
):
    token = await token_for(client, await make_client(db, world.a.id))
    await _import(client, db, settings, token, ROWS[:3])
    clock.advance(SETTLED)
    before = datetime.now(UTC)
    # Only the second installment's due date: the debt's own columns stay as they were.
    changed = [ROWS[0], ROWS[1].replace("05/04/2024", "08/04/2024"), ROWS[2]]
    await _import(client, db, settings, token, changed)
    clock._now = datetime.now(UTC) + SETTLED
    seen = await _walk(client, token, "/api/v1/debts", before)
    assert [d["contract"] for d in seen] == ["C-1"]  # C-2 did not change
    assert [i["due_date"] for i in seen[0]["installments"]] == ["2024-03-05", "2024-04-08"]
