"""Agency staff working in a creditor's portal see and act only on the accounts handed
over to their agency (issue 16 item 12, issue 26 item 4).

The probe walks the app's route table: every portal and API route that takes an id is
hit with the ids of an account of the granting creditor that was never handed over (and
of one that was handed over and taken back); every route that takes none must be in
``NO_ID_ROUTES`` or ``FORM_ID_ROUTES`` below, so a route added later is probed or fails
this test until someone decides which it is.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from random import Random

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import func, select, update

from collection.accounts.service import portfolio_totals
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    CaseEntry,
    CaseEntryKind,
    Debt,
    Debtor,
    Dispute,
    Escalation,
    EscalationKind,
    Handover,
    HandoverStatus,
    Message,
    NoticeBatch,
    Payment,
    PaymentMethod,
    SpecialOffer,
)
from core.clock import FrozenClock
from core.db import Scope
from core.tenancy import TenantScopeError
from tenants.models import ApiClient, AuditEvent, Tenant, TenantMembership
from tenants.roles import Role
from tenants.services.directory import create_agency, grant_agency
from tests.conftest import csrf, csrf_from, login
from tests.factories import PASSWORD, hand_over, valid_cnpj

PARAM = re.compile(r"\{(\w+):(\w+)\}")

# The API's public documents and token endpoint: no account data, no staff cookie needed.
API_PUBLIC = {
    ("POST", "/api/v1/oauth/token"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/schema"),
    ("GET", "/api/v1/schema/openapi.json"),
    ("GET", "/api/v1/schema/{path:str}"),
}

# Routes that take no id of an account in the path. They are still probed (a search for
# the hidden person's name, forms carrying the hidden ids) and must not show the hidden
# account; they may answer anything else (a page, a redirect, 403 for a role).
NO_ID_ROUTES = {
    ("GET", "/portal"),
    ("GET", "/portal/login"),
    ("POST", "/portal/login"),
    ("GET", "/portal/login/totp"),
    ("POST", "/portal/login/totp"),
    ("POST", "/portal/logout"),
    ("GET", "/portal/password/forgot"),
    ("POST", "/portal/password/forgot"),
    ("GET", "/portal/password/reset/{token:str}"),
    ("POST", "/portal/password/reset/{token:str}"),
    ("GET", "/portal/invite/{token:str}"),
    ("POST", "/portal/invite/{token:str}"),
    ("GET", "/portal/sso/entrar"),
    ("POST", "/portal/sso/entrar"),
    ("GET", "/portal/sso/retorno"),
    ("GET", "/portal/sso/configuracao"),
    ("POST", "/portal/sso/configuracao"),
    ("POST", "/portal/sso/dominio/dns"),
    ("POST", "/portal/sso/dominio/email"),
    ("GET", "/portal/home"),
    ("POST", "/portal/tenant"),
    ("GET", "/portal/credor"),
    ("GET", "/portal/security"),
    ("POST", "/portal/security/password"),
    ("POST", "/portal/security/totp"),
    ("POST", "/portal/security/totp/disable"),
    ("GET", "/portal/debtors"),
    ("GET", "/portal/debtors/exportar"),
    ("GET", "/portal/privacy"),
    ("GET", "/portal/privacy/retention"),
    ("POST", "/portal/privacy/retention"),
    ("GET", "/portal/audit"),
    ("GET", "/portal/users"),
    ("POST", "/portal/users"),
    ("GET", "/portal/imports"),
    ("POST", "/portal/imports"),
    ("GET", "/portal/disputes"),
    ("GET", "/portal/regua"),
    ("POST", "/portal/regua/ligar"),
    ("GET", "/portal/regua/novo"),
    ("GET", "/portal/regua/previa"),
    ("POST", "/portal/regua/salvar"),
    ("POST", "/portal/regua/endereco"),
    ("GET", "/portal/politica"),
    ("POST", "/portal/politica"),
    ("GET", "/portal/politica/versoes/{number:int}"),
    ("POST", "/portal/politica/simular"),
    ("GET", "/portal/pagamentos"),
    ("POST", "/portal/pagamentos"),
    ("GET", "/portal/repasse"),
    ("POST", "/portal/repasse/executar"),
    ("POST", "/portal/repasse/salvar"),
    ("GET", "/portal/agencia/fila"),
    ("GET", "/portal/agencia/equipe"),
    ("POST", "/portal/agencia/equipe/redistribuir"),
    ("GET", "/portal/ofertas-especiais"),
    ("GET", "/portal/escalonamento"),
    ("GET", "/portal/escalonamento/arquivo-bureau.csv"),
    # Bureau files: the creditor's own staff only (tests/integration/test_bureau_files.py).
    ("POST", "/portal/escalonamento/remessas"),
    ("GET", "/portal/escalonamento/remessas/{number:int}/arquivo.csv"),
    ("GET", "/portal/escalonamento/protesto.csv"),
    ("GET", "/portal/escalonamento/judicial.csv"),
    ("POST", "/portal/escalonamento/prazo"),
    ("GET", "/portal/painel"),
    ("GET", "/portal/painel/acordos.csv"),
    ("GET", "/portal/painel/aging.csv"),
    ("GET", "/portal/painel/caixa.csv"),
    ("GET", "/portal/painel/comissoes.csv"),
    ("GET", "/portal/painel/inadimplencia.csv"),
    ("GET", "/portal/painel/recuperacao.csv"),
    ("GET", "/portal/painel/agencia"),
    ("GET", "/portal/painel/agencia/comissoes.csv"),
    ("GET", "/portal/painel/agencia/contas.csv"),
    ("GET", "/portal/api"),
    ("POST", "/portal/api"),
    ("GET", "/portal/webhooks"),
    ("GET", "/portal/webhooks/novo"),
    ("POST", "/portal/webhooks/salvar"),
    # The API takes bearer tokens of the creditor's own clients, never a staff cookie.
    ("GET", "/api/v1/agreements"),
    ("GET", "/api/v1/debts"),
    ("POST", "/api/v1/debts"),
    ("POST", "/api/v1/imports"),
    ("GET", "/api/v1/messages"),
    ("GET", "/api/v1/payments"),
    ("GET", "/api/v1/policy"),
    ("PUT", "/api/v1/policy"),
    *API_PUBLIC,
}

# Writes that name accounts in the form rather than the path: with a hidden account's id
# they must answer 404 (never 403, which would confirm it exists) and write nothing.
FORM_ID_ROUTES = {
    ("POST", "/portal/escalonamento/avisos"): "debt_id",
    ("POST", "/portal/escalonamento/negativar"): "escalation_id",
    ("POST", "/portal/escalonamento/decisoes"): "debt_id",
    ("POST", "/portal/agencia/equipe/atribuir"): "handover_id",
}


@dataclass
class Accounts:
    """Tenant A's accounts as the agency sees them."""

    shown_debtor: uuid.UUID
    shown_debt: uuid.UUID
    shown_handover: uuid.UUID
    hidden_markers: list[str]
    hidden_ids: list[uuid.UUID] = field(default_factory=list)
    hidden_debts: list[uuid.UUID] = field(default_factory=list)
    hidden_escalations: list[uuid.UUID] = field(default_factory=list)
    hidden_handovers: list[uuid.UUID] = field(default_factory=list)


