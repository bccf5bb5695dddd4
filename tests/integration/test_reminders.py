"""The régua: planned once from the database, contact rules enforced and recorded,
delivered through the channels with retries, previewed before it is switched on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from collection.models import (
    Channel,
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Dispute,
    Message,
    MessageStatus,
    ReminderStep,
)
from collection.regua import service as reminders
from collection.regua.service import ChannelError, Delivery
from core.db import Database, Scope
from tenants.models import Tenant
from tests.conftest import TEST_SECRET

# The world's debt 0 falls due on 2026-01-10 (a Saturday); D+3 is Tuesday 2026-01-13.
D3 = date(2026, 1, 13)
MORNING = datetime(2026, 1, 13, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
SUNDAY_NIGHT = datetime(2026, 1, 19, 1, 0, tzinfo=UTC)  # Sunday 22:00 in São Paulo
KEY = TEST_SECRET  # signs the opt-out links, as the app's secret key does


class Recorder:
    """A channel that records what it is asked to send (or fails as told)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Channel, str, str, str, str]] = []
        self.unsubscribe: list[str] = []
        self.fail: ChannelError | None = None

    async def send(
        self,
        channel: Channel,
        to: str,
        subject: str,
        body: str,
        reference: str,
        *,
        unsubscribe_url: str = "",
        content_sid: str = "",
        content_variables: str = "",
    ) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append((channel, to, subject, body, reference))
        self.unsubscribe.append(unsubscribe_url)
        return f"rec-{len(self.sent)}"


@pytest.fixture
async def regua(db: Database, world) -> AsyncIterator[uuid.UUID]:
    """Creditor A's default régua, switched on for the test."""
    tenant_id = world.a.id
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == tenant_id).values(reminders_enabled=True)
        )
        await session.commit()
    yield tenant_id
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == tenant_id).values(reminders_enabled=False)
        )
        await session.execute(delete(Message).where(Message.tenant_id == tenant_id))
        await session.commit()


async def _messages(db: Database, tenant_id: uuid.UUID) -> list[Message]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        return list(await session.scalars(select(Message).order_by(Message.created_at)))


async def test_every_new_creditor_gets_the_default_regua_switched_off(db, world):
    async with db.session(Scope.tenant(world.a.id)) as session:
        steps = list(await session.scalars(select(ReminderStep)))
        tenant = await session.get_one(Tenant, world.a.id)
    assert len(steps) == 9 and not tenant.reminders_enabled
    assert {s.channel for s in steps} == {Channel.EMAIL, Channel.SMS, Channel.WHATSAPP}
    assert sorted(s.offset_days for s in steps if s.anchor == "installment_due") == [-3, 0, 1]


async def test_planning_twice_or_on_two_machines_plans_each_message_once(db, world, regua):
    first = await reminders.plan(db, D3, MORNING)
    again = await reminders.plan(db, D3, MORNING)
    # Two planners at the same moment, each with its own connection.
    other = Database(db.url)
    try:
        await asyncio.gather(reminders.plan(db, D3, MORNING), reminders.plan(other, D3, MORNING))
    finally:
        await other.dispose()
    messages = await _messages(db, regua)
    assert first.planned >= 1 and again.planned == 0
    assert len(messages) == len({(m.step_id, m.subject_key) for m in messages})
    (reminder,) = [m for m in messages if m.debt_id == world.a.debt_ids[0]]
    assert reminder.channel == Channel.EMAIL and reminder.status == MessageStatus.PLANNED
    assert reminder.planned_for == D3 and reminder.contact_id is not None


async def test_a_switched_off_regua_plans_nothing(db, world):
    await reminders.plan(db, D3, MORNING)
    assert await _messages(db, world.a.id) == []


async def test_rules_block_and_name_why(db, world, regua):
    _debtor_0, debtor_1, debtor_2 = world.a.debtor_ids
    debt_0, debt_1, debt_2 = world.a.debt_ids
    async with db.session(Scope.tenant(regua)) as session:
        # Debt 1 (due 2025-12-11) and debt 2 (2025-11-11) on D+3 too, for the test.
        await session.execute(
            update(Debt).where(Debt.id.in_([debt_1, debt_2])).values(due_date=date(2026, 1, 10))
        )
        await session.execute(
            update(DebtItem)
            .where(DebtItem.debt_id.in_([debt_1, debt_2]))
            .values(due_date=date(2026, 1, 10))
        )
        # Debtor 1 reported the e-mail as not theirs; debtor 2 stopped e-mails.
        now = datetime(2026, 1, 12, tzinfo=UTC)
        await session.execute(
            update(Contact).where(Contact.debtor_id == debtor_1).values(not_mine_at=now)
        )
        await session.execute(
            update(Contact).where(Contact.debtor_id == debtor_2).values(opted_out_at=now)
        )
        # Debt 0 is disputed.
        session.add(Dispute(debt_id=debt_0, kind="not_mine", text="Não reconheço"))
        await session.commit()
    result = await reminders.plan(db, D3, MORNING)
    by_debt = {m.debt_id: m for m in await _messages(db, regua)}
    assert by_debt[debt_0].rule == "disputed"
    assert by_debt[debt_1].rule == "not_mine"
    assert by_debt[debt_2].rule == "opted_out"
    assert all(m.status == MessageStatus.BLOCKED for m in by_debt.values())
    assert result.blocked == 3


