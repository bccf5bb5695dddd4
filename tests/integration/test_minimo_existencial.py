"""Mínimo existencial across all of a person's agreements (issue 16 item 5): the income
told on the budget page travels with the offer, is kept with the agreement, and an
acceptance is refused when its payment, beside the person's other open agreements, would
leave less than R$ 600,00 a month."""

from __future__ import annotations

from sqlalchemy import select

from collection.domain.affordability import MINIMO_EXISTENCIAL
from collection.models import Agreement
from collection.negotiation.acceptance import offer_for
from collection.negotiation.commitments import commitments
from core.clock import local_today
from core.db import Scope
from core.security import keyed_hash
from tests.integration.test_debtor_agreements import _form, _offer_links, _verified


async def _accept(client, path: str, income: int | None):
    page = await client.get(path + (f"?renda={income}" if income is not None else ""))
    assert page.status_code == 200
    if income is not None:
        assert f'name="income" value="{income}"' in page.text
    form = _form(page.text)
    action = form.pop("_action")
    told = {"income": str(income)} if income is not None else {}
    return await client.post(action, data={**form, **told, "reason": ""})


async def test_an_acceptance_leaving_less_than_the_minimo_is_refused_across_agreements(
    client, world, db, settings, app
):
    debts_page = await _verified(client, world)
    at_a = next(link for link in _offer_links(debts_page, world.a.id) if link.endswith("/cash"))
    first = await _accept(client, at_a, income=1_000_000)
    assert first.status_code in (302, 303)
    cpf_hash = keyed_hash(settings.security.cpf_hash_key, world.shared_cpf)
    tenants = {world.a.id, world.b.id}
    held = await commitments(db, cpf_hash, tenants)
    assert held.monthly > 0 and held.last_income == 1_000_000
    at_b = [link for link in _offer_links(debts_page, world.b.id) if not link.endswith("/cash")]
    code = at_b[0].rsplit("/", 1)[1]
    _creditor, offer = await offer_for(
        db, cpf_hash, world.b.id, code, local_today(app.state.clock), tenants=tenants
    )
    short = held.monthly + offer.largest_payment + MINIMO_EXISTENCIAL - 1
    refused = await _accept(client, at_b[0], income=short)
    assert refused.status_code == 409
    assert "mínimo existencial" in refused.text and "outros acordos" in refused.text
    enough = short + 1
    accepted = await _accept(client, at_b[0], income=enough)
    assert accepted.status_code in (302, 303)
    async with db.session(Scope.tenant(world.b.id)) as session:
        kept = await session.scalar(select(Agreement.declared_income))
    assert kept == enough