def _staff_routes(app):
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(("/portal", "/api")):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield method, route.path


def _takes_id(path: str) -> bool:
    return any(kind == "uuid" for _name, kind in PARAM.findall(path))


def _fill(path: str, value: uuid.UUID) -> str:
    return PARAM.sub(lambda m: str(value) if m.group(2) == "uuid" else value.hex, path)


async def _hidden_account_objects(
    db, tenant_id, debtor_id, debt_id, handover_id
) -> list[uuid.UUID]:
    """Everything a curious agent might try on a hidden account: its agreement, an
    installment, a payment, a dispute, a note, a message, a special offer, an escalation
    and its notice batch."""
    agreement_id, batch_id, escalation_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    offer_id, dispute_id, payment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    entry_id, installment_id = uuid.uuid4(), uuid.uuid4()
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            Agreement(
                id=agreement_id,
                debtor_id=debtor_id,
                offer_code="P3",
                kind="installments",
                status="active",
                balance=150_000,
                discount=0,
                total=150_000,
                down_payment=0,
                monthly_rate="0",
                cet_yearly="0",
                grace_days=0,
                accepted_on=date(2026, 2, 1),
                idempotency_key=uuid.uuid4().hex,
                terms={},
                installments=[
                    AgreementInstallment(
                        id=installment_id, number=1, due_date=date(2026, 3, 1), amount=150_000
                    )
                ],
            )
        )
        session.add(NoticeBatch(id=batch_id, letters=1))
        await session.flush()
        session.add_all(
            [
                AgreementDebt(agreement_id=agreement_id, debt_id=debt_id),
                Payment(
                    id=payment_id,
                    agreement_id=agreement_id,
                    installment_number=1,
                    method=PaymentMethod.PIX,
                    amount=150_000,
                    idempotency_key=uuid.uuid4().hex,
                ),
                Dispute(id=dispute_id, debt_id=debt_id, kind="wrong_amount"),
                CaseEntry(
                    id=entry_id,
                    debtor_id=debtor_id,
                    kind=CaseEntryKind.NOTE,
                    text="nota",
                    at=datetime.now(UTC),
                ),
                SpecialOffer(
                    id=offer_id,
                    debtor_id=debtor_id,
                    handover_id=handover_id,
                    debt_ids=[str(debt_id)],
                    balance=150_000,
                    discount_rate="0.5",
                    valid_until=date(2099, 1, 1),
                ),
                Escalation(
                    id=escalation_id,
                    debt_id=debt_id,
                    kind=EscalationKind.NEGATIVACAO,
                    status="notice_posted",
                    batch_id=batch_id,
                    amount=150_000,
                    eligible_on=date(2026, 1, 1),
                ),
            ]
        )
        await session.commit()
    return [
        agreement_id,
        installment_id,
        payment_id,
        dispute_id,
        entry_id,
        offer_id,
        batch_id,
        escalation_id,
    ]


