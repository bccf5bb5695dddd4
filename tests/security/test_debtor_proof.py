"""A debtor's proof counts only for the creditors whose own records it matches.

The attack (issue 26): a creditor's API client posts a debt for a victim's CPF with a
birth date of its choosing; proving with that date on the debtor site must open that
creditor's own rows only, never the debts, contacts, birth date or address another
creditor holds for the same CPF. Proving the other creditor too (with its own data)
then shows both.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from datetime import date
from typing import NamedTuple

from sqlalchemy import select

from collection.models import Contact, ContactKind, Debt, DebtItem, Debtor, Portfolio
from core.db import Scope
from core.security import keyed_hash
from tenants.models import AuditEvent
from tests.conftest import csrf_from
from tests.factories import valid_cpf
from tests.integration.test_api import bearer, make_client, new_debt, token_for
from tests.integration.test_debtor_lookup import _start, _verify

VICTIM_BORN = date(1975, 5, 5)
VICTIM_PHONE = "+5511987651234"
VICTIM_ADDRESS = "Rua das Vítimas, 321, Apto 12"
CHOSEN = "02/02/2000"  # the birth date the attacking creditor wrote


async def _victim_at(db, settings, tenant_id: uuid.UUID, cpf: str, email: str) -> str:
    """Creditor A's real record of the person: birth date, address, e-mail, phone, debt."""
    contract = f"A-REAL-{uuid.uuid4().hex[:6]}"
    async with db.session(Scope.tenant(tenant_id)) as session:
        portfolio = await session.scalar(select(Portfolio))
        assert portfolio is not None
        person = Debtor(
            id=uuid.uuid4(),
            cpf=cpf,
            cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
            name="Vítima Verdadeira",
            birth_date=VICTIM_BORN,
            address=VICTIM_ADDRESS,
            city="São Paulo",
            state="SP",
            zip_code="01001000",
        )
        person.contacts.append(Contact(kind=ContactKind.EMAIL, value=email))
        person.contacts.append(Contact(kind=ContactKind.PHONE, value=VICTIM_PHONE))
        session.add(person)
        session.add(
            Debt(
                id=uuid.uuid4(),
                portfolio_id=portfolio.id,
                debtor=person,
                contract=contract,
                product="Empréstimo",
                original_amount=90_000,
                due_date=date(2025, 6, 10),
                items=[DebtItem(number=1, due_date=date(2025, 6, 10), amount=90_000)],
            )
        )
        await session.commit()
    return contract


async def _attack(client, db, attacker_id: uuid.UUID, cpf: str) -> str:
    """Creditor B's API client posts a debt for the victim's CPF with a chosen date."""
    token = await token_for(client, await make_client(db, attacker_id))
    contract = f"B-FAKE-{uuid.uuid4().hex[:6]}"
    body = new_debt(contract, cpf=cpf)
    body["debtor"] = {
        "cpf": cpf,
        "name": "Qualquer Nome",
        "birth_date": "2000-02-02",
        "email": "atacante@example.test",
    }
    created = await client.post("/api/v1/debts", headers=bearer(token), json=body)
    assert created.status_code == 201, created.text
    return contract


class Case(NamedTuple):
    cpf: str
    real: str  # A's contract
    fake: str  # the contract B wrote
    email: str  # A's e-mail of the person


async def _setup(client, db, settings, world) -> Case:
    cpf = valid_cpf(random.Random())
    email = f"vitima.{uuid.uuid4().hex[:8]}@example.test"
    real = await _victim_at(db, settings, world.a.id, cpf, email)
    fake = await _attack(client, db, world.b.id, cpf)
    return Case(cpf, real, fake, email)


async def _copy(client) -> str:
    response = await client.get("/direitos/copia")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    return response.text


async def _prove_for(client, tenant_id: uuid.UUID, birth: str):
    page = await client.get(f"/verificar/credor/{tenant_id}")
    assert page.status_code == 200, page.status_code
    return await client.post(
        "/verificar",
        data={"birth_date": birth, "credor": str(tenant_id), "_csrf_token": csrf_from(page.text)},
    )


