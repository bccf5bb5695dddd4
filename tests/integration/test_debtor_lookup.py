"""Debtor site: look-up by CPF, proof of identity, and every debt across creditors."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from collection.debtor.access import AccessRefused, DebtorAccess
from collection.debtor.throttle import CPF_BASE, CPF_FREE
from collection.models import Debt, DebtStatus
from core.clock import FrozenClock
from core.db import Scope
from tests.conftest import csrf_from
from tests.factories import valid_cpf

# Tokens differ by nature (tests/security/test_debtor_verify.py compares every header too).
TOKENS = re.compile(r'value="[0-9a-f]{40,}"|"x-csrftoken": "[0-9a-f]+"')


async def _start(client, cpf: str):
    client.cookies.clear()
    home = await client.get("/")
    return await client.post("/consulta", data={"cpf": cpf, "_csrf_token": csrf_from(home.text)})


async def _verify(client, birth: str):
    page = await client.get("/verificar")
    assert page.status_code == 200, page.status_code
    return await client.post(
        "/verificar", data={"birth_date": birth, "_csrf_token": csrf_from(page.text)}
    )


async def test_a_cpf_with_debts_and_one_without_get_the_same_answers(client, world):
    with_debts = world.shared_cpf
    without = valid_cpf(random.Random())
    first = [await _start(client, with_debts), await client.get("/verificar")]
    wrong_a = await _verify(client, "02/02/1999")
    second = [await _start(client, without), await client.get("/verificar")]
    wrong_b = await _verify(client, "02/02/1999")
    for a, b in zip(first, second, strict=True):
        assert a.status_code == b.status_code
        assert TOKENS.sub("", a.text) == TOKENS.sub("", b.text)
    assert wrong_a.status_code == wrong_b.status_code == 400
    assert TOKENS.sub("", wrong_a.text) == TOKENS.sub("", wrong_b.text)


async def test_malformed_cpf_gets_a_field_error(client):
    response = await _start(client, "123.456.789-00")
    assert response.status_code == 400
    assert "CPF inválido" in response.text and 'aria-invalid="true"' in response.text


async def test_verified_person_sees_every_debt_across_creditors_itemised(client, world):
    response = await _start(client, world.shared_cpf)
    assert response.headers["location"] == "/verificar"
    assert (await client.get("/minhas-dividas")).status_code in (302, 303)  # not yet verified
    done = await _verify(client, "01/01/1980")
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"
    page = await client.get("/minhas-dividas")
    assert page.status_code == 200
    text = page.text
    for tenant in (world.a.tenant, world.b.tenant):
        assert tenant.name in text
        cnpj = tenant.cnpj
        assert f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}" in text
    assert world.a.contracts[0] in text and world.b.contracts[0] in text
    for label in ("Principal", "Multa", "Juros", "Saldo atualizado", "Vencimento original"):
        assert label in text
    assert "Formas de quitar com" in text and "À vista" in text and "CET" in text
    # Only this person's debts.
    assert world.a.contracts[1] not in text and world.b.contracts[2] not in text


async def test_settled_debts_are_labelled(client, world, db):
    async with db.session(Scope.tenant(world.b.id)) as session:
        debt = await session.scalar(select(Debt).where(Debt.id == world.b.debt_ids[0]))
        assert debt is not None
        debt.status = DebtStatus.REGULARIZED
        await session.commit()
    await _start(client, world.shared_cpf)
    await _verify(client, "01/01/1980")
    text = (await client.get("/minhas-dividas")).text
    assert "regularizada" in text


@pytest.fixture
def frozen(app, monkeypatch) -> FrozenClock:
    """The debtor site's clock, stopped now and moved by the test."""
    clock = FrozenClock(datetime.now(UTC))
    monkeypatch.setattr(app.state.debtor_access, "clock", clock)
    return clock


