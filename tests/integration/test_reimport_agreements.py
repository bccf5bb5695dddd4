"""A re-import that changes a debt under an agreement is never silently ignored (issue 16
item 2): the preview and the summary name every such row, a lower balance or a settled
contract reduces what the agreement still collects, a higher balance is only flagged,
everything is audited, all in the import's one transaction and safe to retry."""

from __future__ import annotations

import re
import uuid
from datetime import date

from sqlalchemy import func, select, update

from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    AgreementReimport,
    Debt,
    DebtStatus,
    ImportJob,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from core.db import Scope
from tenants.models import AuditEvent
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_api import bearer, make_client, token_for
from tests.integration.test_debtor_lookup import _start, _verify
from tests.integration.test_imports import _job_id, _run_worker, _upload, csv_bytes

PORTFOLIO = "Reimport acordos"


def _rows(cpf: str, contracts: dict[str, list[str]]) -> list[str]:
    return [
        f"Maria da Silva;{cpf};01/01/1980;;;{contract};{n};05/0{n}/2025;{amount};Cartão"
        for contract, amounts in contracts.items()
        for n, amount in enumerate(amounts, start=1)
    ]


FIRST = {
    "R-1": ["300,00", "500,00"],  # 800,00
    "R-2": ["200,00"],
    "R-3": ["500,00"],
    "R-4": ["100,00"],
    "R-5": ["70,00"],  # no agreement
}
# R-1 lower (600,00), R-2 and R-3 missing (settled), R-4 higher (150,00), R-5 the same.
SECOND = {"R-1": ["300,00", "300,00"], "R-4": ["150,00"], "R-5": ["70,00"]}


async def _import(client, db, settings, rows: list[str]) -> str:
    job = _job_id(await _upload(client, csv_bytes(rows), portfolio=PORTFOLIO))
    assert await _run_worker(db, settings, job) == "previewed"
    return job


async def _confirm(client, db, settings, job: str) -> str:
    page = await client.get(f"/portal/imports/{job}")
    await client.post(f"/portal/imports/{job}/confirm", data={"_csrf_token": csrf_from(page.text)})
    return await _run_worker(db, settings, job)


def _agreement(debtor_id: uuid.UUID, amounts: list[tuple[int, int]]) -> Agreement:
    today = date.today()
    return Agreement(
        id=uuid.uuid4(),
        debtor_id=debtor_id,
        offer_code="p4",
        kind="installments",
        status="active",
        balance=sum(a for a, _ in amounts),
        discount=0,
        total=sum(a for a, _ in amounts),
        down_payment=amounts[0][0],
        monthly_rate="0",
        cet_yearly="0",
        grace_days=5,
        accepted_on=today,
        idempotency_key=uuid.uuid4().hex,
        terms={},
        installments=[
            AgreementInstallment(number=n, due_date=today, amount=a, paid=p)
            for n, (a, p) in enumerate(amounts)
        ],
    )