async def test_a_birth_date_one_creditor_wrote_does_not_open_another_creditors_data(
    client, world, db, settings
):
    cpf, real, fake, email = await _setup(client, db, settings, world)
    client.cookies.clear()
    await _start(client, cpf)
    done = await _verify(client, CHOSEN)
    assert done.status_code in (302, 303) and done.headers["location"] == "/minhas-dividas"

    page = (await client.get("/minhas-dividas")).text
    assert fake in page  # the attacker's own row
    assert real not in page and "Empréstimo" not in page
    # A is named only, with a proof of its own to see it.
    assert world.a.tenant.name in page and f'href="/verificar/credor/{world.a.id}"' in page
    assert "Confirme sua identidade para ver" in page
    assert world.a.tenant.legal_name not in page
    assert f"/ofertas/{world.a.id}/" not in page
    # Not even masked: A's contacts are A's data.
    assert "v***@example.test" not in page and "*****-1234" not in page

    copy = await _copy(client)
    data = json.loads(copy)
    assert [c["creditor"]["name"] for c in data["creditors"]] == [world.b.tenant.legal_name]
    for secret in (real, VICTIM_BORN.isoformat(), VICTIM_ADDRESS, email, VICTIM_PHONE):
        assert secret not in copy
    assert "Vítima" not in copy


async def test_every_other_page_refuses_the_unproven_creditors_rows(client, world, db, settings):
    cpf, _real, _fake, email = await _setup(client, db, settings, world)
    async with db.session(Scope.tenant(world.a.id)) as session:
        debtor = await session.scalar(select(Debtor).where(Debtor.birth_date == VICTIM_BORN))
        assert debtor is not None
        debt_id = await session.scalar(select(Debt.id).where(Debt.debtor_id == debtor.id))
        contact_id = await session.scalar(
            select(Contact.id).where(Contact.debtor_id == debtor.id, Contact.value == email)
        )
    client.cookies.clear()
    await _start(client, cpf)
    await _verify(client, CHOSEN)
    page = await client.get("/minhas-dividas")
    token = csrf_from(page.text)
    assert (await client.get(f"/ofertas/{world.a.id}/cash")).status_code == 409
    assert (await client.get(f"/plano?credor={world.a.id}&valor=100")).status_code == 404
    assert (await client.get(f"/contestar/{debt_id}")).status_code == 404
    for kind in ("not_mine", "no-such-kind"):
        disputed = await client.post(
            f"/contestar/{debt_id}", data={"kind": kind, "text": "x", "_csrf_token": token}
        )
        assert disputed.status_code == 404
    not_mine = await client.post(f"/contatos/{contact_id}/nao-e-meu", data={"_csrf_token": token})
    assert not_mine.status_code == 404
    # A contact added now goes to the proven creditor only: it must not become a way
    # to receive a code that proves the other one.
    added = await client.post(
        "/direitos/contato",
        data={"kind": "email", "value": "novo.atacante@example.test", "_csrf_token": token},
    )
    assert added.status_code in (302, 303)
    stopped = await client.post("/direitos/parar", data={"channel": "email", "_csrf_token": token})
    assert stopped.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        contacts = (
            await session.scalars(select(Contact).where(Contact.debtor_id == debtor.id))
        ).all()
    assert {c.value for c in contacts} == {email, VICTIM_PHONE}
    assert all(c.opted_out_at is None and c.not_mine_at is None for c in contacts)