async def test_wrong_birth_dates_say_how_many_tries_remain_and_how_long_the_wait_is(
    client, world, frozen
):
    await _start(client, world.shared_cpf)
    for left in (4, 3, 2):
        wrong = await _verify(client, "03/03/1990")
        assert wrong.status_code == 400
        assert f"Você tem mais {left} tentativas antes de precisar esperar." in wrong.text
    assert "Você tem mais 1 tentativa antes" in (await _verify(client, "03/03/1990")).text
    fifth = await _verify(client, "03/03/1990")
    assert fifth.status_code == 400
    assert "a próxima tentativa será possível em 1 minuto" in fifth.text
    blocked = await _verify(client, "01/01/1980")  # even the right date waits now
    assert blocked.status_code == 429
    assert "aguarde 1 minuto" in blocked.text and "você pode receber um código" in blocked.text
    frozen.advance(timedelta(seconds=61))
    done = await _verify(client, "01/01/1980")  # the wait ended: the right date works
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"


async def test_the_wait_doubles_with_every_further_wrong_date(client, world, frozen):
    await _start(client, world.shared_cpf)
    for _ in range(5):
        await _verify(client, "03/03/1990")
    waits: list[str] = []
    for _ in range(3):
        frozen.advance(timedelta(minutes=1 << len(waits), seconds=1))
        wrong = await _verify(client, "03/03/1990")
        assert wrong.status_code == 400
        waits.append(re.search(r"possível em (\d+) minutos?", wrong.text).group(1))  # type: ignore[union-attr]
    assert waits == ["2", "4", "8"]


async def test_six_wrong_birth_dates_leave_the_code_path_open(client, world, frozen, outbox):
    await _start(client, world.shared_cpf)
    for _ in range(6):
        await _verify(client, "03/03/1990")
    assert (await _verify(client, "01/01/1980")).status_code == 429
    sent = await _send_code(client)
    assert sent.status_code == 200
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    (message,) = await outbox.to(address)
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)  # type: ignore[union-attr]
    done = await _enter_code(client, code)
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"


async def test_wrong_birth_dates_from_one_address_do_not_lock_the_person_out(world, db, settings):
    """The attacker's address waits; the person, from their own address, gets in at once
    (and after a short wait at most, when many addresses guessed)."""
    access = DebtorAccess(db, settings.security.cpf_hash_key, FrozenClock(datetime.now(UTC)))
    clock = access.clock
    assert isinstance(clock, FrozenClock)
    attacker = f"10.9.{random.randint(0, 255)}.1"
    token = await access.start(world.shared_cpf, ip=attacker)
    for _ in range(5):
        with pytest.raises(AccessRefused):
            await access.verify_birth_date(token, date(1990, 3, 3), ip=attacker)
    with pytest.raises(AccessRefused) as refused:
        await access.verify_birth_date(token, date(1980, 1, 1), ip=attacker)
    assert refused.value.wait_seconds > 0
    mine = await access.start(world.shared_cpf, ip="10.8.0.1")
    assert (await access.verify_birth_date(mine, date(1980, 1, 1), ip="10.8.0.1")).tenants
    # Guesses spread over many addresses slow the CPF down, never for long.
    for n in range(CPF_FREE):
        spread = await access.start(world.shared_cpf, ip=f"10.7.{n}.1")
        with pytest.raises(AccessRefused):
            await access.verify_birth_date(spread, date(1990, 3, 3), ip=f"10.7.{n}.1")
    late = await access.start(world.shared_cpf, ip="10.8.0.2")
    with pytest.raises(AccessRefused) as waiting:
        await access.verify_birth_date(late, date(1980, 1, 1), ip="10.8.0.2")
    assert 0 < waiting.value.wait_seconds <= CPF_BASE.total_seconds()
    clock.advance(CPF_BASE + timedelta(seconds=1))
    assert (await access.verify_birth_date(late, date(1980, 1, 1), ip="10.8.0.2")).tenants


async def test_without_a_session_the_pages_send_back_to_look_up(client):
    client.cookies.clear()
    for path in ("/verificar", "/minhas-dividas"):
        response = await client.get(path)
        assert response.status_code in (302, 303)
        assert response.headers["location"] == "/?expirou=1"


