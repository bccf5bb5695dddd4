"""The name cleared at once (issue 21, piece 5): a confirmed payment that meets an
agreement's condition for removing its negativação sends a job within the payment's
commit; the job requests the removal (once, however often it runs), the debtor sees the
status on the agreement page and the bureau file carries the removal."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from collection.escalation import name_clearing
from collection.models import AgreementDebt, Debt, Escalation, Payment
from core.clock import local_today
from core.db import Scope
from core.tasks import set_task_sender
from integrations.gateways import ProviderGateway
from tenants.roles import Role
from tests.conftest import login
from tests.factories import PASSWORD
from tests.fake_psp import Client, FakePsp, RunningPsp, make_pki
from tests.integration.test_escalation import PAGE, _listed, _rows
from tests.integration.test_payments import _agreement, _pay
from tests.integration.test_pix_psp import ALL, KEY, _apply_stored, _choose_psp, _gateway
from workers.actors import BrokerTaskSender


@pytest.fixture
async def fake(app: Any, tmp_path: Path) -> AsyncIterator[FakePsp]:
    """The fake PSP on loopback, and the app's gateway reaching it."""
    pki = make_pki(tmp_path / "pki")
    running = RunningPsp(FakePsp(pki, keys={KEY}, clients={"quita": Client("s3cret-psp", ALL)}))
    psp = running.start()
    before = app.state.gateway
    app.state.gateway = ProviderGateway(None, _gateway(psp, pki))
    try:
        yield psp
    finally:
        app.state.gateway = before
        running.stop()


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str | int, ...]]] = []

    def send(self, actor_name: str, *args: str | int) -> None:
        self.sent.append((actor_name, args))


async def test_a_confirmed_first_payment_requests_the_removal_within_the_payments_job(
    client,
    world,
    db,
    fake,
    app,
):
    assert (await _choose_psp(client, world)).status_code in (302, 303)
    client.cookies.clear()
    url = await _agreement(client, world)
    agreement_id = uuid.UUID(url.rsplit("/", 1)[1])
    today = local_today(app.state.clock)
    async with db.session(Scope.system()) as session:
        debt_id, contract = (
            await session.execute(
                select(Debt.id, Debt.contract)
                .join(AgreementDebt, AgreementDebt.debt_id == Debt.id)
                .where(AgreementDebt.agreement_id == agreement_id)
                .limit(1)
            )
        ).one()
    esc_id = await _listed(db, world.a.id, debt_id, today - timedelta(days=40))
    page = await client.get(url)
    assert "O seu nome nos birôs de crédito" in page.text and "negativado" in page.text

    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id
    _url, body = fake.pay(payment.provider_id)
    await client.post("/webhooks/psp/pix", content=json.dumps(body).encode())
    recording = Recording()
    set_task_sender(recording)
    try:
        assert await _apply_stored(db, payment.provider_id) == ["succeeded"]
    finally:
        set_task_sender(BrokerTaskSender(app.state.actors))
    jobs = [sent for sent in recording.sent if sent[0] == name_clearing.CLEAR_NAMES]
    assert jobs == [(name_clearing.CLEAR_NAMES, (str(agreement_id),))]
    assert name_clearing.CLEAR_NAMES in app.state.actors

    # The worker's job, twice (a redelivery): one removal request, dated today.
    assert (await name_clearing.clear_names(db, agreement_id, today))["removal_paid"] == 1
    assert (await name_clearing.clear_names(db, agreement_id, today))["removal_paid"] == 0
    async with db.session(Scope.tenant(world.a.id)) as session:
        esc = await session.get_one(Escalation, esc_id)
    assert (esc.status, esc.removal_requested_on, esc.reason) == (
        "removal_requested",
        today,
        "paid",
    )
    page = await client.get(url)
    assert "retirada solicitada" in page.text and today.strftime("%d/%m/%Y") in page.text

    client.cookies.clear()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    report = await client.get(f"{PAGE}/arquivo-bureau.csv", params={"de": str(today)})
    actions = [r[0] for r in _rows(report.content)[1:] if r[9] == contract]
    assert "exclusao" in actions


async def test_a_payment_with_nothing_listed_sends_no_job(
    client,
    world,
    db,
    fake,
    app,
):
    assert (await _choose_psp(client, world)).status_code in (302, 303)
    client.cookies.clear()
    url = await _agreement(client, world)
    page = await client.get(url)
    assert "O seu nome nos birôs de crédito" not in page.text
    await _pay(client, url, "pix")
    async with db.session(Scope.tenant(world.a.id)) as session:
        payment = await session.scalar(select(Payment).order_by(Payment.created_at.desc()))
    assert payment is not None and payment.provider_id
    _url, body = fake.pay(payment.provider_id)
    await client.post("/webhooks/psp/pix", content=json.dumps(body).encode())
    recording = Recording()
    set_task_sender(recording)
    try:
        assert await _apply_stored(db, payment.provider_id) == ["succeeded"]
    finally:
        set_task_sender(BrokerTaskSender(app.state.actors))
    assert name_clearing.CLEAR_NAMES not in [name for name, _args in recording.sent]