async def test_the_other_creditor_is_proven_with_its_own_data_and_then_both_show(
    client, world, db, settings
):
    cpf, real, fake, _email = await _setup(client, db, settings, world)
    client.cookies.clear()
    await _start(client, cpf)
    await _verify(client, CHOSEN)
    # The attacker's date does not prove A, even on A's own proof page.
    wrong = await _prove_for(client, world.a.id, CHOSEN)
    assert wrong.status_code == 400 and "Não foi possível confirmar" in wrong.text
    assert wrong.headers["cache-control"] == "no-store"
    assert real not in (await client.get("/minhas-dividas")).text
    # The person's real date, on A's record, proves A too.
    right = await _prove_for(client, world.a.id, VICTIM_BORN.strftime("%d/%m/%Y"))
    assert right.status_code in (302, 303) and right.headers["location"] == "/minhas-dividas"
    page = (await client.get("/minhas-dividas")).text
    assert real in page and fake in page
    assert f'href="/verificar/credor/{world.a.id}"' not in page
    assert (await client.get(f"/verificar/credor/{world.a.id}")).status_code == 404
    data = json.loads(await _copy(client))
    names = {c["creditor"]["name"] for c in data["creditors"]}
    assert names == {world.a.tenant.legal_name, world.b.tenant.legal_name}
    assert VICTIM_BORN.isoformat() in json.dumps(data)


async def test_a_code_to_a_contact_a_creditor_holds_proves_that_creditor(
    client, world, db, settings, outbox
):
    cpf, real, fake, email = await _setup(client, db, settings, world)
    client.cookies.clear()
    await _start(client, cpf)
    await _verify(client, CHOSEN)
    page = await client.get(f"/verificar/credor/{world.a.id}")
    # Not even masked before A is proven (issue 26 item 5): the code goes to what A holds.
    assert "v***@example.test" not in page.text and "*****-1234" not in page.text
    assert "contatos cadastrados pelo credor" in page.text
    sent = await client.post(
        "/verificar/codigo",
        data={"channel": "email", "credor": str(world.a.id), "_csrf_token": csrf_from(page.text)},
    )
    assert sent.status_code == 200 and "Enviamos um código" in sent.text
    (message,) = await outbox.to(email)
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)  # type: ignore[union-attr]
    done = await client.post(
        "/verificar/codigo/confirmar",
        data={"code": code, "credor": str(world.a.id), "_csrf_token": csrf_from(sent.text)},
    )
    assert done.status_code in (302, 303)
    text = (await client.get("/minhas-dividas")).text
    assert real in text and fake in text


async def test_a_code_proves_only_the_creditors_holding_that_contact(
    client, world, db, settings, outbox
):
    cpf, real, fake, email = await _setup(client, db, settings, world)
    client.cookies.clear()
    await _start(client, cpf)
    page = await client.get("/verificar")
    sent = await client.post(
        "/verificar/codigo", data={"channel": "email", "_csrf_token": csrf_from(page.text)}
    )
    assert sent.status_code == 200
    # A's row is older: its e-mail gets the code; B does not hold that address.
    (message,) = await outbox.to(email)
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)  # type: ignore[union-attr]
    await client.post(
        "/verificar/codigo/confirmar", data={"code": code, "_csrf_token": csrf_from(sent.text)}
    )
    text = (await client.get("/minhas-dividas")).text
    assert real in text and fake not in text
    assert f'href="/verificar/credor/{world.b.id}"' in text


async def test_conflicting_birth_dates_are_recorded_and_never_revealed(client, world, db, settings):
    cpf, _real, _fake, _email = await _setup(client, db, settings, world)
    client.cookies.clear()
    await _start(client, cpf)
    response = await _verify(client, CHOSEN)
    page = await client.get(response.headers["location"])
    for shown in (page.text, await _copy(client)):
        assert VICTIM_BORN.isoformat() not in shown and "05/05/1975" not in shown
    async with db.session(Scope.system()) as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "debtor.birth_date_conflict")
            )
        ).all()
        victim = await session.scalar(select(Debtor.id).where(Debtor.birth_date == VICTIM_BORN))
    ours = [e for e in events if str(victim) in e.details.get("other_debtors", [])]
    assert len(ours) == 1 and ours[0].tenant_id is None  # the platform's, no creditor's
    assert "1975" not in json.dumps(ours[0].details)


async def test_a_person_with_the_same_data_everywhere_proves_once(client, world):
    await _start(client, world.shared_cpf)
    await _verify(client, "01/01/1980")
    text = (await client.get("/minhas-dividas")).text
    assert world.a.contracts[0] in text and world.b.contracts[0] in text
    assert "/verificar/credor/" not in text