async def _world_with_agreements(client, world, db, settings) -> dict[str, uuid.UUID]:
    """R-1 + R-2 under one agreement (R$ 200,00 paid, 4 × R$ 200,00 open), R-3 alone under
    another (2 × R$ 250,00, one paid), R-4 alone under a third (R$ 100,00)."""
    await login(client, world.b.users[Role.ADMIN], PASSWORD)
    job = await _import(client, db, settings, _rows(world.shared_cpf, FIRST))
    assert await _confirm(client, db, settings, job) == "imported"
    async with db.session(Scope.tenant(world.b.id)) as session:
        debts = {d.contract: d for d in (await session.scalars(select(Debt))).all()}
        debtor_id = debts["R-1"].debtor_id
        plans = {
            "both": (_agreement(debtor_id, [(20000, 20000)] + [(20000, 0)] * 4), ["R-1", "R-2"]),
            "settled": (_agreement(debtor_id, [(25000, 25000), (25000, 0)]), ["R-3"]),
            "higher": (_agreement(debtor_id, [(10000, 0)]), ["R-4"]),
        }
        for agreement, contracts in plans.values():
            session.add(agreement)
            await session.flush()
            for contract in contracts:
                session.add(AgreementDebt(agreement_id=agreement.id, debt_id=debts[contract].id))
        await session.execute(
            update(Debt)
            .where(Debt.contract.in_(["R-1", "R-2", "R-3", "R-4"]))
            .values(status=DebtStatus.IN_AGREEMENT)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return {name: agreement.id for name, (agreement, _c) in plans.items()}


async def _installments(db, tenant_id: uuid.UUID, agreement_id: uuid.UUID) -> list[int]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        return list(
            (
                await session.scalars(
                    select(AgreementInstallment.amount)
                    .where(AgreementInstallment.agreement_id == agreement_id)
                    .order_by(AgreementInstallment.number)
                )
            ).all()
        )


async def test_preview_names_every_changed_row_and_changes_nothing(client, world, db, settings):
    ids = await _world_with_agreements(client, world, db, settings)
    job = await _import(client, db, settings, _rows(world.shared_cpf, SECOND))
    async with db.session(Scope.tenant(world.b.id)) as session:
        preview = (await session.get_one(ImportJob, uuid.UUID(job))).preview
    assert preview is not None
    named = {(a["contract"], a["change"], a["action"]) for a in preview["agreements"]}
    assert named == {
        ("R-1", "lower", "recalculated"),
        ("R-2", "missing", "recalculated"),
        ("R-3", "missing", "closed"),
        ("R-4", "higher", "flagged"),
    }
    r1 = next(a for a in preview["agreements"] if a["contract"] == "R-1")
    assert (r1["old_amount"], r1["new_amount"]) == (80000, 60000)
    # R$ 1.000,00 of debts become R$ 600,00: the agreement collects R$ 600,00 in all,
    # R$ 200,00 of it already paid.
    assert (r1["open_before"], r1["open_after"]) == (80000, 40000)
    r3 = next(a for a in preview["agreements"] if a["contract"] == "R-3")
    assert (r3["open_after"], r3["to_refund"]) == (0, 25000)
    assert (preview["created"], preview["updated"], preview["settled"]) == (0, 0, 0)
    page = (await client.get(f"/portal/imports/{job}")).text
    for text in ("R-1", "Saldo menor", "Ausente do arquivo", "Saldo maior", "Acordo encerrado"):
        assert text in page, text
    # A dry run: nothing changed yet.
    assert await _installments(db, world.b.id, ids["both"]) == [20000] * 5
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert await session.scalar(select(func.count()).select_from(AgreementReimport)) == 0


async def test_import_recalculates_closes_flags_and_audits(client, world, db, settings):
    ids = await _world_with_agreements(client, world, db, settings)
    stale = uuid.uuid4()
    async with db.session(Scope.tenant(world.b.id)) as session:
        session.add(  # a Pix code issued for the old amount of installment 1
            Payment(
                id=stale,
                agreement_id=ids["both"],
                installment_number=1,
                method=PaymentMethod.PIX,
                amount=20000,
                idempotency_key=uuid.uuid4().hex,
            )
        )
        await session.commit()
    job = await _import(client, db, settings, _rows(world.shared_cpf, SECOND))
    assert await _confirm(client, db, settings, job) == "imported"
    # Lower balance + a settled contract: the open installments shrink pro rata.
    assert await _installments(db, world.b.id, ids["both"]) == [20000] + [10000] * 4
    # The only contract settled: nothing remains, the agreement ends, and what was paid
    # for it is held to be refunded.
    assert await _installments(db, world.b.id, ids["settled"]) == [25000, 0]
    # Higher: flagged only.
    assert await _installments(db, world.b.id, ids["higher"]) == [10000]
    async with db.session(Scope.tenant(world.b.id)) as session:
        stored = await session.get_one(ImportJob, uuid.UUID(job))
        assert stored.result is not None and len(stored.result["agreements"]) == 4
        assert (await session.get_one(Payment, stale)).status == PaymentStatus.CANCELED
        both = await session.get_one(Agreement, ids["both"])
        assert both.total == 60000 and both.status == "active"
        closed = await session.get_one(Agreement, ids["settled"])
        assert closed.status == "cancelled" and closed.reason == "creditor_settled"
        higher = await session.get_one(Agreement, ids["higher"])
        assert higher.status == "active" and higher.total == 10000
        debts = {d.contract: d for d in (await session.scalars(select(Debt))).all()}
        assert debts["R-1"].original_amount == 60000
        assert debts["R-1"].status == DebtStatus.IN_AGREEMENT
        assert debts["R-2"].status == DebtStatus.REGULARIZED
        assert debts["R-3"].status == DebtStatus.REGULARIZED and debts["R-3"].to_refund == 25000
        assert debts["R-1"].to_refund == 0
        assert debts["R-4"].original_amount == 10000  # a higher balance changes nothing
        changes = (await session.scalars(select(AgreementReimport))).all()
        assert {(c.contract, c.change, c.action) for c in changes} == {
            ("R-1", "lower", "recalculated"),
            ("R-2", "missing", "recalculated"),
            ("R-3", "missing", "closed"),
            ("R-4", "higher", "flagged"),
        }
        assert all(c.actor_id is not None and c.actor_id == stored.created_by for c in changes)
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "agreement.reimport")
            )
        ).all()
        assert len(events) == 4
        lower = next(e for e in events if e.details["contract"] == "R-1")
        assert lower.actor_id == stored.created_by and lower.target == str(ids["both"])
        assert (lower.details["old_amount"], lower.details["new_amount"]) == (80000, 60000)
        assert (lower.details["open_before"], lower.details["open_after"]) == (80000, 40000)
    # The visible list on the imports page, with the reason.
    listing = (await client.get("/portal/imports")).text
    assert "Acordos alterados por importações" in listing
    assert "R-4" in listing and "listado para revisão" in listing
    # The person's agreement page shows the new installments.
    await _start(client, world.shared_cpf)
    await _verify(client, "01/01/1980")
    agreement_page = await client.get(f"/acordos/{ids['both']}")
    assert agreement_page.status_code == 200
    assert "100,00" in agreement_page.text and "200,00" in agreement_page.text


