"""The agency's account view and the work on it: notes, calls, promises and messages,
under the same contact rules as the régua; visits to the debtor site recorded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from collection.agency import casework
from collection.models import (
    Agreement,
    CaseEntry,
    CaseEntryKind,
    Channel,
    Contact,
    ContactKind,
    Dispute,
    Handover,
    Message,
    MessageStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    SiteVisit,
)
from collection.regua import service as reminders
from collection.regua.service import Delivery
from core.clock import FrozenClock
from core.db import Database, Scope
from tenants.models import AuditEvent, User
from tenants.roles import Role
from tenants.services.directory import add_agency_member, create_agency, ensure_user
from tests.conftest import TEST_SECRET, csrf_from, login
from tests.factories import PASSWORD, hand_over, valid_cnpj
from tests.integration.test_debtor_agreements import _offer_links, _verified
from tests.integration.test_reminders import Recorder

TODAY = date(2026, 12, 2)  # a Wednesday, no holiday in São Paulo
MORNING = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
NIGHT = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 23:00 in São Paulo
HX = {"HX-Request": "true"}
PHONE = "+5511987654321"


@pytest.fixture
def clock(app, monkeypatch) -> FrozenClock:
    """The app's clock, frozen on a Wednesday morning in São Paulo."""
    frozen = FrozenClock(MORNING)
    monkeypatch.setattr(app.state, "clock", frozen)
    return frozen


@pytest.fixture
async def account(db: Database, world) -> AsyncIterator[uuid.UUID]:
    """Creditor A's first debtor (the shared CPF) placed with the world's agency, with a
    mobile phone on file besides the e-mail."""
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(Contact(debtor_id=world.a.debtor_ids[0], kind=ContactKind.PHONE, value=PHONE))
        await session.commit()
    handover_id = await hand_over(db, world.a.id, world.a.debtor_ids[0], world.agency_id)
    yield handover_id
    async with db.session(Scope.system()) as session:
        await session.execute(delete(Message).where(Message.tenant_id == world.a.id))
        await session.commit()


def _url(handover_id: uuid.UUID, action: str = "") -> str:
    return f"/portal/agencia/contas/{handover_id}" + (f"/{action}" if action else "")


async def _as_agent(client, world, handover_id: uuid.UUID, role: Role = Role.AGENT) -> str:
    """Sign in as agency staff and open the account; returns the page's CSRF token."""
    await login(client, world.agency_users[role], PASSWORD)
    page = await client.get(_url(handover_id))
    assert page.status_code == 200, page.text[:500]
    return csrf_from(page.text)


async def _contact(db: Database, world, kind: ContactKind) -> Contact:
    async with db.session(Scope.tenant(world.a.id)) as session:
        found = await session.scalar(
            select(Contact).where(Contact.debtor_id == world.a.debtor_ids[0], Contact.kind == kind)
        )
        assert found is not None
        return found


async def _handover(db: Database, world, handover_id: uuid.UUID) -> Handover:
    async with db.session(Scope.tenant(world.a.id)) as session:
        return await session.get_one(Handover, handover_id)


async def _entries(db: Database, world, kind: CaseEntryKind) -> list[CaseEntry]:
    async with db.session(Scope.tenant(world.a.id)) as session:
        rows = await session.scalars(
            select(CaseEntry)
            .where(CaseEntry.debtor_id == world.a.debtor_ids[0], CaseEntry.kind == kind)
            .order_by(CaseEntry.at)
        )
        return list(rows.all())


async def _user_id(db: Database, email: str) -> uuid.UUID:
    async with db.session(Scope.system()) as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        assert user_id is not None
        return user_id


async def _call(client, handover_id, token, contact_id, outcome="talked", headers=None):
    return await client.post(
        _url(handover_id, "ligacoes"),
        data={
            "contact": str(contact_id),
            "outcome": outcome,
            "text": "Conversamos.",
            "_csrf_token": token,
        },
        headers=headers or {},
    )


# -- the page and who may see it ---------------------------------------------------------