async def _accounts(db, world) -> Accounts:
    """A: debtor 0 handed over to the agency (active), debtor 1 never handed over,
    debtor 2 handed over and taken back."""
    a = world.a
    shown = await hand_over(db, a.id, a.debtor_ids[0], world.agency_id)
    recalled = await hand_over(db, a.id, a.debtor_ids[2], world.agency_id)
    async with db.session(Scope.tenant(a.id)) as session:
        await session.execute(
            update(Handover)
            .where(Handover.id == recalled)
            .values(status=HandoverStatus.RECALLED, ended_at=datetime.now(UTC))
        )
        await session.commit()
    accounts = Accounts(
        shown_debtor=a.debtor_ids[0],
        shown_debt=a.debt_ids[0],
        shown_handover=shown,
        hidden_markers=[*a.debtor_names[1:], *a.contracts[1:]],
        hidden_debts=a.debt_ids[1:],
        hidden_handovers=[recalled],
    )
    objects = await _hidden_account_objects(db, a.id, a.debtor_ids[1], a.debt_ids[1], None)
    accounts.hidden_escalations = [objects[-1]]
    accounts.hidden_ids = [*a.debtor_ids[1:], *a.debt_ids[1:], recalled, *objects]
    return accounts


def _form(token: str, accounts: Accounts, world) -> dict[str, object]:
    """A form that names the hidden accounts in every field a route might read."""
    hidden = [str(i) for i in accounts.hidden_ids]
    return {
        "_csrf_token": token,
        "debt_id": [str(d) for d in accounts.hidden_debts],
        "escalation_id": [str(e) for e in accounts.hidden_escalations],
        "handover_id": [str(h) for h in accounts.hidden_handovers],
        "debtor_id": hidden[0],
        "kind": "protesto",
        "reason": "Sondagem de escopo da assessoria",
        "text": "Sondagem",
        "tenant_id": str(world.a.id),
        "_tenant": str(world.a.id),  # the form names the tenant it was made for
        "user_id": str(uuid.uuid4()),
        "posted_on": "2026-01-05",
        "days": "10",
        "q": world.a.debtor_names[1][:-2],
    }