async def test_the_session_cookie_is_httponly_and_short_lived(client, world):
    response = await _start(client, world.shared_cpf)
    cookie = response.headers["set-cookie"].lower()
    assert "quita_debtor=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "max-age=900" in cookie


async def test_prescribed_debts_are_labelled_and_never_offered(client, world, db, settings):
    import uuid
    from datetime import date

    from collection.models import DebtItem, Debtor, Portfolio
    from core.security import keyed_hash

    cpf = valid_cpf(random.Random())
    async with db.session(Scope.tenant(world.a.id)) as session:
        portfolio = await session.scalar(select(Portfolio))
        assert portfolio is not None
        person = Debtor(
            id=uuid.uuid4(),
            cpf=cpf,
            name="Pessoa Antiga",
            cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
            birth_date=date(1970, 7, 7),
        )
        session.add(person)
        session.add(
            Debt(
                id=uuid.uuid4(),
                portfolio_id=portfolio.id,
                debtor=person,
                contract="OLD-1",
                original_amount=50000,
                due_date=date(2019, 1, 10),
                items=[DebtItem(number=1, due_date=date(2019, 1, 10), amount=50000)],
            )
        )
        await session.commit()
    await _start(client, cpf)
    await _verify(client, "07/07/1970")
    text = (await client.get("/minhas-dividas")).text
    assert "OLD-1" in text and "prescrita" in text
    assert "Formas de quitar" not in text


async def _send_code(client):
    page = await client.get("/verificar")
    return await client.post("/verificar/codigo", data={"_csrf_token": csrf_from(page.text)})


async def _enter_code(client, code: str):
    page = await client.get("/verificar")
    return await client.post(
        "/verificar/codigo/confirmar", data={"code": code, "_csrf_token": csrf_from(page.text)}
    )


async def test_a_code_emailed_to_the_address_on_file_proves_the_cpf(client, world, outbox):
    await _start(client, world.shared_cpf)
    sent = await _send_code(client)
    assert sent.status_code == 200 and "Enviamos um código" in sent.text
    address = f"{world.a.debtor_names[0].lower()}@example.test"
    (message,) = await outbox.to(address)
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)  # type: ignore[union-attr]
    wrong = await _enter_code(client, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and "Não foi possível confirmar" in wrong.text
    done = await _enter_code(client, code)
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"
    assert (await client.get("/minhas-dividas")).status_code == 200


async def test_a_cpf_without_contacts_gets_the_same_page_and_nothing_is_sent(client, db):
    from sqlalchemy import func

    from core.mail import OutboundEmail

    async with db.session(Scope.system()) as session:
        before = await session.scalar(select(func.count()).select_from(OutboundEmail))
    await _start(client, valid_cpf(random.Random()))
    sent = await _send_code(client)
    assert sent.status_code == 200 and "contatos cadastrados pelo credor" in sent.text
    assert (await _enter_code(client, "123456")).status_code == 400
    async with db.session(Scope.system()) as session:
        assert await session.scalar(select(func.count()).select_from(OutboundEmail)) == before


async def test_a_code_by_sms_to_the_mobile_on_file_proves_the_cpf(client, world, db):
    from sqlalchemy import func

    from collection.models import Contact, ContactKind
    from core.mail import OutboundEmail

    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(
            Contact(debtor_id=world.a.debtor_ids[0], kind=ContactKind.PHONE, value="+5511987654321")
        )
        await session.commit()
    await _start(client, world.shared_cpf)
    page = await client.get("/verificar")
    assert "Por SMS" in page.text and "4321" not in page.text
    sent = await client.post(
        "/verificar/codigo", data={"channel": "sms", "_csrf_token": csrf_from(page.text)}
    )
    assert sent.status_code == 200 and "Enviamos um código de 6 dígitos" in sent.text
    assert "4321" not in sent.text
    async with db.session(Scope.system()) as session:
        text = await session.scalar(
            select(OutboundEmail).where(
                OutboundEmail.channel == "sms", OutboundEmail.to_address == "+5511987654321"
            )
        )
        assert text is not None and "987654321" not in text.body_text
        emails = await session.scalar(
            select(func.count())
            .select_from(OutboundEmail)
            .where(
                OutboundEmail.to_address.in_(
                    [
                        f"{n.lower()}@example.test"
                        for n in world.a.debtor_names + world.b.debtor_names
                    ]
                ),
                OutboundEmail.template == "debtor_code",
            )
        )
    code = re.search(r"\b(\d{6})\b", text.body_text).group(1)  # type: ignore[union-attr]
    done = await _enter_code(client, code)
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"
    assert emails == 0  # only the chosen channel got the code


# -- bad input (issue 25 item 14) ------------------------------------------------------------


async def test_a_pasted_cpf_with_spaces_dots_and_dashes_is_cleaned_before_the_length_check(
    client, world
):
    cpf = world.shared_cpf
    home = await client.get("/")
    field = re.search(r'<input id="f-cpf"[^>]*>', home.text)
    assert field and "maxlength" not in field.group(0)  # the browser never cuts a paste short
    for pasted in (
        f" {cpf[:3]} . {cpf[3:6]} . {cpf[6:9]} - {cpf[9:]} ",
        f"{cpf[:3]}\u00a0{cpf[3:6]}\u00a0{cpf[6:9]}\u2013{cpf[9:]}",  # from a PDF: nbsp, en dash
        f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}/{cpf[9:]}\t",
    ):
        response = await _start(client, pasted)
        assert response.status_code in (302, 303), (pasted, response.text[:300])
        assert response.headers["location"] == "/verificar"


