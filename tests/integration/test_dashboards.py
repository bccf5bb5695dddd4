"""Dashboards: exact numbers from a known history, filters, CSV, SVG, and who sees what."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select, update

from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Debt,
    DebtStatus,
    Handover,
    HandoverStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Portfolio,
)
from collection.reports.dashboards import Month
from core.clock import SystemClock, local_today
from core.db import Scope
from core.i18n import gettext as _
from tenants.models import Agency, AuditEvent
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD

PERIOD = "de=2025-01&ate=2025-06"


@dataclass
class History:
    p1: uuid.UUID
    p2: uuid.UUID
    today: date


def _debt(tenant_id, portfolio_id, debtor_id, amount, due, created, status) -> Debt:
    return Debt(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        portfolio_id=portfolio_id,
        debtor_id=debtor_id,
        contract=f"H-{uuid.uuid4().hex[:10]}",
        original_amount=amount,
        due_date=due,
        status=status,
        created_at=created,
    )


def _agreement(tenant_id, debtor_id, debt_ids, *, accepted, total, status, installments, **kw):
    agreement = Agreement(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        debtor_id=debtor_id,
        offer_code="P3",
        kind="installments",
        status=status,
        balance=total,
        discount=0,
        total=total,
        down_payment=0,
        monthly_rate="0",
        cet_yearly="0",
        grace_days=0,
        accepted_on=accepted,
        idempotency_key=uuid.uuid4().hex,
        terms={},
        **kw,
    )
    agreement.installments = [
        AgreementInstallment(tenant_id=tenant_id, number=n, due_date=due, amount=amount, paid=paid)
        for n, (due, amount, paid) in enumerate(installments, start=1)
    ]
    links = [
        AgreementDebt(tenant_id=tenant_id, agreement_id=agreement.id, debt_id=d) for d in debt_ids
    ]
    return agreement, links


def _payment(tenant_id, agreement_id, amount, paid_on, status=PaymentStatus.SUCCEEDED) -> Payment:
    return Payment(
        tenant_id=tenant_id,
        agreement_id=agreement_id,
        installment_number=1,
        method=PaymentMethod.PIX,
        amount=amount,
        status=status,
        idempotency_key=uuid.uuid4().hex,
        paid_on=paid_on,
    )


def _sp(y, m, d, h=12) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


async def _history(db, world) -> History:
    """Tenant A: debts in two portfolios, agreements made/kept/broken, succeeded and
    refunded payments, two hand-overs (10% active, 15% closed); tenant B: a hand-over to
    the same agency, which B never granted."""
    a = world.a.id
    today = local_today(SystemClock())
    d0, d1, d2 = world.a.debtor_ids
    async with db.session(Scope.tenant(a)) as session:
        await session.execute(delete(Debt).where(Debt.id.in_(world.a.debt_ids)))
        p1 = world.a.portfolio_id
        p2 = Portfolio(id=uuid.uuid4(), tenant_id=a, name="Segunda carteira")
        session.add(p2)
        await session.flush()
        debt1 = _debt(a, p1, d0, 100_000, date(2024, 12, 1), _sp(2025, 1, 15), DebtStatus.PAID)
        debt2 = _debt(a, p1, d1, 200_000, date(2025, 1, 10), _sp(2025, 1, 20), DebtStatus.OPEN)
        debt3 = _debt(
            a, p2.id, d2, 300_000, date(2025, 3, 5), _sp(2025, 2, 10), DebtStatus.IN_AGREEMENT
        )
        # 1 March 02:00 UTC is still 28 February in São Paulo.
        debt4 = _debt(a, p2.id, d1, 400_000, date(2025, 6, 20), _sp(2025, 3, 1, 2), DebtStatus.OPEN)
        debt5 = _debt(a, p1, d0, 50_000, date(2019, 6, 1), _sp(2020, 1, 1), DebtStatus.OPEN)
        session.add_all([debt1, debt2, debt3, debt4, debt5])
        await session.flush()
        kept, kept_links = _agreement(
            a,
            d0,
            [debt1.id],
            accepted=date(2025, 2, 3),
            total=90_000,
            status="paid",
            installments=[(date(2025, 2, 10), 45_000, 45_000), (date(2025, 3, 10), 45_000, 45_000)],
            last_event_on=date(2025, 3, 15),
        )
        broken, broken_links = _agreement(
            a,
            d1,
            [debt2.id],
            accepted=date(2025, 2, 20),
            total=150_000,
            status="broken",
            installments=[(date(2025, 3, 1), 50_000, 50_000), (date(2025, 4, 1), 100_000, 0)],
            broken_on=date(2025, 4, 25),
        )
        next_month = Month.of(today).next().first_day
        active, active_links = _agreement(
            a,
            d2,
            [debt3.id],
            accepted=date(2025, 5, 5),
            total=240_000,
            status="active",
            installments=[
                (date(2025, 5, 10), 80_000, 80_000),
                (today - timedelta(days=10), 80_000, 30_000),
                (next_month + timedelta(days=4), 80_000, 0),
            ],
        )
        session.add_all([kept, broken, active])
        await session.flush()
        session.add_all([*kept_links, *broken_links, *active_links])
        session.add_all(
            [
                _payment(a, kept.id, 45_000, date(2025, 2, 10)),
                _payment(a, kept.id, 45_000, date(2025, 3, 15)),
                _payment(a, broken.id, 50_000, date(2025, 3, 1)),
                _payment(a, broken.id, 50_000, date(2025, 3, 20), PaymentStatus.REFUNDED),
                _payment(a, active.id, 80_000, date(2025, 5, 10)),
                _payment(a, active.id, 30_000, date(2025, 6, 12)),
            ]
        )
        session.add_all(
            [
                Handover(
                    tenant_id=a,
                    debtor_id=d0,
                    agency_id=world.agency_id,
                    commission_rate="0.15",
                    status=HandoverStatus.CLOSED,
                    handed_over_at=_sp(2025, 1, 5),
                    ended_at=_sp(2025, 3, 1),
                ),
                Handover(
                    tenant_id=a,
                    debtor_id=d2,
                    agency_id=world.agency_id,
                    commission_rate="0.10",
                    handed_over_at=_sp(2025, 6, 1),
                ),
            ]
        )
        await session.commit()
    b = world.b.id
    async with db.session(Scope.tenant(b)) as session:
        other, links = _agreement(
            b,
            world.b.debtor_ids[0],
            [world.b.debt_ids[0]],
            accepted=date(2025, 6, 1),
            total=70_000,
            status="active",
            installments=[(date(2025, 6, 15), 70_000, 70_000)],
        )
        session.add(other)
        await session.flush()
        session.add_all(links)
        session.add(_payment(b, other.id, 70_000, date(2025, 6, 15)))
        session.add(
            Handover(
                tenant_id=b,
                debtor_id=world.b.debtor_ids[0],
                agency_id=world.agency_id,
                commission_rate="0.10",
                handed_over_at=_sp(2025, 6, 2),
            )
        )
        await session.commit()
    return History(p1=p1, p2=p2.id, today=today)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


async def test_recovery_counts_succeeded_payments_and_divides_by_debts_placed_to_date(
    client, world, db
):
    await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    rows = _csv(await client.get(f"/portal/painel/recuperacao.csv?{PERIOD}"))
    assert rows[0] == [
        _("Month"),
        _("Recovered"),
        _("Recovered to date"),
        _("Placed to date"),
        _("Recovery rate") + " (%)",
    ]
    assert rows[1:] == [
        ["2025-01", "0,00", "0,00", "3500,00", "0,00"],
        ["2025-02", "450,00", "450,00", "10500,00", "4,29"],  # the refund does not count
        ["2025-03", "950,00", "1400,00", "10500,00", "13,33"],
        ["2025-04", "0,00", "1400,00", "10500,00", "13,33"],
        ["2025-05", "800,00", "2200,00", "10500,00", "20,95"],
        ["2025-06", "300,00", "2500,00", "10500,00", "23,81"],
    ]


async def test_delinquency_is_overdue_unsettled_debt_over_debt_placed_at_each_month_end(
    client, world, db
):
    await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    rows = _csv(await client.get(f"/portal/painel/inadimplencia.csv?{PERIOD}"))
    assert len(rows[0]) == 4
    assert rows[1:] == [
        ["2025-01", "2500,00", "3500,00", "71,43"],
        ["2025-02", "2500,00", "10500,00", "23,81"],  # debt 3 is due only on 5 March
        ["2025-03", "5500,00", "10500,00", "52,38"],
        ["2025-04", "5500,00", "10500,00", "52,38"],
        ["2025-05", "5500,00", "10500,00", "52,38"],
        ["2025-06", "9500,00", "10500,00", "90,48"],  # the paid debt never counts
    ]


async def test_agreements_are_counted_when_made_paid_off_and_broken(client, world, db):
    await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    rows = _csv(await client.get(f"/portal/painel/acordos.csv?{PERIOD}"))
    assert rows[1:] == [
        ["2025-01", "0", "0,00", "0", "0"],
        ["2025-02", "2", "2400,00", "0", "0"],
        ["2025-03", "0", "0,00", "1", "0"],
        ["2025-04", "0", "0,00", "0", "1"],
        ["2025-05", "1", "2400,00", "0", "0"],
        ["2025-06", "0", "0,00", "0", "0"],
    ]


async def test_aging_buckets_open_debts_by_days_past_due_and_flags_prescribed_ones(
    client, world, db
):
    await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    rows = _csv(await client.get(f"/portal/painel/aging.csv?{PERIOD}"))
    assert [r[1:] for r in rows[1:]] == [
        ["0", "0,00"],
        ["0", "0,00"],
        ["0", "0,00"],
        ["0", "0,00"],
        ["2", "6000,00"],  # debts 2 and 4 (debt 3 is in an agreement, debt 1 paid)
        ["1", "500,00"],  # due in 2019: prescribed
    ]


async def test_expected_cash_is_unpaid_installments_of_running_agreements_by_due_month(
    client, world, db
):
    history = await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    rows = _csv(await client.get(f"/portal/painel/caixa.csv?{PERIOD}"))
    this = Month.of(history.today)
    assert rows[1] == [_("overdue"), "1", "500,00"]  # 800 due 10 days ago, 300 paid
    assert rows[2] == [this.key, "0", "0,00"]
    assert rows[3] == [this.next().key, "1", "800,00"]  # the broken agreement expects nothing
    assert len(rows) == 1 + 1 + 12


async def test_commission_is_due_on_payments_made_while_the_account_was_with_the_agency(
    client, world, db
):
    await _history(db, world)
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Agency).where(Agency.id == world.agency_id).values(name="=HYPERLINK(1)")
        )
        await session.commit()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    rows = _csv(await client.get(f"/portal/painel/comissoes.csv?{PERIOD}"))
    # February: 450,00 at 15% (the March payment came after the account was closed);
    # June: 300,00 at 10% (the May payment came before the hand-over). Formula cells
    # are neutralised.
    assert rows[1:] == [
        ["2025-02", "'=HYPERLINK(1)", "450,00", "67,50"],
        ["2025-06", "'=HYPERLINK(1)", "300,00", "30,00"],
    ]
    async with db.session(Scope.tenant(world.a.id)) as session:
        exported = await session.scalars(
            select(AuditEvent.target).where(AuditEvent.action == "dashboard.exported")
        )
        assert list(exported) == ["comissoes"]


async def test_the_portfolio_filter_counts_only_that_portfolios_debts_and_agreements(
    client, world, db
):
    history = await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    query = f"{PERIOD}&portfolio={history.p2}"
    recovery = _csv(await client.get(f"/portal/painel/recuperacao.csv?{query}"))
    assert [r[1] for r in recovery[1:]] == ["0,00", "0,00", "0,00", "0,00", "800,00", "300,00"]
    assert recovery[-1][3] == "7000,00"
    delinquency = _csv(await client.get(f"/portal/painel/inadimplencia.csv?{query}"))
    assert [r[3] for r in delinquency[1:]] == ["", "0,00", "42,86", "42,86", "42,86", "100,00"]
    commission = _csv(await client.get(f"/portal/painel/comissoes.csv?{query}"))
    assert [r[0] for r in commission[1:]] == ["2025-06"]
    aging = _csv(await client.get(f"/portal/painel/aging.csv?portfolio={history.p1}"))
    assert [r[1] for r in aging[1:]] == ["0", "0", "0", "0", "1", "1"]


async def test_the_period_filter_shows_its_months_with_totals_carried_from_before(
    client, world, db
):
    await _history(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    rows = _csv(await client.get("/portal/painel/recuperacao.csv?de=2025-03&ate=2025-04"))
    assert rows[1:] == [
        ["2025-03", "950,00", "1400,00", "10500,00", "13,33"],
        ["2025-04", "0,00", "1400,00", "10500,00", "13,33"],
    ]


async def test_the_dashboard_page_inlines_an_svg_chart_in_a_figure_per_table(client, world, db):
    await _history(db, world)
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    page = await client.get(f"/portal/painel?{PERIOD}")
    assert page.status_code == 200
    figures = re.findall(r"<figure>\s*(<svg.*?</svg>).*?<figcaption>", page.text, re.S)
    assert len(figures) == 6
    assert 'role="img"' in figures[0]
    assert "R$\u00a0950,00" in page.text  # March, recovered, in the table
    assert "/portal/painel/recuperacao.csv?de=2025-01&amp;ate=2025-06" in page.text
    assert "<script" not in page.text.split("</head>", 1)[1]
    # htmx asks for the dashboard body alone.
    body = await client.get(f"/portal/painel?{PERIOD}", headers={"HX-Request": "true"})
    assert body.status_code == 200
    assert "<svg" in body.text and "<html" not in body.text and 'id="f-de"' not in body.text


async def test_an_invalid_filter_answers_400_naming_the_field(client, world, db):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    bad = await client.get("/portal/painel?de=2025-13")
    assert bad.status_code == 400
    assert re.search(r'id="f-de"[^>]*aria-invalid="true"', bad.text)
    assert 'role="alert"' in bad.text
    backwards = await client.get("/portal/painel?de=2025-06&ate=2025-01")
    assert backwards.status_code == 400
    foreign = await client.get(f"/portal/painel?portfolio={world.b.portfolio_id}")
    assert foreign.status_code == 400
    assert re.search(r'id="f-portfolio"[^>]*aria-invalid="true"', foreign.text)
    csv_bad = await client.get("/portal/painel/acordos.csv?ate=junho")
    assert csv_bad.status_code == 400 and "ate" in csv_bad.text


async def test_another_tenant_sees_none_of_the_numbers(client, world, db):
    await _history(db, world)
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    page = await client.get(f"/portal/painel?{PERIOD}")
    assert page.status_code == 200
    assert "950,00" not in page.text and "10.500,00" not in page.text
    rows = _csv(await client.get(f"/portal/painel/recuperacao.csv?{PERIOD}"))
    assert [r[1] for r in rows[1:]] == ["0,00"] * 5 + ["700,00"]  # B's own June payment
    commission = _csv(await client.get(f"/portal/painel/comissoes.csv?{PERIOD}"))
    assert [r[2:] for r in commission[1:]] == [["700,00", "70,00"]]


async def test_an_agent_cannot_open_the_agency_dashboard(client, world, db):
    await login(client, world.agency_users[Role.AGENT], PASSWORD)
    assert (await client.get("/portal/painel/agencia")).status_code == 403
    assert (await client.get("/portal/painel/agencia/comissoes.csv")).status_code == 403


async def test_a_supervisor_sees_commission_due_only_from_creditors_that_grant_the_agency(
    client, world, db
):
    await _history(db, world)
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    page = await client.get(f"/portal/painel/agencia?{PERIOD}")
    assert page.status_code == 200
    assert world.a.tenant.name in page.text and world.b.tenant.name not in page.text
    assert "<svg" in page.text
    rows = _csv(await client.get(f"/portal/painel/agencia/comissoes.csv?{PERIOD}"))
    assert rows[1:] == [
        ["2025-02", world.a.tenant.name, "450,00", "67,50"],
        ["2025-06", world.a.tenant.name, "300,00", "30,00"],
    ]
    accounts = _csv(await client.get(f"/portal/painel/agencia/contas.csv?{PERIOD}"))
    assert accounts[1:] == [
        ["2025-01", "1", "0", "0"],
        ["2025-02", "0", "0", "0"],
        ["2025-03", "0", "1", "0"],
        ["2025-04", "0", "0", "0"],
        ["2025-05", "0", "0", "0"],
        ["2025-06", "1", "0", "0"],  # B's hand-over is not counted: B grants nothing
    ]