# -- nothing behind the proof is kept by the browser ------------------------------------


async def test_pages_behind_the_proof_are_not_stored(client, world):
    from tests.integration.test_debtor_agreements import _form, _offer_links

    await _start(client, world.shared_cpf)
    await _verify(client, "01/01/1980")
    debts = await client.get("/minhas-dividas")
    assert debts.headers["cache-control"] == "no-store"
    offer_link = _offer_links(debts.text, world.a.id)[0]
    offer = await client.get(offer_link)
    assert offer.status_code == 200 and offer.headers["cache-control"] == "no-store"
    form = _form(offer.text)
    accepted = await client.post(form.pop("_action"), data=form)
    agreement_url = accepted.headers["location"]
    checked = [
        agreement_url,
        f"{agreement_url}/pagar/boleto",
        f"/plano?credor={world.a.id}&valor=300",
        f"/contestar/{world.b.debt_ids[0]}",
        "/direitos/copia",
    ]
    for url in checked:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.headers["cache-control"] == "no-store", url
    # After "Sair", nothing: the same pages send the person back to look-up.
    page = await client.get("/minhas-dividas")
    await client.post("/sair", data={"_csrf_token": csrf_from(page.text)})
    for url in ("/minhas-dividas", agreement_url, "/direitos/copia"):
        assert (await client.get(url)).status_code in (302, 303, 401)


async def test_proving_one_creditor_does_not_reset_the_guesses_at_another(
    client, world, db, settings
):
    cpf, _real, _fake, _email = await _setup(client, db, settings, world)
    client.cookies.clear()
    await _start(client, cpf)
    await _verify(client, CHOSEN)
    for _ in range(3):
        assert (await _prove_for(client, world.a.id, "03/03/1990")).status_code == 400
    # The attacker's own date proves B again; the failures at A still count.
    page = await client.get("/minhas-dividas")
    again = await client.post(
        "/verificar", data={"birth_date": CHOSEN, "_csrf_token": csrf_from(page.text)}
    )
    assert again.status_code in (302, 303)
    for _ in range(2):
        assert (await _prove_for(client, world.a.id, "04/04/1991")).status_code == 400
    blocked = await _prove_for(client, world.a.id, VICTIM_BORN.strftime("%d/%m/%Y"))
    assert blocked.status_code == 429


async def test_the_same_attack_through_a_portal_csv_import_opens_nothing_of_a(
    client, world, db, settings
):
    from tenants.roles import Role
    from tests.conftest import login
    from tests.factories import PASSWORD
    from tests.integration.test_imports import _job_id, _run_worker, _upload, csv_bytes

    cpf = valid_cpf(random.Random())
    email = f"vitima.{uuid.uuid4().hex[:8]}@example.test"
    real = await _victim_at(db, settings, world.a.id, cpf, email)
    fake = f"B-CSV-{uuid.uuid4().hex[:6]}"
    row = f"Qualquer Nome;{cpf};{CHOSEN};;;{fake};1;05/03/2025;500,00;Loja"
    await login(client, world.b.users[Role.ANALYST], PASSWORD)
    job_id = _job_id(await _upload(client, csv_bytes([row])))
    assert await _run_worker(db, settings, job_id) == "previewed"
    page = await client.get(f"/portal/imports/{job_id}")
    await client.post(
        f"/portal/imports/{job_id}/confirm", data={"_csrf_token": csrf_from(page.text)}
    )
    assert await _run_worker(db, settings, job_id) == "imported"

    client.cookies.clear()
    await _start(client, cpf)
    done = await _verify(client, CHOSEN)
    assert done.status_code in (302, 303)
    text = (await client.get("/minhas-dividas")).text
    assert fake in text and real not in text
    copy = await _copy(client)
    for secret in (real, VICTIM_BORN.isoformat(), VICTIM_ADDRESS, email, VICTIM_PHONE):
        assert secret not in copy