async def test_an_agent_sees_the_account_with_debts_visits_and_history(
    client, world, db, account, clock
):
    await casework.note_visit(
        db, (await _debtor_hash(db, world)), "offer_seen", {"code": "cash"}, now=MORNING
    )
    token = await _as_agent(client, world, account)
    assert token
    page = (await client.get(_url(account))).text
    assert world.a.debtor_names[0] in page and world.a.contracts[0] in page
    assert world.a.tenant.name in page
    # Itemised balance of the open debt (R$ 1.500,00 principal) computed for today.
    assert "1.500,00" in page and "02/12/2026" in page
    # Contacts and CPF masked: never shown whole to agency staff.
    assert world.a.cpfs[0] not in page
    assert "@example.test" in page and f"{world.a.debtor_names[0].lower()}@" not in page
    assert PHONE not in page and "(11) *****-4321" in page
    assert f'href="/portal/ofertas-especiais/propor/{account}"' in page
    assert "(cash)" in page  # the visit to the debtor site, with the offer seen
    for section in ("case-notes", "case-calls", "case-promises", "case-messages"):
        assert f'id="{section}"' in page


async def _debtor_hash(db: Database, world) -> str:
    from collection.models import Debtor

    async with db.session(Scope.tenant(world.a.id)) as session:
        debtor = await session.get_one(Debtor, world.a.debtor_ids[0])
        return debtor.cpf_hash


async def test_an_agent_of_an_agency_without_a_grant_gets_not_found(client, world, db, account):
    suffix = uuid.uuid4().hex[:8]
    email = f"agent-nogrant-{suffix}@example.test"
    async with db.session(Scope.system()) as session:
        import random

        agency = await create_agency(
            session,
            slug=f"ng-{suffix}",
            name=f"Sem Acesso {suffix}",
            cnpj=valid_cnpj(random.Random()),
        )
        await session.flush()
        user = await ensure_user(session, email=email, name="Agente sem acesso", password=PASSWORD)
        await session.flush()
        add_agency_member(session, agency, user, Role.AGENT)
        await session.commit()
    await login(client, email, PASSWORD)
    assert (await client.get(_url(account))).status_code == 404
    home = await client.get("/portal/security")
    note = await client.post(
        _url(account, "notas"), data={"text": "x", "_csrf_token": csrf_from(home.text)}
    )
    assert note.status_code == 404
    assert not await _entries(db, world, CaseEntryKind.NOTE)


async def test_a_creditor_user_without_an_agency_is_refused(client, world, account):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    response = await client.get(_url(account))
    assert response.status_code in (302, 303, 403)
    assert response.status_code != 200


async def test_an_agent_may_not_work_an_account_another_agent_holds(
    client, world, db, account, clock
):
    other = await _user_id(db, world.second_agent)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(
            update(Handover).where(Handover.id == account).values(claimed_by=other)
        )
        await session.commit()
    token = await _as_agent(client, world, account)
    refused = await client.post(
        _url(account, "notas"), data={"text": "Tentativa.", "_csrf_token": token}
    )
    assert refused.status_code == 403
    client.cookies.clear()
    token = await _as_agent(client, world, account, Role.SUPERVISOR)
    done = await client.post(
        _url(account, "notas"), data={"text": "Supervisão.", "_csrf_token": token}
    )
    assert done.status_code == 303
    assert (await _handover(db, world, account)).claimed_by == other  # still the holder's


# -- notes -------------------------------------------------------------------------------