async def _counts(db, tenant_id, debtor_ids, debt_ids) -> dict[str, int]:
    """What the hidden accounts hold: nothing of it may change during the probe."""
    async with db.session(Scope.tenant(tenant_id)) as session:
        escalations = await session.execute(
            select(Escalation.status, func.count())
            .where(Escalation.debt_id.in_(debt_ids))
            .group_by(Escalation.status)
        )
        counts = {f"escalation:{s}": n for s, n in escalations.all()}
        for name, model in (("case", CaseEntry), ("offer", SpecialOffer), ("msg", Message)):
            counts[name] = (
                await session.scalar(
                    select(func.count()).select_from(model).where(model.debtor_id.in_(debtor_ids))
                )
                or 0
            )
        counts["handovers"] = (
            await session.scalar(
                select(func.count())
                .select_from(Handover)
                .where(Handover.debtor_id.in_(debtor_ids), Handover.status == HandoverStatus.ACTIVE)
            )
            or 0
        )
    return counts


def _unclassified(app) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path in _staff_routes(app)
        if not _takes_id(path)
        and (method, path) not in NO_ID_ROUTES
        and (method, path) not in FORM_ID_ROUTES
    ]


def test_every_route_without_an_account_id_is_classified(app):
    """A new portal or API route is probed by path, or named here after a decision."""
    assert _unclassified(app) == [], (
        "classify these routes in NO_ID_ROUTES or FORM_ID_ROUTES (and scope them): "
        f"{_unclassified(app)}"
    )


# A day on which the default régua has something to say about every test account, so the
# dry-run page and the dashboards have the hidden accounts to leak if they could.
PROBE_DAY = datetime(2026, 1, 11, 12, tzinfo=UTC)


@pytest.mark.parametrize("who", [Role.SUPERVISOR, Role.AGENT])
async def test_agency_staff_reach_no_account_that_was_not_handed_over(
    client, app, world, db, who, monkeypatch
):
    monkeypatch.setattr(app.state, "clock", FrozenClock(PROBE_DAY))
    accounts = await _accounts(db, world)
    a = world.a
    hidden_debtors = a.debtor_ids[1:]
    before = await _counts(db, a.id, hidden_debtors, accounts.hidden_debts)
    email = world.agency_users[who]
    await login(client, email, PASSWORD)
    token = await csrf(client, "/portal/home")
    probed = 0
    for method, path in _staff_routes(app):
        targets = [_fill(path, i) for i in accounts.hidden_ids] if _takes_id(path) else [path]
        for url in targets:
            if method == "GET":
                response = await client.get(url, params={"q": a.debtor_names[1][:-2]})
            else:
                response = await client.request(
                    method, url, data=_form(token, accounts, world), follow_redirects=False
                )
            probed += 1
            for marker in accounts.hidden_markers:
                assert marker not in response.text, f"{method} {url} showed {marker!r}"
            if _takes_id(path) or (method, path) in FORM_ID_ROUTES:
                allowed = (401, 403, 404, 405) if path.startswith("/api") else (403, 404, 405)
                assert response.status_code in allowed, (
                    f"{method} {url} answered {response.status_code}"
                )
            if path.startswith("/api") and (method, path) not in API_PUBLIC:
                assert not 200 <= response.status_code < 300, f"{method} {url} let a cookie in"
        if (await client.get("/portal/home")).status_code != 200:
            await login(client, email, PASSWORD)
            token = await csrf(client, "/portal/home")
    assert probed > 60
    assert await _counts(db, a.id, hidden_debtors, accounts.hidden_debts) == before


async def test_a_write_on_an_account_not_handed_over_answers_404(client, world, db):
    """The supervisor's negativação notice for an account never handed over (the
    reported case): 404, not 403, and nothing written."""
    accounts = await _accounts(db, world)
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    token = await csrf(client, "/portal/escalonamento")
    for debt_id in accounts.hidden_debts:
        response = await client.post(
            "/portal/escalonamento/avisos",
            data={"_csrf_token": token, "_tenant": str(world.a.id), "debt_id": [str(debt_id)]},
            follow_redirects=False,
        )
        assert response.status_code == 404
    response = await client.post(
        "/portal/escalonamento/negativar",
        data={
            "_csrf_token": token,
            "_tenant": str(world.a.id),
            "escalation_id": [str(accounts.hidden_escalations[0])],
        },
        follow_redirects=False,
    )
    assert response.status_code == 404
    response = await client.post(
        f"/portal/escalonamento/{accounts.hidden_escalations[0]}/cancelar",
        data={"_csrf_token": token, "_tenant": str(world.a.id), "reason": "Sondagem de escopo"},
        follow_redirects=False,
    )
    assert response.status_code == 404
    async with db.session(Scope.tenant(world.a.id)) as session:
        made = await session.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(Escalation.debt_id.in_(accounts.hidden_debts))
        )
    assert made == 1  # only the one the creditor itself had made