async def test_prescribed_debts_get_no_message(db, world, regua):
    debt_0 = world.a.debt_ids[0]
    old = date(2020, 1, 10)
    async with db.session(Scope.tenant(regua)) as session:
        await session.execute(update(Debt).where(Debt.id == debt_0).values(due_date=old))
        await session.execute(
            update(DebtItem).where(DebtItem.debt_id == debt_0).values(due_date=old)
        )
        # A step that would fire on it today (D+2195).
        session.add(
            ReminderStep(
                name="Antiga",
                anchor="debt_due",
                offset_days=(D3 - old).days,
                channel=Channel.EMAIL,
                body="Olá, {nome}.",
            )
        )
        await session.commit()
    await reminders.plan(db, D3, MORNING)
    (message,) = [m for m in await _messages(db, regua) if m.debt_id == debt_0]
    assert message.status == MessageStatus.BLOCKED and message.rule == "prescribed"


async def test_phone_channels_need_a_phone_and_whatsapp_an_opt_in(db, world, regua):
    debtor_0 = world.a.debtor_ids[0]
    async with db.session(Scope.tenant(regua)) as session:
        session.add(Contact(debtor_id=debtor_0, kind=ContactKind.PHONE, value="+5511987654321"))
        await session.commit()
    # D+10 is SMS, D+20 is WhatsApp (debt 0 falls due on 2026-01-10).
    await reminders.plan(db, date(2026, 1, 20), MORNING + timedelta(days=7))
    await reminders.plan(db, date(2026, 1, 30), MORNING + timedelta(days=17))
    messages = {
        m.channel: m for m in await _messages(db, regua) if m.debt_id == world.a.debt_ids[0]
    }
    assert messages[Channel.SMS].status == MessageStatus.PLANNED
    assert messages[Channel.WHATSAPP].rule == "no_whatsapp_opt_in"
    # Debtor 1 has no phone at all.
    others = [m for m in await _messages(db, regua) if m.debtor_id == world.a.debtor_ids[1]]
    assert all(m.rule == "no_contact" for m in others if m.channel != Channel.EMAIL)


async def test_a_message_due_at_night_waits_for_the_morning(db, world, regua):
    # Planned on Sunday night: São Paulo allows no message on Sundays; Monday 08:00.
    await reminders.plan(db, date(2026, 1, 18), SUNDAY_NIGHT)
    for message in await _messages(db, regua):
        if message.status == MessageStatus.PLANNED:
            assert message.send_after == datetime(2026, 1, 19, 11, 0, tzinfo=UTC)


async def _planned(db: Database, tenant_id: uuid.UUID) -> Message:
    await reminders.plan(db, D3, MORNING)
    (message,) = [m for m in await _messages(db, tenant_id) if m.status == MessageStatus.PLANNED]
    return message


async def _claim_only(db: Database, message_id: uuid.UUID, now: datetime) -> None:
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                status=MessageStatus.SENDING,
                lease_until=now + reminders.LEASE,
                attempts=Message.attempts + 1,
            )
        )
        await session.commit()


async def test_delivery_names_the_creditor_and_never_the_cpf(db, world, regua):
    message = await _planned(db, regua)
    channels = Recorder()
    await _claim_only(db, message.id, MORNING)
    outcome = await reminders.deliver(
        db, Delivery("https://quita.example", channels, KEY), message.id, MORNING
    )
    assert outcome == "sent"
    ((channel, to, subject, body, reference),) = channels.sent
    assert channel == Channel.EMAIL and to.endswith("@example.test")
    tenant = world.a.tenant
    assert tenant.name in subject and tenant.legal_name in body
    cnpj = tenant.cnpj
    assert f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}" in body
    assert "https://quita.example/parar/" in body  # how to stop, in one click
    assert world.a.cpfs[0] not in body and reference == str(message.id)
    (stored,) = [m for m in await _messages(db, regua) if m.id == message.id]
    assert stored.status == MessageStatus.SENT and stored.body == body
    # Delivering again (a redelivered job) sends nothing more.
    again = await reminders.deliver(
        db, Delivery("https://quita.example", channels, KEY), message.id, MORNING
    )
    assert again == "skipped" and len(channels.sent) == 1


async def test_an_opt_out_after_planning_is_honoured_at_once(db, world, regua):
    message = await _planned(db, regua)
    async with db.session(Scope.tenant(regua)) as session:
        await session.execute(
            update(Contact).where(Contact.id == message.contact_id).values(opted_out_at=MORNING)
        )
        await session.commit()
    channels = Recorder()
    await _claim_only(db, message.id, MORNING)
    assert (
        await reminders.deliver(db, Delivery("x", channels, KEY), message.id, MORNING)
        == "opted_out"
    )
    assert channels.sent == []