async def test_a_note_round_trips_as_a_plain_post_and_with_htmx(client, world, db, account, clock):
    token = await _as_agent(client, world, account)
    plain = await client.post(
        _url(account, "notas"), data={"text": "Pessoa pediu retorno.", "_csrf_token": token}
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == _url(account) + "#case-notes"
    htmx = await client.post(
        _url(account, "notas"),
        data={"text": "Segunda nota.", "_csrf_token": token},
        headers=HX,
    )
    assert htmx.status_code == 200
    assert 'id="case-notes"' in htmx.text and "<html" not in htmx.text
    assert "Pessoa pediu retorno." in htmx.text and "Segunda nota." in htmx.text
    empty = await client.post(_url(account, "notas"), data={"text": " ", "_csrf_token": token})
    assert empty.status_code == 400 and 'id="e-note-text"' in empty.text
    notes = await _entries(db, world, CaseEntryKind.NOTE)
    assert [n.text for n in notes] == ["Pessoa pediu retorno.", "Segunda nota."]
    agent = await _user_id(db, world.agency_users[Role.AGENT])
    assert all(n.author_id == agent and n.handover_id == account for n in notes)
    # Working an unclaimed account takes it; every action is audited at the creditor.
    assert (await _handover(db, world, account)).claimed_by == agent
    async with db.session(Scope.tenant(world.a.id)) as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target == str(account))
            )
        )
    assert actions.count("case.note_added") == 2 and actions.count("queue.claimed") == 1


# -- calls -------------------------------------------------------------------------------


async def test_a_call_is_logged_and_becomes_the_last_contact(client, world, db, account, clock):
    token = await _as_agent(client, world, account)
    phone = await _contact(db, world, ContactKind.PHONE)
    response = await _call(client, account, token, phone.id, headers=HX)
    assert response.status_code == 200 and 'id="case-calls"' in response.text
    calls = await _entries(db, world, CaseEntryKind.CALL)
    assert len(calls) == 1 and calls[0].call_outcome == "talked"
    assert calls[0].contact_id == phone.id
    assert (await _handover(db, world, account)).last_contact_at == MORNING


async def test_the_frequency_cap_counts_agents_calls(client, world, db, account, clock):
    token = await _as_agent(client, world, account)
    phone = await _contact(db, world, ContactKind.PHONE)
    assert (await _call(client, account, token, phone.id)).status_code == 303
    clock.advance(timedelta(hours=2))
    again = await _call(client, account, token, phone.id)
    assert again.status_code == 400 and 'id="e-call-form"' in again.text
    assert len(await _entries(db, world, CaseEntryKind.CALL)) == 1
    # The régua's dispatcher counts the call too: a message today would break the cap.
    email = await _contact(db, world, ContactKind.EMAIL)
    written = await client.post(
        _url(account, "mensagens"),
        data={
            "channel": "email",
            "contact": str(email.id),
            "text": "Podemos conversar?",
            "_csrf_token": token,
        },
    )
    assert written.status_code == 303
    messages = await _messages(db, world)
    assert [(m.status, m.rule) for m in messages] == [(MessageStatus.BLOCKED, "frequency_cap")]
    # Three calls in a week, on three days, are the most; the next day's is refused.
    for _ in range(2):
        clock.advance(timedelta(days=1))
        assert (await _call(client, account, token, phone.id)).status_code == 303
    clock.advance(timedelta(days=1))  # a Saturday morning: within São Paulo's hours
    assert (await _call(client, account, token, phone.id)).status_code == 400
    assert len(await _entries(db, world, CaseEntryKind.CALL)) == 3


async def test_a_call_at_eleven_at_night_in_sao_paulo_is_refused(client, world, db, account, clock):
    token = await _as_agent(client, world, account)
    clock.advance(NIGHT - MORNING)
    phone = await _contact(db, world, ContactKind.PHONE)
    refused = await _call(client, account, token, phone.id)
    assert refused.status_code == 400 and 'id="e-call-form"' in refused.text
    assert "03/12/2026 08:00" in refused.text  # when the person may be called next
    assert not await _entries(db, world, CaseEntryKind.CALL)
    assert (await _handover(db, world, account)).last_contact_at is None