async def test_a_handed_over_account_still_works_for_agency_staff(client, world, db):
    accounts = await _accounts(db, world)
    a = world.a
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    listing = await client.get("/portal/debtors")
    assert listing.status_code == 200
    assert a.debtor_names[0] in listing.text
    assert all(marker not in listing.text for marker in accounts.hidden_markers)
    search = await client.get("/portal/debtors", params={"q": a.debtor_names[0]})
    assert a.debtor_names[0] in search.text
    page = await client.get(f"/portal/debtors/{accounts.shown_debtor}")
    assert page.status_code == 200 and a.contracts[0] in page.text
    debt = await client.get(f"/portal/debts/{accounts.shown_debt}")
    assert debt.status_code == 200 and a.contracts[0] in debt.text
    work = await client.get(f"/portal/agencia/contas/{accounts.shown_handover}")
    assert work.status_code == 200 and a.debtor_names[0] in work.text
    token = await csrf(client, "/portal/escalonamento")
    notice = await client.post(
        "/portal/escalonamento/avisos",
        data={
            "_csrf_token": token,
            "_tenant": str(world.a.id),
            "debt_id": [str(accounts.shown_debt)],
        },
        follow_redirects=False,
    )
    # Made, or refused for a reason of law that names the debt: never "not found".
    assert notice.status_code in (303, 400), notice.status_code
    if notice.status_code == 400:
        assert a.contracts[0] in notice.text


async def test_the_regua_dry_run_lists_only_handed_over_accounts(
    client, app, world, db, monkeypatch
):
    monkeypatch.setattr(app.state, "clock", FrozenClock(PROBE_DAY))
    accounts = await _accounts(db, world)
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    creditor = await client.get("/portal/regua/previa")
    assert world.a.contracts[1] in creditor.text  # the creditor sees its whole portfolio
    await client.post("/portal/logout", data={"_csrf_token": csrf_from(creditor.text)})
    await login(client, world.agency_users[Role.SUPERVISOR], PASSWORD)
    agency = await client.get("/portal/regua/previa")
    assert agency.status_code == 200
    assert world.a.contracts[0] in agency.text
    assert all(marker not in agency.text for marker in accounts.hidden_markers)


async def test_the_creditors_own_staff_still_see_every_account(client, world, db):
    accounts = await _accounts(db, world)
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    listing = await client.get("/portal/debtors")
    for name in world.a.debtor_names:
        assert name in listing.text
    hidden = await client.get(f"/portal/debts/{accounts.hidden_debts[0]}")
    assert hidden.status_code == 200


async def test_an_agency_scope_hides_rows_of_accounts_not_handed_over(db, world):
    """The session rule itself: reads, updates and unknown tables (fail closed)."""
    accounts = await _accounts(db, world)
    a = world.a
    scope = Scope.tenant(a.id, agency_id=world.agency_id)
    async with db.session(scope) as session:
        assert set(await session.scalars(select(Debtor.id))) == {accounts.shown_debtor}
        assert set(await session.scalars(select(Debt.id))) == {accounts.shown_debt}
        assert await session.get(Debt, accounts.hidden_debts[0]) is None
        assert list(await session.scalars(select(Escalation.id))) == []
        assert list(await session.scalars(select(Agreement.id))) == []
        assert list(await session.scalars(select(NoticeBatch.id))) == []
        # Tables that belong to the creditor, not to an account: nothing at all.
        assert await session.scalar(select(func.count()).select_from(TenantMembership)) == 0
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0
        changed = await session.execute(
            update(Debt).where(Debt.id.in_(accounts.hidden_debts)).values(product="X")
        )
        assert changed.rowcount == 0  # type: ignore[attr-defined]
        await session.commit()
    async with db.session(Scope.tenant(a.id)) as session:
        products = set(await session.scalars(select(Debt.product)))
        assert "X" not in products
        assert len(list(await session.scalars(select(Debt.id)))) == 3


