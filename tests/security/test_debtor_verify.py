"""The debtor site's look-up and proof pages tell nothing about a CPF (issue 26 item 5),
and codes cannot be pumped nor guesses used to lock the person out (issue 26 item 8)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collection.debtor.access import AccessRefused, DebtorAccess
from collection.debtor.throttle import (
    ADDRESS_SENDS_FREE,
    CPF_BASE,
    CPF_FREE,
    SEND_LADDER,
    SENDS_PER_CPF_DAY,
)
from collection.models import Contact, ContactKind, Debtor
from core.clock import FrozenClock
from core.db import Database, Scope
from core.settings import Settings
from tests.conftest import csrf_from
from tests.factories import valid_cpf

# What differs between two requests by nature: the CSRF token, the CSP nonce, the
# session cookie's value, the date and the request id.
_VARYING = re.compile(
    r'(name="_csrf_token" value=")[^"]+|("x-csrftoken": ")[^"]+|(nonce=["\']?)[\w+/=-]+'
    r"|(quita_debtor=)[^;]+|(csrftoken=)[^;]+"
)


def _normal(text: str) -> str:
    return _VARYING.sub(lambda m: next(g for g in m.groups() if g is not None) + "…", text)


def _shape(response: Any) -> tuple[int, list[tuple[str, str]], str]:
    headers = sorted(
        (name.lower(), _normal(value))
        for name, value in response.headers.multi_items()
        if name.lower() not in ("date", "x-request-id")
    )
    return response.status_code, headers, _normal(response.text)


async def _journey(client: Any, cpf: str) -> list[tuple[int, list[tuple[str, str]], str]]:
    """Every answer a person gets before the proof, for one CPF."""
    client.cookies.clear()
    home = await client.get("/")
    answers = [
        await client.post("/consulta", data={"cpf": cpf, "_csrf_token": csrf_from(home.text)})
    ]
    page = await client.get("/verificar")
    answers.append(page)
    token = csrf_from(page.text)
    answers.append(
        await client.post("/verificar", data={"birth_date": "02/02/1902", "_csrf_token": token})
    )
    for channel in ("email", "sms"):
        answers.append(
            await client.post("/verificar/codigo", data={"channel": channel, "_csrf_token": token})
        )
    answers.append(
        await client.post(
            "/verificar/codigo/confirmar", data={"code": "000000", "_csrf_token": token}
        )
    )
    return [_shape(a) for a in answers]


async def test_a_cpf_with_debts_and_contacts_and_one_without_get_identical_answers(
    client, world, db
):
    phone = f"+55119{random.randrange(10**8):08d}"
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(Contact(debtor_id=world.a.debtor_ids[0], kind=ContactKind.PHONE, value=phone))
        await session.commit()
    known = await _journey(client, world.shared_cpf)
    unknown = await _journey(client, valid_cpf(random.Random()))
    assert [a[0] for a in known] == [302, 200, 400, 200, 200, 400]
    for mine, other in zip(known, unknown, strict=True):
        assert mine == other  # status, every header and cookie, the body byte for byte
    shown = "\n".join(body for _status, _headers, body in known)
    for fragment in ("@example.test", "***", "-" + phone[-4:], "(11)"):
        assert fragment not in shown  # no part of a contact before the proof
    assert "Enviamos um código de 6 dígitos para os contatos cadastrados pelo credor" in shown


# -- 8. codes cannot be pumped, guesses do not lock the person out --------------------------


@pytest.fixture
def frozen(app, monkeypatch) -> FrozenClock:
    clock = FrozenClock(datetime.now(UTC))
    monkeypatch.setattr(app.state.debtor_access, "clock", clock)
    return clock


async def _send(client: Any, channel: str = "email") -> Any:
    page = await client.get("/verificar")
    return await client.post(
        "/verificar/codigo", data={"channel": channel, "_csrf_token": csrf_from(page.text)}
    )


async def _look_up(client: Any, cpf: str) -> None:
    client.cookies.clear()
    home = await client.get("/")
    await client.post("/consulta", data={"cpf": cpf, "_csrf_token": csrf_from(home.text)})


async def test_many_sessions_asking_for_codes_at_once_send_one_email(client, world, outbox, frozen):
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    statuses = []
    for _session in range(5):
        await _look_up(client, world.shared_cpf)
        for _request in range(4):
            statuses.append((await _send(client)).status_code)
    assert statuses[0] == 200 and statuses.count(429) == len(statuses) - 1
    assert len(await outbox.to(address)) == 1
    refused = await _send(client)
    assert "Você pode pedir outro código em 1 minuto" in refused.text
    assert 'name="code"' in refused.text  # the code already sent can still be typed


async def test_codes_follow_a_ladder_per_cpf_and_a_daily_cap(client, world, frozen, outbox):
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    await _look_up(client, world.shared_cpf)
    waits = []
    for step in SEND_LADDER:
        assert (await _send(client)).status_code == 200
        refused = await _send(client)
        assert refused.status_code == 429
        waits.append(re.search(r"outro código em (\d+ \w+)", refused.text).group(1))  # type: ignore[union-attr]
        frozen.advance(step)
        await _look_up(client, world.shared_cpf)  # sessions expire; the CPF's count stays
    assert waits == ["1 minuto", "5 minutos", "15 minutos", "60 minutos"]
    assert (await _send(client)).status_code == 200  # the last step repeats: 1 hour
    assert (await _send(client, "sms")).status_code == 200  # the sixth of the day
    frozen.advance(timedelta(hours=1))
    await _look_up(client, world.shared_cpf)
    capped = await _send(client)
    assert capped.status_code == 429 and "horas" in capped.text
    assert len(await outbox.to(address)) == len(SEND_LADDER) + 1 == SENDS_PER_CPF_DAY - 1
    frozen.advance(timedelta(hours=24))
    await _look_up(client, world.shared_cpf)
    assert (await _send(client)).status_code == 200  # a day later, codes again


async def test_one_phone_shared_by_two_cpfs_gets_one_sms(client, world, db):
    from sqlalchemy import func, select

    from core.mail import OutboundEmail

    phone = f"+55119{random.randrange(10**8):08d}"
    async with db.session(Scope.tenant(world.a.id)) as session:
        for debtor_id in world.a.debtor_ids[:2]:
            session.add(Contact(debtor_id=debtor_id, kind=ContactKind.PHONE, value=phone))
        await session.commit()
        other_cpf = await session.scalar(
            select(Debtor.cpf).where(Debtor.id == world.a.debtor_ids[1])
        )
    await _look_up(client, world.shared_cpf)
    first = await _send(client, "sms")
    await _look_up(client, other_cpf)
    second = await _send(client, "sms")
    assert first.status_code == second.status_code == 200  # the same answer for both
    assert _normal(first.text) == _normal(second.text)
    async with db.session(Scope.system()) as session:
        texts = await session.scalar(
            select(func.count())
            .select_from(OutboundEmail)
            .where(OutboundEmail.channel == "sms", OutboundEmail.to_address == phone)
        )
    assert texts == 1


def _service(db: Database, settings: Settings) -> tuple[DebtorAccess, FrozenClock]:
    clock = FrozenClock(datetime.now(UTC))
    return DebtorAccess(db, settings.security.cpf_hash_key, clock), clock


async def test_one_address_asking_for_many_cpfs_is_slowed_down_not_others(db, settings):
    access, clock = _service(db, settings)
    rng = random.Random()
    spammer, other = f"10.6.{rng.randint(0, 255)}.1", f"10.5.{rng.randint(0, 255)}.1"
    for _ in range(ADDRESS_SENDS_FREE):
        token = await access.start(valid_cpf(rng), ip=spammer)
        await access.send_code(token, ip=spammer, channel="sms")
    token = await access.start(valid_cpf(rng), ip=spammer)
    with pytest.raises(AccessRefused) as refused:
        await access.send_code(token, ip=spammer, channel="sms")
    assert refused.value.kind == "send" and refused.value.wait_seconds == 60
    elsewhere = await access.start(valid_cpf(rng), ip=other)
    await access.send_code(elsewhere, ip=other, channel="sms")  # another address: fine
    clock.advance(timedelta(seconds=61))
    token = await access.start(valid_cpf(rng), ip=spammer)
    await access.send_code(token, ip=spammer, channel="sms")
    token = await access.start(valid_cpf(rng), ip=spammer)
    with pytest.raises(AccessRefused) as doubled:
        await access.send_code(token, ip=spammer, channel="sms")
    assert doubled.value.wait_seconds == 120


async def _code_sent_to(db: Database, address: str) -> str:
    from sqlalchemy import select

    from core.mail import OutboundEmail

    async with db.session(Scope.system()) as session:
        message = await session.scalar(
            select(OutboundEmail)
            .where(OutboundEmail.to_address == address)
            .order_by(OutboundEmail.created_at.desc())
            .limit(1)
        )
    assert message is not None
    return re.search(r"\b(\d{6})\b", message.subject).group(1)  # type: ignore[union-attr]


async def test_wrong_codes_slow_the_attackers_address_not_the_person(world, db, settings):
    access, clock = _service(db, settings)
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    attacker, person = "10.4.0.1", "10.3.0.1"
    theirs = await access.start(world.shared_cpf, ip=attacker)
    await access.send_code(theirs, ip=attacker)
    for guess in range(5):
        with pytest.raises(AccessRefused):
            await access.verify_code(theirs, f"{guess:06d}", ip=attacker)
    with pytest.raises(AccessRefused) as refused:
        await access.verify_code(theirs, "999999", ip=attacker)
    assert refused.value.wait_seconds > 0  # the attacker's address waits
    # The person never asked: the code the attacker made us send reached only them, and
    # it lets them in from their own address, at once.
    code = await _code_sent_to(db, address)
    mine = await access.start(world.shared_cpf, ip=person)
    assert (await access.verify_code(mine, code, ip=person)).tenants
    # Many addresses guessing: a short wait for the CPF, then the right code works.
    spread_token = await access.start(world.shared_cpf, ip=attacker)
    clock.advance(timedelta(minutes=1))
    await access.send_code(spread_token, ip=attacker)
    for n in range(CPF_FREE):
        guesser = await access.start(world.shared_cpf, ip=f"10.2.{n}.1")
        with pytest.raises(AccessRefused):
            await access.verify_code(guesser, "000000", ip=f"10.2.{n}.1")
    code = await _code_sent_to(db, address)
    late = await access.start(world.shared_cpf, ip="10.3.0.2")
    with pytest.raises(AccessRefused) as waiting:
        await access.verify_code(late, code, ip="10.3.0.2")
    assert 0 < waiting.value.wait_seconds <= CPF_BASE.total_seconds()
    clock.advance(CPF_BASE + timedelta(seconds=1))
    assert (await access.verify_code(late, code, ip="10.3.0.2")).tenants


async def test_the_sweep_forgets_failures_and_code_requests_after_a_day(world, db, settings):
    from sqlalchemy import func, select

    from collection.models import DebtorAttempt, DebtorCodeSend

    access, clock = _service(db, settings)
    ip = f"10.1.{random.randint(0, 255)}.1"
    token = await access.start(world.shared_cpf, ip=ip)
    await access.send_code(token, ip=ip)
    with pytest.raises(AccessRefused):
        await access.verify_code(token, "000000", ip=ip)

    async def left() -> tuple[int, int]:
        async with db.session(Scope.system()) as session:
            sends = await session.scalar(
                select(func.count()).select_from(DebtorCodeSend).where(DebtorCodeSend.ip == ip)
            )
            fails = await session.scalar(
                select(func.count()).select_from(DebtorAttempt).where(DebtorAttempt.ip == ip)
            )
        return int(sends or 0), int(fails or 0)

    await access.purge_expired(clock.now() + timedelta(hours=23))
    assert await left() == (1, 1)
    await access.purge_expired(clock.now() + timedelta(hours=25))
    assert await left() == (0, 0)


async def test_the_look_up_and_wrong_answers_run_the_same_queries_with_and_without_debts(
    client, world, app
):
    """A deterministic stand-in for the timing class: the same SQL, statement by statement,
    for the look-up, the proof page and wrong answers (sending differs only by the
    messages written, which a worker delivers later)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    async def steps(cpf: str) -> list[list[str]]:
        out: list[list[str]] = []
        client.cookies.clear()
        home = await client.get("/")
        calls = [
            ("/consulta", {"cpf": cpf, "_csrf_token": csrf_from(home.text)}),
            ("/verificar", None),
            ("/verificar", {"birth_date": "02/02/1902"}),
            ("/verificar/codigo/confirmar", {"code": "000000"}),
        ]
        token = ""
        for path, data in calls:
            seen.clear()
            if data is None:
                page = await client.get(path)
                token = csrf_from(page.text)
            else:
                await client.post(path, data={"_csrf_token": token, **data})
            out.append(list(seen))
        return out

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        known = await steps(world.shared_cpf)
        unknown = await steps(valid_cpf(random.Random()))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert all(known) and known == unknown