async def test_a_call_to_an_opted_out_contact_is_refused(client, world, db, account, clock):
    phone = await _contact(db, world, ContactKind.PHONE)
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(
            update(Contact).where(Contact.id == phone.id).values(opted_out_at=MORNING)
        )
        await session.commit()
    token = await _as_agent(client, world, account)
    refused = await _call(client, account, token, phone.id)
    assert refused.status_code == 400 and 'id="e-call-contact"' in refused.text
    email = await _contact(db, world, ContactKind.EMAIL)
    not_a_phone = await _call(client, account, token, email.id)
    assert not_a_phone.status_code == 400 and 'id="e-call-contact"' in not_a_phone.text
    assert not await _entries(db, world, CaseEntryKind.CALL)


async def test_a_call_when_every_debt_is_disputed_is_refused(client, world, db, account, clock):
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(Dispute(debt_id=world.a.debt_ids[0], kind="wrong_amount"))
        await session.commit()
    token = await _as_agent(client, world, account)
    phone = await _contact(db, world, ContactKind.PHONE)
    refused = await _call(client, account, token, phone.id)
    assert refused.status_code == 400 and 'id="e-call-form"' in refused.text
    assert not await _entries(db, world, CaseEntryKind.CALL)


async def test_a_wrong_number_stops_that_number_for_every_creditor(
    client, world, db, account, clock
):
    async with db.session(Scope.tenant(world.b.id)) as session:
        session.add(Contact(debtor_id=world.b.debtor_ids[0], kind=ContactKind.PHONE, value=PHONE))
        await session.commit()
    token = await _as_agent(client, world, account)
    phone = await _contact(db, world, ContactKind.PHONE)
    assert (await _call(client, account, token, phone.id, "wrong_number")).status_code == 303
    async with db.session(Scope.system()) as session:
        same = list(await session.scalars(select(Contact).where(Contact.value == PHONE)))
    assert len(same) >= 2 and all(c.not_mine_at is not None for c in same)


# -- promises ----------------------------------------------------------------------------


async def test_a_promise_sets_the_follow_up_and_is_reviewed_as_kept_or_broken(
    client, world, db, account, clock
):
    token = await _as_agent(client, world, account)
    promised = TODAY + timedelta(days=5)
    follow = TODAY + timedelta(days=6)
    too_late = await client.post(
        _url(account, "promessas"),
        data={
            "amount": "150,00",
            "promised_on": promised.isoformat(),
            "follow_up_on": (promised + timedelta(days=10)).isoformat(),
            "_csrf_token": token,
        },
    )
    assert too_late.status_code == 400 and 'id="e-promise-follow_up_on"' in too_late.text
    bad = await client.post(
        _url(account, "promessas"),
        data={"amount": "0", "promised_on": "01/01/2020", "_csrf_token": token},
        headers=HX,
    )
    assert bad.status_code == 200  # htmx swaps only 2xx: the section comes back with errors
    assert 'id="e-promise-amount"' in bad.text and 'id="e-promise-promised_on"' in bad.text
    done = await client.post(
        _url(account, "promessas"),
        data={
            "amount": "150,00",
            "promised_on": promised.strftime("%d/%m/%Y"),
            "follow_up_on": follow.isoformat(),
            "_csrf_token": token,
        },
    )
    assert done.status_code == 303
    assert (await _handover(db, world, account)).follow_up_on == follow
    # Nothing paid yet and the date not reached: the promise stays open (idempotent).
    assert await casework.review_promises(db, TODAY) == 0
    # A payment of the whole amount by the promised date keeps it; the follow-up clears.
    await _payment(db, world, 15_000, TODAY + timedelta(days=1))
    assert await casework.review_promises(db, TODAY + timedelta(days=2)) >= 1
    assert await casework.review_promises(db, TODAY + timedelta(days=2)) == 0
    [kept] = await _entries(db, world, CaseEntryKind.PROMISE)
    assert kept.promise_status == "kept"
    assert (await _handover(db, world, account)).follow_up_on is None
    # A second promise goes unpaid: broken after its date, and the account comes back.
    second = await client.post(
        _url(account, "promessas"),
        data={
            "amount": "300,00",
            "promised_on": (TODAY + timedelta(days=3)).isoformat(),
            "_csrf_token": token,
        },
    )
    assert second.status_code == 303
    assert (await _handover(db, world, account)).follow_up_on == TODAY + timedelta(days=3)
    await casework.review_promises(db, TODAY + timedelta(days=4))
    promises = await _entries(db, world, CaseEntryKind.PROMISE)
    assert [p.promise_status for p in promises] == ["kept", "broken"]
    assert (await _handover(db, world, account)).follow_up_on == TODAY + timedelta(days=4)