async def test_an_agency_scope_refuses_to_write_for_an_account_it_does_not_see(db, world):
    """Defence in depth: a row tied to a hidden account is refused at flush, even when
    written by id without being read first; the handed-over account takes it."""
    accounts = await _accounts(db, world)
    a = world.a
    scope = Scope.tenant(a.id, agency_id=world.agency_id)
    hidden_rows = [
        CaseEntry(debtor_id=a.debtor_ids[1], kind=CaseEntryKind.NOTE, at=datetime.now(UTC)),
        Escalation(
            debt_id=accounts.hidden_debts[0],
            kind=EscalationKind.NEGATIVACAO,
            status="notice_pending",
            amount=1,
        ),
    ]
    for row in hidden_rows:
        async with db.session(scope) as session:
            session.add(row)
            with pytest.raises(TenantScopeError):
                await session.flush()
    async with db.session(scope) as session:
        session.add(
            CaseEntry(
                debtor_id=accounts.shown_debtor, kind=CaseEntryKind.NOTE, at=datetime.now(UTC)
            )
        )
        await session.commit()
    async with db.session(Scope.tenant(a.id)) as session:
        notes = await session.scalars(select(CaseEntry.debtor_id).where(CaseEntry.text == ""))
        assert set(notes) == {accounts.shown_debtor}


async def test_an_agency_scope_counts_only_the_handed_over_accounts(db, world):
    """Totals and dashboards computed in an agency scope: one account of three."""
    await _accounts(db, world)
    async with db.session(Scope.tenant(world.a.id, agency_id=world.agency_id)) as session:
        totals = await portfolio_totals(session)
    async with db.session(Scope.tenant(world.a.id)) as session:
        whole = await portfolio_totals(session)
    assert whole["debtors"] == 3
    assert totals["debtors"] == 1
    assert (whole["open_debts"], totals["open_debts"]) == (3, 1)
    assert totals["installments"] == 1


async def test_two_agencies_of_one_creditor_each_see_only_their_own_accounts(db, world):
    """The same statement, alternating between two agency scopes: no stale criteria."""
    a = world.a
    await hand_over(db, a.id, a.debtor_ids[0], world.agency_id)
    async with db.session(Scope.system()) as session:
        other = await create_agency(
            session, slug=f"ag2-{uuid.uuid4().hex[:8]}", name="Outra", cnpj=valid_cnpj(Random())
        )
        await session.flush()
        grant_agency(session, await session.get_one(Tenant, a.id), other)
        await session.commit()
    await hand_over(db, a.id, a.debtor_ids[1], other.id)
    expected = {world.agency_id: {a.debtor_ids[0]}, other.id: {a.debtor_ids[1]}}
    for agency_id in [world.agency_id, other.id, world.agency_id, other.id]:
        async with db.session(Scope.tenant(a.id, agency_id=agency_id)) as session:
            assert set(await session.scalars(select(Debtor.id))) == expected[agency_id]
            debts = set(await session.scalars(select(Debt.debtor_id)))
            assert debts == expected[agency_id]


@pytest.mark.parametrize("who", [Role.SUPERVISOR, Role.AGENT])
async def test_agency_staff_cannot_mint_an_api_client_of_the_creditor(client, world, db, who):
    """An API token sees the creditor's whole tenant, so agency staff never get one."""
    await login(client, world.agency_users[who], PASSWORD)
    token = await csrf(client, "/portal/home")
    made = await client.post(
        "/portal/api",
        data={
            "_csrf_token": token,
            "_tenant": str(world.a.id),
            "name": "Assessoria",
            "scopes": ["debts:read", "agreements:read"],
        },
        follow_redirects=False,
    )
    assert made.status_code == 403
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(ApiClient)) == 0
