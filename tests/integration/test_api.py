"""The creditor REST API: OAuth2 client-credentials tokens, every endpoint, tenancy,
cursor pagination, problem details."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from collection.models import Debt, ImportJob, ImportStatus
from core.clock import FrozenClock
from core.db import Scope
from tenants.models import ApiToken, AuditEvent, Tenant
from tenants.services import api_clients
from tests.integration.test_imports import ROWS, csv_bytes

ALL = " ".join(api_clients.SCOPES)
TOKEN_URL = "/api/v1/oauth/token"
CPF = "111.444.777-35"


@pytest.fixture
def clock(client: Any) -> Iterator[FrozenClock]:
    """The app's clock, frozen at the real now and moved by the test."""
    app = client.app
    before = app.state.clock
    frozen = FrozenClock(datetime.now(UTC))
    app.state.clock = frozen
    yield frozen
    app.state.clock = before


async def make_client(db, tenant_id, scopes: str = ALL) -> api_clients.NewClient:
    async with db.session(Scope.tenant(tenant_id)) as session:
        new = await api_clients.create_client(
            session, name="ERP", scopes=scopes.split(), created_by=None
        )
        await session.commit()
    return new


async def token_for(client, new: api_clients.NewClient, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = await client.post(TOKEN_URL, data=data, auth=(new.client.client_id, new.secret))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_debt(contract: str, cpf: str = CPF, **extra: Any) -> dict[str, Any]:
    return {
        "contract": contract,
        "product": "Cartão",
        "debtor": {"cpf": cpf, "name": "Maria da Silva", "email": "maria@example.com"},
        "installments": [
            {"number": 1, "due_date": "2025-03-05", "amount": 123456},
            {"number": 2, "due_date": "2025-04-05", "amount": 10000},
        ],
        **extra,
    }


# -- tokens ------------------------------------------------------------------------------


async def test_token_endpoint_issues_a_short_lived_bearer_token(client, world, db):
    new = await make_client(db, world.a.id, "debts:read policy:read")
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": new.client.client_id,
            "client_secret": new.secret,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["scope"] == "debts:read policy:read"
    assert response.headers["cache-control"] == "no-store"
    async with db.session(Scope.system()) as session:
        stored = await session.get(ApiToken, body["access_token"])
        assert stored is None  # only the digest is kept
        rows = (
            await session.scalars(select(ApiToken).where(ApiToken.client_id == new.client.id))
        ).all()
        assert len(rows) == 1 and rows[0].tenant_id == world.a.id


async def test_wrong_secret_or_unknown_client_is_401_invalid_client(client, world, db):
    new = await make_client(db, world.a.id)
    wrong = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        auth=(new.client.client_id, new.secret + "x"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": "qc_nope", "client_secret": "x"},
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


async def test_unsupported_grant_type_is_400(client, world, db):
    new = await make_client(db, world.a.id)
    response = await client.post(
        TOKEN_URL, data={"grant_type": "password"}, auth=(new.client.client_id, new.secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_token_scope_must_be_a_subset_of_the_clients(client, world, db):
    new = await make_client(db, world.a.id, "debts:read policy:read")
    narrower = await token_for(client, new, scope="policy:read")
    assert (await client.get("/api/v1/policy", headers=bearer(narrower))).status_code == 200
    # The narrower token does not carry debts:read even though the client has it.
    assert (await client.get("/api/v1/debts", headers=bearer(narrower))).status_code == 403
    wider = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "scope": "debts:write"},
        auth=(new.client.client_id, new.secret),
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


async def test_expired_token_is_401_with_bearer_challenge(client, world, db, clock):
    new = await make_client(db, world.a.id)
    token = await token_for(client, new)
    assert (await client.get("/api/v1/debts", headers=bearer(token))).status_code == 200
    clock.advance(timedelta(minutes=15, seconds=1))
    expired = await client.get("/api/v1/debts", headers=bearer(token))
    assert expired.status_code == 401
    assert expired.headers["content-type"].startswith("application/problem+json")
    assert expired.headers["www-authenticate"].startswith("Bearer")
    assert expired.json()["status"] == 401


async def test_revoked_client_gets_no_token_and_its_tokens_stop_working(client, world, db):
    new = await make_client(db, world.a.id)
    token = await token_for(client, new)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await api_clients.revoke_client(session, new.client.id, datetime.now(UTC))
        await session.commit()
    assert (await client.get("/api/v1/debts", headers=bearer(token))).status_code == 401
    again = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        auth=(new.client.client_id, new.secret),
    )
    assert again.status_code == 401


async def test_missing_or_garbage_token_is_401(client):
    missing = await client.get("/api/v1/debts")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == (
        'Bearer realm="quita"'
    )
    garbage = await client.get("/api/v1/debts", headers=bearer("not-a-token"))
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]


async def test_missing_scope_is_403_problem(client, world, db):
    new = await make_client(db, world.a.id, "debts:read")
    token = await token_for(client, new)
    response = await client.put("/api/v1/policy", headers=bearer(token), json={"toml": "x = 1"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:quita:problem:insufficient-scope"


# -- debts -------------------------------------------------------------------------------


async def test_create_read_and_update_a_debt(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    created = await client.post("/api/v1/debts", headers=bearer(token), json=new_debt("API-1"))
    assert created.status_code == 201, created.text
    debt = created.json()
    assert debt["original_amount"] == 133456 and debt["due_date"] == "2025-03-05"
    assert debt["debtor"]["cpf"] == "11144477735"  # the tenant's own debtor, whole
    assert debt["portfolio"] == "Carteira principal" and debt["status"] == "open"
    shown = await client.get(f"/api/v1/debts/{debt['id']}", headers=bearer(token))
    assert shown.status_code == 200 and shown.json() == debt
    changed = await client.patch(
        f"/api/v1/debts/{debt['id']}",
        headers=bearer(token),
        json={
            "product": "Loja",
            "installments": [{"number": 2, "due_date": "2025-04-05", "amount": 5000}],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["product"] == "Loja" and body["original_amount"] == 5000
    assert [i["number"] for i in body["installments"]] == [2]
    assert body["due_date"] == "2025-04-05"
    settled = await client.patch(
        f"/api/v1/debts/{debt['id']}", headers=bearer(token), json={"status": "regularized"}
    )
    assert settled.json()["status"] == "regularized"
    async with db.session(Scope.tenant(world.a.id)) as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.target == debt["id"]))
        ).all()
        assert "api.debt_created" in actions and "api.debt_updated" in actions


async def test_same_contract_twice_in_a_portfolio_is_409(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    first = await client.post("/api/v1/debts", headers=bearer(token), json=new_debt("API-2"))
    assert first.status_code == 201
    second = await client.post("/api/v1/debts", headers=bearer(token), json=new_debt("API-2"))
    assert second.status_code == 409
    assert second.json()["errors"][0]["field"] == "contract"


async def test_schema_breaking_body_is_400_naming_the_field(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    body = new_debt("API-3")
    body["installments"][0]["amount"] = "doze reais"
    response = await client.post("/api/v1/debts", headers=bearer(token), json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    assert any("amount" in e["field"] for e in problem["errors"]), problem


async def test_rule_breaking_values_are_400_naming_every_field(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    body = new_debt("API-4", cpf="111.444.777-36")
    body["installments"][1]["number"] = 1
    body["debtor"]["email"] = "not-an-email"
    response = await client.post("/api/v1/debts", headers=bearer(token), json=body)
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"debtor.cpf", "debtor.email", "installments[1].number"}


async def test_debt_in_an_agreement_cannot_change(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    async with db.session(Scope.tenant(world.a.id)) as session:
        debt = await session.get_one(Debt, world.a.debt_ids[0])
        debt.status = "in_agreement"
        await session.commit()
    response = await client.patch(
        f"/api/v1/debts/{world.a.debt_ids[0]}", headers=bearer(token), json={"product": "X"}
    )
    assert response.status_code == 409


async def test_token_of_tenant_a_on_tenant_b_debt_is_404(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    other = world.b.debt_ids[0]
    shown = await client.get(f"/api/v1/debts/{other}", headers=bearer(token))
    assert shown.status_code == 404
    assert shown.headers["content-type"].startswith("application/problem+json")
    changed = await client.patch(
        f"/api/v1/debts/{other}", headers=bearer(token), json={"status": "written_off"}
    )
    assert changed.status_code == 404
    listed = await client.get(
        "/api/v1/debts", headers=bearer(token), params={"contract": world.b.contracts[0]}
    )
    assert listed.json()["items"] == []


async def test_cursor_pagination_walks_every_debt_exactly_once(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    for n in range(4):
        created = await client.post(
            "/api/v1/debts", headers=bearer(token), json=new_debt(f"PG-{n}")
        )
        assert created.status_code == 201
    expected = {str(i) for i in world.a.debt_ids}
    async with db.session(Scope.tenant(world.a.id)) as session:
        expected = {str(i) for i in (await session.scalars(select(Debt.id))).all()}
    assert len(expected) == 7
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/debts", headers=bearer(token), params=params)).json()
        seen += [d["id"] for d in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) and set(seen) == expected


async def test_bad_cursor_is_400_naming_it(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    fake = base64.urlsafe_b64encode(b"[1,2]").decode()
    for cursor in ("@@@", fake):
        response = await client.get(
            "/api/v1/debts", headers=bearer(token), params={"cursor": cursor}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_debt_filters_by_cpf_status_and_created_since(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id))
    created = await client.post("/api/v1/debts", headers=bearer(token), json=new_debt("F-1"))
    debt_id = created.json()["id"]
    by_cpf = await client.get("/api/v1/debts", headers=bearer(token), params={"cpf": "11144477735"})
    assert [d["id"] for d in by_cpf.json()["items"]] == [debt_id]
    shared = await client.get(
        "/api/v1/debts", headers=bearer(token), params={"cpf": world.shared_cpf}
    )
    assert [d["id"] for d in shared.json()["items"]] == [str(world.a.debt_ids[0])]
    await client.patch(
        f"/api/v1/debts/{debt_id}", headers=bearer(token), json={"status": "written_off"}
    )
    by_status = await client.get(
        "/api/v1/debts", headers=bearer(token), params={"status": "written_off"}
    )
    assert [d["id"] for d in by_status.json()["items"]] == [debt_id]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = await client.get(
        "/api/v1/debts", headers=bearer(token), params={"created_since": future}
    )
    assert later.json()["items"] == []
    bad = await client.get("/api/v1/debts", headers=bearer(token), params={"cpf": "123"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cpf"


# -- agreements, payments, messages ---------------------------------------------------------


async def _history(db, tenant: Any) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An agreement on the tenant's first debt, a payment of it and a reminder message."""
    from collection.models import (
        Agreement,
        AgreementDebt,
        AgreementInstallment,
        Channel,
        Message,
        Payment,
        PaymentMethod,
    )

    today = datetime.now(UTC).date()
    async with db.session(Scope.tenant(tenant.id)) as session:
        agreement = Agreement(
            id=uuid.uuid4(),
            debtor_id=tenant.debtor_ids[0],
            offer_code="avista",
            kind="cash",
            status="active",
            balance=150_000,
            discount=15_000,
            total=135_000,
            down_payment=135_000,
            monthly_rate="0",
            cet_yearly="0",
            grace_days=5,
            accepted_on=today,
            idempotency_key=uuid.uuid4().hex,
            terms={},
            installments=[AgreementInstallment(number=0, due_date=today, amount=135_000)],
        )
        session.add(agreement)
        await session.flush()
        session.add(AgreementDebt(agreement_id=agreement.id, debt_id=tenant.debt_ids[0]))
        payment = Payment(
            id=uuid.uuid4(),
            agreement_id=agreement.id,
            installment_number=0,
            method=PaymentMethod.PIX,
            amount=135_000,
            idempotency_key=uuid.uuid4().hex,
        )
        message = Message(
            id=uuid.uuid4(),
            subject_key=f"d:{tenant.debt_ids[0]}",
            debtor_id=tenant.debtor_ids[0],
            debt_id=tenant.debt_ids[0],
            channel=Channel.EMAIL,
            planned_for=today,
            send_after=datetime.now(UTC),
            subject="Lembrete",
            body="Olá",
        )
        session.add_all([payment, message])
        await session.commit()
    return agreement.id, payment.id, message.id


async def test_agreements_payments_and_messages_list_the_tenants_own(client, world, db):
    agreement_id, payment_id, message_id = await _history(db, world.a)
    await _history(db, world.b)
    token = await token_for(client, await make_client(db, world.a.id))
    agreements = (await client.get("/api/v1/agreements", headers=bearer(token))).json()
    assert [a["id"] for a in agreements["items"]] == [str(agreement_id)]
    assert agreements["items"][0]["debt_ids"] == [str(world.a.debt_ids[0])]
    by_cpf = await client.get(
        "/api/v1/agreements", headers=bearer(token), params={"cpf": world.shared_cpf}
    )
    assert len(by_cpf.json()["items"]) == 1
    one = await client.get(f"/api/v1/agreements/{agreement_id}", headers=bearer(token))
    assert one.status_code == 200 and one.json()["total"] == 135_000
    payments = (await client.get("/api/v1/payments", headers=bearer(token))).json()
    assert [p["id"] for p in payments["items"]] == [str(payment_id)]
    assert payments["items"][0]["status"] == "pending"
    none_paid = await client.get(
        "/api/v1/payments", headers=bearer(token), params={"status": "succeeded"}
    )
    assert none_paid.json()["items"] == []
    messages = await client.get(
        "/api/v1/messages",
        headers=bearer(token),
        params={"channel": "email", "debt_id": str(world.a.debt_ids[0])},
    )
    assert [m["id"] for m in messages.json()["items"]] == [str(message_id)]
    other = await token_for(client, await make_client(db, world.b.id))
    seen_by_b = await client.get(f"/api/v1/agreements/{agreement_id}", headers=bearer(other))
    assert seen_by_b.status_code == 404


# -- imports and policy ---------------------------------------------------------------------


async def test_upload_through_the_api_creates_the_same_import_job_as_the_portal(
    client, world, db, settings
):
    from tests.integration.test_imports import _run_worker

    token = await token_for(client, await make_client(db, world.a.id, "imports:write"))
    response = await client.post(
        "/api/v1/imports",
        headers=bearer(token),
        data={"portfolio": "Carteira API"},
        files={"file": ("carteira.csv", csv_bytes(ROWS), "text/csv")},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "preview_queued" and job["portfolio"] == "Carteira API"
    assert await _run_worker(db, settings, job["id"]) == "previewed"
    previewed = (await client.get(f"/api/v1/imports/{job['id']}", headers=bearer(token))).json()
    assert previewed["summary"]["dry_run"] is True and previewed["summary"]["created"] == 2
    assert any(i["line"] == 5 for i in previewed["summary"]["rejected"])
    confirmed = await client.post(f"/api/v1/imports/{job['id']}/confirm", headers=bearer(token))
    assert confirmed.status_code == 202 and confirmed.json()["status"] == "import_queued"
    assert await _run_worker(db, settings, job["id"]) == "imported"
    done = (await client.get(f"/api/v1/imports/{job['id']}", headers=bearer(token))).json()
    assert done["status"] == "imported" and done["summary"]["dry_run"] is False
    async with db.session(Scope.tenant(world.a.id)) as session:
        stored = await session.get_one(ImportJob, uuid.UUID(job["id"]))
        assert stored.status is ImportStatus.IMPORTED and stored.created_by is None
        assert await session.scalar(select(Debt.id).where(Debt.contract == "C-1")) is not None
    other = await token_for(client, await make_client(db, world.b.id, "imports:write"))
    assert (
        await client.get(f"/api/v1/imports/{job['id']}", headers=bearer(other))
    ).status_code == 404


async def test_an_unreadable_file_is_400_naming_the_file(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id, "imports:write"))
    response = await client.post(
        "/api/v1/imports",
        headers=bearer(token),
        files={"file": ("x.csv", b"\x00\x01\x02 not a sheet", "text/csv")},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


GOOD_POLICY = """
name = "Política da API"
[charges]
late_fee_rate = "2%"
[[buckets]]
min_days = 0
max_installments = 6
monthly_rate = "1%"
"""


async def test_policy_is_read_and_replaced_and_a_bad_file_is_400(client, world, db):
    token = await token_for(client, await make_client(db, world.a.id, "policy:read policy:write"))
    default = (await client.get("/api/v1/policy", headers=bearer(token))).json()
    assert default["is_default"] is True and "[[buckets]]" in default["toml"]
    replaced = await client.put("/api/v1/policy", headers=bearer(token), json={"toml": GOOD_POLICY})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"toml": GOOD_POLICY, "is_default": False}
    bad = await client.put(
        "/api/v1/policy",
        headers=bearer(token),
        json={"toml": GOOD_POLICY.replace("max_installments = 6", "max_installments = 500")},
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "buckets[0].max_installments"
    async with db.session(Scope.tenant(world.a.id)) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        assert tenant.policy_toml == GOOD_POLICY
    async with db.session(Scope.tenant(world.b.id)) as session:
        assert (await session.get_one(Tenant, world.b.id)).policy_toml is None


async def test_openapi_document_describes_the_api_only(client):
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["info"]["title"] == "Quita API"
    assert all(path.startswith("/api/v1/") for path in doc["paths"])
    assert "/api/v1/debts" in doc["paths"] and "/api/v1/oauth/token" in doc["paths"]
    flows = doc["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/api/v1/oauth/token"


async def test_unknown_api_path_is_a_problem_and_portal_errors_stay_html(client):
    api = await client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["type"] == "about:blank"
    page = await client.get("/portal/nothing-here")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
