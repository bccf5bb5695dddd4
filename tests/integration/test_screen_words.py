"""No English or code words on screen (issue 25 item 11): the audit log, an account's
history and the dashboard show pt-BR labels from the catalog, never the codes behind
them, and numbers and sizes the Brazilian way."""

from __future__ import annotations

import ast
import html as html_lib
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    Payment,
    PaymentMethod,
    SiteVisit,
)
from collection.reports.audit_log import action_label
from core.db import Scope
from core.i18n import file_size, gettext, number
from tenants.models import User
from tenants.roles import Role
from tenants.services import audit
from tests.conftest import login
from tests.factories import PASSWORD

# Codes that must never reach the screen as they are stored.
RAW_CODES = (
    "user.invited",
    "agreement.created",
    "agreement.status",
    "webhooks.test_sent",
    "income_drop",
    "down-payment",
    "installments-",
    "offer_seen",
    "awaiting_first_payment",
    "in_agreement",
    "card",
    "email",
)


def _visible(page: str) -> str:
    """The text a person sees: no tags, no attributes, entities decoded."""
    body = page.split("<main", 1)[-1]
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def _no_raw_codes(page: str) -> None:
    text = _visible(page)
    for code in RAW_CODES:
        assert not re.search(rf"(?<![\w-]){re.escape(code)}", text), code
    # "0.25", "1.7 KB": a decimal point (thousands "1.500,00" and IPs are fine).
    decimal = re.search(r"(?<![\d.])\d+\.\d{1,2}(?![\d.,])", text)
    assert decimal is None, decimal
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)


async def _history(db, world) -> dict[str, uuid.UUID]:
    """An account of tenant A with a settled agreement (reason: income drop), a card
    payment, an offer seen on the debtor site and audit lines naming people and rows."""
    tenant_id = world.a.id
    debtor_id, debt_id = world.a.debtor_ids[0], world.a.debt_ids[0]
    agreement_id = uuid.uuid4()
    async with db.session(Scope.system()) as session:
        analyst = await session.scalar(
            select(User.id).where(User.email == world.a.users[Role.ANALYST])
        )
    assert analyst is not None
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            Agreement(
                id=agreement_id,
                debtor_id=debtor_id,
                offer_code="down-payment+5",
                kind="installments",
                status="paid",
                balance=150_000,
                discount=0,
                total=150_000,
                down_payment=25_000,
                monthly_rate="0",
                cet_yearly="0",
                grace_days=0,
                accepted_on=date(2026, 2, 1),
                reason="income_drop",
                idempotency_key=uuid.uuid4().hex,
                terms={},
                installments=[
                    AgreementInstallment(number=1, due_date=date(2026, 3, 1), amount=150_000)
                ],
            )
        )
        await session.flush()
        session.add_all(
            [
                AgreementDebt(agreement_id=agreement_id, debt_id=debt_id),
                Payment(
                    agreement_id=agreement_id,
                    installment_number=1,
                    method=PaymentMethod.CARD,
                    amount=150_000,
                    idempotency_key=uuid.uuid4().hex,
                ),
                SiteVisit(
                    debtor_id=debtor_id,
                    what="offer_seen",
                    details={"code": "down-payment+5"},
                    at=datetime(2026, 1, 30, 12, tzinfo=UTC),
                ),
            ]
        )
        actor = audit.Actor(user_id=None, label="Owner a", ip="127.0.0.1", tenant_id=tenant_id)
        audit.record(session, actor, "user.invited", target=str(analyst))
        audit.record(
            session,
            actor,
            "agreement.created",
            target=str(agreement_id),
            details={"reason": "income_drop"},
        )
        audit.record(
            session, actor, "agreement.status", target=str(agreement_id), details={"to": "paid"}
        )
        audit.record(session, actor, "webhooks.test_sent", target=str(uuid.uuid4()))
        await session.commit()
    return {"agreement": agreement_id, "analyst": analyst, "debtor": debtor_id}


async def test_audit_log_history_and_dashboard_speak_portuguese(client, world, db):
    ids = await _history(db, world)
    await login(client, world.a.users[Role.OWNER], PASSWORD)

    audit_page = (await client.get("/portal/audit")).text
    _no_raw_codes(audit_page)
    seen = _visible(audit_page)
    for label in ("Pessoa convidada", "Acordo feito", "Situação do acordo alterada"):
        assert label in seen
    assert "Evento de teste enviado" in seen
    # Targets by what they name: the invited person, the agreement's account.
    assert "Analyst a" in seen
    name = world.a.debtor_names[0]
    assert f"Acordo de {name}" in seen
    assert f'href="/portal/debtors/{ids["debtor"]}"' in audit_page

    history = (await client.get(f"/portal/debtors/{ids['debtor']}")).text
    _no_raw_codes(history)
    seen = _visible(history)
    for label in ("Cartão", "queda de renda", "Entrada + 5 parcelas", "quitado"):
        assert label in seen, label
    assert "paga" not in seen.split()  # an acordo is "quitado", not "paga"

    dashboard = await client.get("/portal/painel", params={"de": "2026-01", "ate": "2026-03"})
    assert dashboard.status_code == 200
    _no_raw_codes(dashboard.text)
    # Count axes tick at whole numbers (issue 24): no fractional count, in any locale.
    assert "0,25" not in dashboard.text
    assert "0.25" not in dashboard.text


def _constants(node: ast.AST, assigned: dict[str, set[str]]) -> set[str]:
    """The action codes an argument can be: a string, either side of ``a if c else b``,
    an escalation kind in an f-string, or what a local name was assigned."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _constants(node.body, assigned) | _constants(node.orelse, assigned)
    if isinstance(node, ast.JoinedStr):
        from collection.models import EscalationKind

        template = "".join(
            str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
        )
        return {template.format(k.value) for k in EscalationKind}
    if isinstance(node, ast.Name):
        return assigned.get(node.id, set())
    return set()


def _audited_actions() -> set[str]:
    """Every action passed to ``audit.record`` (or a module's ``_audit`` wrapper), or
    given to ``AuditEvent(action=...)``, anywhere in the application."""
    root = Path(__file__).resolve().parents[2]
    actions: set[str] = set()
    for folder in ("collection", "tenants", "portal", "debtor_site", "workers", "quita"):
        for path in (root / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assigned: dict[str, set[str]] = {}
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                ):
                    assigned.setdefault(node.targets[0].id, set()).add(node.value.value)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                arg: ast.AST | None = None
                if name in ("record", "_audit") and len(node.args) > 2:
                    arg = node.args[2]
                for keyword in node.keywords:
                    if keyword.arg == "action" and name in ("record", "_audit", "AuditEvent"):
                        arg = keyword.value
                if arg is not None:
                    actions |= {a for a in _constants(arg, assigned) if "." in a or a == "logout"}
    return actions


def test_every_audited_action_has_a_portuguese_label():
    actions = _audited_actions()
    assert {"user.invited", "logout", "escalation.protesto_exported"} <= actions
    assert len(actions) > 70
    missing = sorted(a for a in actions if action_label(a) == gettext("Other action"))
    assert missing == []


def test_numbers_and_sizes_the_brazilian_way():
    assert file_size(1_741) == "1,7 kB"
    assert file_size(327_680) == "320 kB"
    assert file_size(2_516_582) == "2,4 MB"
    assert file_size(512) == "512 bytes"
    assert number(0.25) == "0,25"
    assert number(1234) == "1.234"
    assert number(2.5) == "2,5"