async def _payment(db: Database, world, amount: int, paid_on: date) -> None:
    async with db.session(Scope.tenant(world.a.id)) as session:
        agreement = Agreement(
            id=uuid.uuid4(),
            debtor_id=world.a.debtor_ids[0],
            offer_code="cash",
            kind="cash",
            status="active",
            balance=amount,
            discount=0,
            total=amount,
            down_payment=amount,
            monthly_rate="0",
            cet_yearly="0",
            grace_days=0,
            accepted_on=TODAY,
            idempotency_key=uuid.uuid4().hex,
            terms={},
        )
        session.add(agreement)
        await session.flush()
        session.add(
            Payment(
                agreement_id=agreement.id,
                installment_number=0,
                method=PaymentMethod.PIX,
                amount=amount,
                status=PaymentStatus.SUCCEEDED,
                idempotency_key=uuid.uuid4().hex,
                paid_on=paid_on,
            )
        )
        await session.commit()


# -- messages ----------------------------------------------------------------------------


async def _messages(db: Database, world) -> list[Message]:
    async with db.session(Scope.tenant(world.a.id)) as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.debtor_id == world.a.debtor_ids[0])
            .order_by(Message.created_at)
        )
        return list(rows.all())


async def _dispatch(db: Database, message_id: uuid.UUID, now: datetime) -> tuple[str, Recorder]:
    """What the ``messages.dispatch`` worker does with one due message: claim, deliver."""
    async with db.session(Scope.system()) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.PLANNED)
            .values(status=MessageStatus.SENDING, attempts=Message.attempts + 1)
        )
        await session.commit()
    recorder = Recorder()
    outcome = await reminders.deliver(
        db, Delivery("https://testserver.local", recorder, TEST_SECRET), message_id, now
    )
    return outcome, recorder


async def test_a_message_is_planned_in_the_outbox_and_delivered_by_the_dispatcher(
    client, world, db, account, clock
):
    token = await _as_agent(client, world, account)
    email = await _contact(db, world, ContactKind.EMAIL)
    written = await client.post(
        _url(account, "mensagens"),
        data={
            "channel": "email",
            "contact": str(email.id),
            "text": "Olá! Podemos conversar sobre o contrato {contrato}?",
            "_csrf_token": token,
        },
        headers=HX,
    )
    assert written.status_code == 200 and 'id="case-messages"' in written.text
    [message] = await _messages(db, world)
    assert message.status == MessageStatus.PLANNED and message.step_id is None
    assert message.subject_key.startswith("m:") and message.channel == Channel.EMAIL
    assert message.send_after == MORNING
    outcome, recorder = await _dispatch(db, message.id, MORNING)
    assert outcome == "sent"
    [(channel, to, subject, body, _ref)] = recorder.sent
    assert channel == Channel.EMAIL and to == email.value
    assert world.a.tenant.name in subject
    # The creditor is identified (CDC art. 42-A); the braces are the agent's, not a variable.
    assert "{contrato}" in body and world.a.tenant.legal_name in body and "CNPJ" in body
    assert "https://testserver.local/parar/" in body  # the signed one-click stop
    assert [m.status for m in await _messages(db, world)] == [MessageStatus.SENT]