async def test_a_short_cpf_says_it_needs_11_digits_and_focus_moves_to_the_error(client):
    response = await _start(client, "123")
    assert response.status_code == 400
    text = response.text
    assert "O CPF tem 11 dígitos; você digitou 3." in text
    field = re.search(r'<input id="f-cpf"[^>]*>', text)
    assert field is not None
    tag = field.group(0)
    assert 'aria-invalid="true"' in tag and "autofocus" in tag and 'value="123"' in tag
    assert re.search(r'aria-describedby="[^"]*\be-cpf\b', tag)
    assert 'id="e-cpf"' in text
    letters = await _start(client, "111.444.abc-35")
    assert letters.status_code == 400 and "Digite só os números do CPF." in letters.text
    long = await _start(client, "111444777350")
    assert long.status_code == 400 and "você digitou 12" in long.text


async def test_a_bad_contact_stays_on_its_own_page_with_what_was_typed(client, world):
    assert (await client.get("/direitos/contato")).status_code in (302, 303, 401)
    await _start(client, world.shared_cpf)
    await _verify(client, "01/01/1980")
    page = await client.get("/direitos/contato")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    token = csrf_from(page.text)
    cases = [
        ({"kind": "phone", "value": "123"}, "Digite um telefone com DDD.", "value"),
        ({"kind": "email", "value": "joana@exemplo"}, "Digite um e-mail válido.", "value"),
        ({"kind": "fax", "value": "joana@exemplo.com"}, "Escolha e-mail ou telefone.", "kind"),
    ]
    for data, message, field in cases:
        bad = await client.post("/direitos/contato", data={**data, "_csrf_token": token})
        assert bad.status_code == 400, data
        assert bad.headers["cache-control"] == "no-store"
        assert "<h1>Corrija seu contato</h1>" in bad.text
        assert f'value="{data["value"]}"' in bad.text  # what was typed comes back
        assert message in bad.text and f'id="e-{field}"' in bad.text
        if field == "value":
            tag = re.search(r'<input id="f-value"[^>]*>', bad.text)
            assert tag and 'aria-invalid="true"' in tag.group(0) and "autofocus" in tag.group(0)
            checked = re.search(
                rf'<input type="radio" name="kind" value="{data["kind"]}"[^>]*>', bad.text
            )
            assert checked and "checked" in checked.group(0)
    good = await client.post(
        "/direitos/contato",
        data={"kind": "phone", "value": "(11) 98765-4321", "_csrf_token": token},
    )
    assert good.status_code in (302, 303) and good.headers["location"].startswith("/minhas-dividas")
