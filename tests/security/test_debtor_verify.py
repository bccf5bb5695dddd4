"""The debtor site's look-up and proof pages tell nothing about a CPF (issue 26 item 5),
and codes cannot be pumped nor guesses used to lock the person out (issue 26 item 8)."""

from __future__ import annotations

import random
import re
from typing import Any

from collection.models import Contact, ContactKind
from core.db import Scope
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