async def test_frequency_cap_across_creditors(db, world, regua):
    # The shared CPF owes creditors A and B; both régua fire on the same day.
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.b.id).values(reminders_enabled=True)
        )
        await session.execute(
            update(Debt).where(Debt.id == world.b.debt_ids[0]).values(due_date=date(2026, 1, 10))
        )
        await session.commit()
    try:
        await reminders.plan(db, D3, MORNING)
        channels = Recorder()
        delivery = Delivery("x", channels, KEY)
        outcomes = []
        for tenant_id in (world.a.id, world.b.id):
            for message in await _messages(db, tenant_id):
                if message.status == MessageStatus.PLANNED and message.debtor_id in (
                    world.a.debtor_ids[0],
                    world.b.debtor_ids[0],
                ):
                    await _claim_only(db, message.id, MORNING)
                    outcomes.append(await reminders.deliver(db, delivery, message.id, MORNING))
        # One a day per creditor: both go. Then a third from A the same day is capped.
        assert outcomes == ["sent", "sent"]
        async with db.session(Scope.tenant(world.a.id)) as session:
            extra = ReminderStep(
                name="Extra",
                anchor="debt_due",
                offset_days=3,
                channel=Channel.EMAIL,
                body="Oi, {nome}.",
            )
            session.add(extra)
            await session.commit()
        await reminders.plan(db, D3, MORNING)
        (third,) = [
            m
            for m in await _messages(db, world.a.id)
            if m.step_id == extra.id and m.debtor_id == world.a.debtor_ids[0]
        ]
        await _claim_only(db, third.id, MORNING)
        assert await reminders.deliver(db, delivery, third.id, MORNING) == "frequency_cap"
    finally:
        async with db.session(Scope.system()) as session:
            await session.execute(
                update(Tenant).where(Tenant.id == world.b.id).values(reminders_enabled=False)
            )
            await session.execute(delete(Message).where(Message.tenant_id == world.b.id))
            await session.commit()


async def test_a_failing_channel_retries_with_backoff_then_fails_visibly(db, world, regua):
    message = await _planned(db, regua)
    channels = Recorder()
    channels.fail = ChannelError("SMTP fora do ar")
    now = MORNING
    for attempt in range(1, reminders.MAX_ATTEMPTS + 1):
        await _claim_only(db, message.id, now)
        status = await reminders.deliver(db, Delivery("x", channels, KEY), message.id, now)
        (row,) = [m for m in await _messages(db, regua) if m.id == message.id]
        if attempt < reminders.MAX_ATTEMPTS:
            assert status == "planned" and row.send_after > now and row.error
            now = row.send_after
        else:
            assert status == "failed" and row.status == MessageStatus.FAILED


async def test_smtp_back_after_an_outage_delivers_the_waiting_message(db, world, regua):
    message = await _planned(db, regua)
    channels = Recorder()
    channels.fail = ChannelError("connection refused")
    await _claim_only(db, message.id, MORNING)
    assert (
        await reminders.deliver(db, Delivery("x", channels, KEY), message.id, MORNING) == "planned"
    )
    channels.fail = None
    later = MORNING + timedelta(minutes=10)
    claimed = await reminders.claim(db, later)
    assert message.id in claimed
    assert await reminders.deliver(db, Delivery("x", channels, KEY), message.id, later) == "sent"
    assert len(channels.sent) == 1


async def test_a_lost_lease_is_claimed_again_once(db, world, regua):
    message = await _planned(db, regua)
    first = await reminders.claim(db, MORNING)
    assert message.id in first
    # The worker died: nothing else claims it until the lease expires.
    assert message.id not in await reminders.claim(db, MORNING + timedelta(minutes=1))
    again = await reminders.claim(db, MORNING + reminders.LEASE + timedelta(seconds=1))
    assert message.id in again


async def test_preview_shows_what_would_be_sent_and_blocked_and_changes_nothing(db, world):
    lines = await reminders.preview(db, world.a.id, date(2026, 1, 11), 14, MORNING)
    assert lines, "the default régua would send something in 14 days"
    contracts = {line.contract for line in lines}
    assert world.a.contracts[0] in contracts
    assert {"planned", "blocked"} >= {line.status for line in lines}
    async with db.session(Scope.system()) as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.tenant_id == world.a.id)
        )
    assert count == 0


async def test_the_cli_dry_run_prints_what_would_be_sent_and_blocked(database_url, world, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import TEST_SECRET

    quita = str(Path(sys.executable).with_name("quita"))
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "PATH": "/usr/bin:/bin",
        "QUITA_VAR_DIR": str(tmp_path),
    }
    args = [quita, "reminders", "preview", "--tenant", world.a.tenant.slug]
    done = await asyncio.to_thread(
        subprocess.run,
        [*args, "--days", "14", "--start", "2026-01-11"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    report = json.loads(done.stdout)
    assert report["tenant"] == world.a.tenant.slug and report["enabled"] is False
    assert report["planned"] >= 1
    assert any(m["contract"] == world.a.contracts[0] for m in report["messages"])
    unknown = await asyncio.to_thread(
        subprocess.run,
        [quita, "reminders", "preview", "--tenant", "nope"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert unknown.returncode == 2