async def test_a_code_someone_else_asked_for_lets_the_person_in_from_their_own_session(
    client, other_client, world, outbox
):
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    await _look_up(client, world.shared_cpf)
    assert (await _send(client)).status_code == 200  # the attacker's session asks
    (message,) = await outbox.to(address)
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)  # type: ignore[union-attr]
    await _look_up(other_client, world.shared_cpf)  # the person, in their own browser
    page = await other_client.get("/verificar")
    assert "Já tenho um código" in page.text and 'href="/verificar?codigo=1"' in page.text
    box = await other_client.get("/verificar?codigo=1")
    assert 'name="code"' in box.text and "Enviamos um código de 6 dígitos" not in box.text
    done = await other_client.post(
        "/verificar/codigo/confirmar", data={"code": code, "_csrf_token": csrf_from(box.text)}
    )
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"
    # Used once: the attacker's session cannot reuse it.
    again = await client.post(
        "/verificar/codigo/confirmar",
        data={"code": code, "_csrf_token": csrf_from((await client.get("/verificar")).text)},
    )
    assert again.status_code == 400


async def test_requests_racing_for_codes_at_the_same_instant_send_once(world, db, settings, outbox):
    import asyncio

    access, _clock = _service(db, settings)
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    tokens = [await access.start(world.shared_cpf, ip=f"10.0.1.{n}") for n in range(8)]

    async def ask(token: str, n: int) -> bool:
        try:
            await access.send_code(token, ip=f"10.0.1.{n}")
        except AccessRefused as refused:
            assert refused.kind == "send" and refused.wait_seconds > 0
            return False
        return True

    answers = await asyncio.gather(*(ask(t, n) for n, t in enumerate(tokens)))
    assert len(await outbox.to(address)) == 1
    assert answers.count(True) >= 1


async def test_a_burst_of_parallel_wrong_codes_gets_no_more_guesses_than_one_by_one(
    world, db, settings
):
    import asyncio

    from collection.debtor.throttle import PAIR_FREE

    access, _clock = _service(db, settings)
    ip = f"10.0.2.{random.randint(0, 255)}"
    token = await access.start(world.shared_cpf, ip=ip)
    await access.send_code(token, ip=ip)

    async def guess(n: int) -> str:
        try:
            await access.verify_code(token, f"{n:06d}", ip=ip)
        except AccessRefused as refused:
            return "wait" if refused.wait_seconds else "checked"
        return "in"

    answers = await asyncio.gather(*(guess(n) for n in range(20)))
    assert answers.count("checked") <= PAIR_FREE  # the rest waited, unchecked