async def test_a_message_is_decided_by_the_same_rules_as_the_regua(
    client, world, db, account, clock
):
    token = await _as_agent(client, world, account)
    email = await _contact(db, world, ContactKind.EMAIL)
    phone = await _contact(db, world, ContactKind.PHONE)

    async def write(channel: str, contact: uuid.UUID, text: str) -> httpx.Response:
        return await client.post(
            _url(account, "mensagens"),
            data={"channel": channel, "contact": str(contact), "text": text, "_csrf_token": token},
        )

    threat = await write("email", email.id, "Pague hoje ou chamaremos a polícia.")
    assert threat.status_code == 400 and 'id="e-message-text"' in threat.text
    whatsapp = await write("whatsapp", phone.id, "Olá.")
    assert whatsapp.status_code == 400 and 'id="e-message-channel"' in whatsapp.text
    wrong_kind = await write("sms", email.id, "Olá.")
    assert wrong_kind.status_code == 400 and 'id="e-message-contact"' in wrong_kind.text
    assert not await _messages(db, world)
    # Planned now; the person opts out before it goes: the dispatcher blocks it.
    assert (await write("sms", phone.id, "Olá, podemos conversar?")).status_code == 303
    [planned] = await _messages(db, world)
    assert planned.status == MessageStatus.PLANNED
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(
            update(Contact).where(Contact.id == phone.id).values(opted_out_at=MORNING)
        )
        await session.commit()
    outcome, recorder = await _dispatch(db, planned.id, MORNING)
    assert outcome == "opted_out" and not recorder.sent
    # Written to an opted-out contact: blocked at once, with the rule's name.
    assert (await write("sms", phone.id, "Olá de novo.")).status_code == 303
    assert [(m.status, m.rule) for m in await _messages(db, world)] == [
        (MessageStatus.BLOCKED, "opted_out"),
        (MessageStatus.BLOCKED, "opted_out"),
    ]
    # Written at night: planned for the morning, when the person's hours begin.
    clock.advance(NIGHT - MORNING)
    assert (await write("email", email.id, "Bom dia!")).status_code == 303
    night = (await _messages(db, world))[-1]
    assert night.status == MessageStatus.PLANNED
    assert night.send_after == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)  # 08:00 in São Paulo


async def test_a_message_about_a_disputed_account_is_blocked(client, world, db, account, clock):
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(Dispute(debt_id=world.a.debt_ids[0], kind="not_mine"))
        await session.commit()
    token = await _as_agent(client, world, account)
    email = await _contact(db, world, ContactKind.EMAIL)
    written = await client.post(
        _url(account, "mensagens"),
        data={"channel": "email", "contact": str(email.id), "text": "Olá.", "_csrf_token": token},
    )
    assert written.status_code == 303
    assert [(m.status, m.rule) for m in await _messages(db, world)] == [
        (MessageStatus.BLOCKED, "disputed")
    ]


# -- the debtor site ---------------------------------------------------------------------


async def test_a_debtor_verifying_on_the_site_creates_verified_visits_at_each_creditor(
    client, world, db
):
    page = await _verified(client, world)
    links = _offer_links(page, world.a.id)
    assert links
    assert (await client.get(links[0])).status_code == 200
    async with db.session(Scope.system()) as session:
        visits = list(
            await session.scalars(
                select(SiteVisit).where(
                    SiteVisit.debtor_id.in_([world.a.debtor_ids[0], world.b.debtor_ids[0]])
                )
            )
        )
    verified = {(v.tenant_id, v.debtor_id) for v in visits if v.what == "verified"}
    assert verified == {
        (world.a.id, world.a.debtor_ids[0]),
        (world.b.id, world.b.debtor_ids[0]),
    }
    seen = [v for v in visits if v.what == "offer_seen"]
    assert [(v.tenant_id, v.details["code"]) for v in seen] == [
        (world.a.id, links[0].rsplit("/", 1)[1])
    ]


async def test_the_creditors_account_history_shows_the_agency_work(
    client, world, db, account, clock
):
    token = await _as_agent(client, world, account)
    await client.post(
        _url(account, "notas"), data={"text": "Nota da assessoria.", "_csrf_token": token}
    )
    client.cookies.clear()
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    page = await client.get(f"/portal/debtors/{world.a.debtor_ids[0]}")
    assert page.status_code == 200 and "Nota da assessoria." in page.text