async def test_retrying_the_import_changes_nothing_more(client, world, db, settings):
    ids = await _world_with_agreements(client, world, db, settings)
    rows = _rows(world.shared_cpf, SECOND)
    job = await _import(client, db, settings, rows)
    assert await _confirm(client, db, settings, job) == "imported"
    assert await _run_worker(db, settings, job) == "imported"  # a repeated message
    # The same file again, through the API: only the higher balance is still named.
    token = await token_for(client, await make_client(db, world.b.id, "imports:write"))
    response = await client.post(
        "/api/v1/imports",
        headers=bearer(token),
        data={"portfolio": PORTFOLIO},
        files={"file": ("carteira.csv", csv_bytes(rows), "text/csv")},
    )
    assert response.status_code == 202, response.text
    again = response.json()["id"]
    assert await _run_worker(db, settings, again) == "previewed"
    previewed = (await client.get(f"/api/v1/imports/{again}", headers=bearer(token))).json()
    assert [
        (a["contract"], a["change"], a["action"]) for a in previewed["summary"]["agreements"]
    ] == [("R-4", "higher", "flagged")]
    assert (
        await client.post(f"/api/v1/imports/{again}/confirm", headers=bearer(token))
    ).status_code == 202
    assert await _run_worker(db, settings, again) == "imported"
    assert await _installments(db, world.b.id, ids["both"]) == [20000] + [10000] * 4
    assert await _installments(db, world.b.id, ids["higher"]) == [10000]
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert await session.scalar(select(func.count()).select_from(AgreementReimport)) == 4
        r1 = await session.scalar(select(Debt).where(Debt.contract == "R-1"))
        assert r1 is not None and r1.original_amount == 60000
        r3 = await session.scalar(select(Debt).where(Debt.contract == "R-3"))
        assert r3 is not None and r3.to_refund == 25000  # not held twice


async def test_a_failing_import_changes_no_agreement(client, world, db, settings, monkeypatch):
    from collection.imports import loader as imports

    ids = await _world_with_agreements(client, world, db, settings)
    job = await _import(client, db, settings, _rows(world.shared_cpf, SECOND))

    async def broken(self: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports._Apply, "everything", broken)
    assert await _confirm(client, db, settings, job) == "failed"
    assert await _installments(db, world.b.id, ids["both"]) == [20000] * 5
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert await session.scalar(select(func.count()).select_from(AgreementReimport)) == 0
        r1 = await session.scalar(select(Debt).where(Debt.contract == "R-1"))
        assert r1 is not None and r1.original_amount == 80000


async def test_payments_covering_the_lower_balance_pay_the_agreement(client, world, db, settings):
    await login(client, world.b.users[Role.ADMIN], PASSWORD)
    job = await _import(client, db, settings, _rows(world.shared_cpf, {"P-1": ["500,00"]}))
    assert await _confirm(client, db, settings, job) == "imported"
    async with db.session(Scope.tenant(world.b.id)) as session:
        debt = await session.scalar(select(Debt).where(Debt.contract == "P-1"))
        assert debt is not None
        agreement = _agreement(debt.debtor_id, [(40000, 40000), (10000, 0)])
        session.add(agreement)
        await session.flush()
        session.add(AgreementDebt(agreement_id=agreement.id, debt_id=debt.id))
        debt.status = DebtStatus.IN_AGREEMENT
        await session.commit()
    job = await _import(client, db, settings, _rows(world.shared_cpf, {"P-1": ["300,00"]}))
    assert await _confirm(client, db, settings, job) == "imported"
    # R$ 400,00 paid against a new total of R$ 300,00: nothing more to pay, R$ 100,00 back.
    assert await _installments(db, world.b.id, agreement.id) == [40000, 0]
    async with db.session(Scope.tenant(world.b.id)) as session:
        stored = await session.get_one(Agreement, agreement.id)
        assert stored.status == "paid"
        paid_debt = await session.scalar(select(Debt).where(Debt.contract == "P-1"))
        assert paid_debt is not None and paid_debt.status == DebtStatus.PAID
        assert (paid_debt.original_amount, paid_debt.to_refund) == (30000, 10000)
    debtor_page = (await client.get(f"/portal/debtors/{debt.debtor_id}")).text
    assert re.search(r"a devolver R\$\s*100,00", debtor_page), debtor_page[-3000:]
