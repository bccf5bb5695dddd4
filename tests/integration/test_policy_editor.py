"""The negotiation policy editor in the portal: a pt-BR form checked by the one policy
reader, a simulator of the offers before and after, published versions kept and audited,
and agreements that record the version they came from (issue 25 item 2)."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from collection.models import Agreement
from core.db import Scope
from tenants.models import AuditEvent, PolicyVersion, Tenant
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from tests.integration.test_debtor_agreements import _form, _offer_links, _verified

URL = "/portal/politica"


def _fields(page: str) -> dict[str, str]:
    """The editor's inputs as the browser would send them (checked boxes included)."""
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input id="[^"]*" name="([^"]+)" value="([^"]*)"', page)
    }
    fields["portfolio"] = ""
    fields["_csrf_token"] = csrf_from(page)
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" checked>', page):
        fields[name] = "on"
    return fields


async def _editor(client, world, role=Role.ADMIN) -> str:
    await login(client, world.a.users[role], PASSWORD)
    page = await client.get(URL)
    assert page.status_code == 200, page.text[-800:]
    return page.text


async def _versions(db, tenant_id) -> list[PolicyVersion]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        return list(
            (await session.scalars(select(PolicyVersion).order_by(PolicyVersion.number))).all()
        )


async def test_the_editor_shows_the_policy_in_force_and_the_simulator(client, world):
    page = await _editor(client, world)
    assert "Política de negociação" in page and "Faixa 3" in page
    assert 'name="buckets[2].max_installments" value="24"' in page
    assert 'name="buckets[0].monthly_rate" value="1,99"' in page  # percent, pt-BR
    assert 'name="buckets[0].min_installment" value="50,00"' in page  # reais
    # The simulator uses the tenant's own debts, named by contract only.
    assert "Contrato CT-A-" in page and "Em vigor" in page and "Rascunho" in page
    assert world.a.debtor_names[0] not in page
    assert "Nenhuma versão publicada" in page


async def test_only_policy_editors_reach_the_editor(client, world):
    for role in (Role.ANALYST, Role.VIEWER):
        client.cookies.clear()
        await login(client, world.a.users[role], PASSWORD)
        assert (await client.get(URL)).status_code == 403
        token = csrf_from((await client.get("/portal/regua")).text)
        refused = await client.post(URL, data={"_csrf_token": token, "action": "publish"})
        assert refused.status_code == 403
    client.cookies.clear()
    page = await _editor(client, world, Role.ADMIN)
    no_csrf = await client.post(
        URL, data={**_fields(page), "_csrf_token": "x", "action": "publish"}
    )
    assert no_csrf.status_code == 403


async def test_a_bad_value_names_the_field_and_nothing_is_published(client, world, db):
    page = await _editor(client, world)
    fields = _fields(page)
    fields["buckets[1].max_installments"] = "500"
    bad = await client.post(URL, data={**fields, "action": "publish"})
    assert bad.status_code == 400
    assert "Nada foi publicado" in bad.text
    assert "Faixa 2 · Máximo de pagamentos (entrada incluída)" in bad.text
    assert "deve estar entre 1 (só à vista) e 120" in bad.text
    assert (
        'id="f-buckets-1-max_installments" name="buckets[1].max_installments" value="500"'
        in bad.text
    )
    assert 'aria-describedby="e-buckets-1-max_installments"' in bad.text
    # A gap between bands is the policy reader's error too, on the band that starts late.
    fields["buckets[1].max_installments"] = "12"
    fields["buckets[1].min_days"] = "95"
    gap = await client.post(URL, data={**fields, "action": "publish"})
    assert gap.status_code == 400 and "intervalo sem faixa entre 91 e 94" in gap.text
    assert not await _versions(db, world.a.id)
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.get_one(Tenant, world.a.id)).policy_toml is None


async def test_publishing_keeps_every_version_and_a_new_agreement_records_its_own(
    client, world, db
):
    page = await _editor(client, world)
    fields = _fields(page)
    fields["buckets[1].max_installments"] = "10"
    first = await client.post(URL, data={**fields, "action": "publish"})
    assert first.status_code == 303 and first.headers["location"] == f"{URL}?publicada=1"
    fields["buckets[1].max_installments"] = "8"
    fields["buckets[1].monthly_rate"] = "1,5"
    second = await client.post(URL, data={**fields, "action": "publish"})
    assert second.status_code == 303
    one, two = await _versions(db, world.a.id)
    assert (one.number, two.number) == (1, 2) and one.source == two.source == "portal"
    assert "max_installments = 10" in one.toml and 'monthly_rate = "1,5%"' in two.toml
    async with db.session(Scope.tenant(world.a.id)) as session:
        tenant = await session.get_one(Tenant, world.a.id)
        assert tenant.policy_toml == two.toml
        admin = await session.scalar(
            select(AuditEvent.actor_id).where(AuditEvent.action == "policy.published").limit(1)
        )
        events = await session.scalar(
            select(func.count()).where(AuditEvent.action == "policy.published")
        )
        assert admin is not None and events == 2
    listing = (await client.get(f"{URL}?publicada=2")).text
    assert "Versão 2 publicada" in listing and "/portal/politica/versoes/1" in listing
    old = await client.get(f"{URL}/versoes/1")
    assert old.status_code == 200 and "max_installments = 10" in old.text
    assert (await client.get(f"{URL}/versoes/9")).status_code == 404
    # A person accepts an offer now: the agreement records version 2.
    client.cookies.clear()
    debts_page = await _verified(client, world)
    offer_page = await client.get(_offer_links(debts_page, world.a.id)[1])
    form = _form(offer_page.text)
    action = form.pop("_action")
    accepted = await client.post(action, data=form)
    assert accepted.status_code in (302, 303)
    async with db.session(Scope.tenant(world.a.id)) as session:
        (agreement,) = (await session.scalars(select(Agreement))).all()
        assert agreement.policy_version_id == two.id
    # The creditor sees which version the agreement came from.
    client.cookies.clear()
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    account = await client.get(f"/portal/debtors/{agreement.debtor_id}")
    assert '<a href="/portal/politica/versoes/2">Política, versão 2</a>' in account.text


async def test_an_agreement_under_the_default_policy_records_no_version(client, world, db):
    debts_page = await _verified(client, world)
    offer_page = await client.get(_offer_links(debts_page, world.b.id)[0])
    form = _form(offer_page.text)
    action = form.pop("_action")
    assert (await client.post(action, data=form)).status_code in (302, 303)
    async with db.session(Scope.tenant(world.b.id)) as session:
        (agreement,) = (await session.scalars(select(Agreement))).all()
        assert agreement.policy_version_id is None


async def test_the_simulator_shows_the_offers_before_and_after_the_draft(client, world):
    page = await _editor(client, world)
    fields = _fields(page)
    for band in range(3):
        fields[f"buckets[{band}].max_installments"] = "3"
    partial = await client.post(f"{URL}/simular", data=fields, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and "Em vigor" in partial.text
    # The 12× plan exists today and not in the draft; the cash offer is unchanged.
    assert 'class="changed"' in partial.text and "12× de" in partial.text
    rows = re.findall(
        r"<tr( class=\"changed\")?><td>(.*?)</td><td>(.*?)</td></tr>", partial.text, re.S
    )
    assert any(
        "12× de" in before and after.strip() == "<strong>—</strong>" for _, before, after in rows
    )
    assert any(not changed and "À vista" in before for changed, before, _ in rows)
    # Without htmx the same request is the whole page, the simulator in it.
    plain = await client.post(f"{URL}/simular", data=fields)
    assert plain.status_code == 200 and "<html" in plain.text and 'class="changed"' in plain.text
    # A draft that is not a policy says so and still shows today's offers.
    fields["buckets[0].validity_days"] = "1"
    broken = await client.post(f"{URL}/simular", data=fields, headers={"HX-Request": "true"})
    assert "ainda não é uma política válida" in broken.text and "pelo menos 2 dias" in broken.text


async def test_bands_are_added_and_removed_staying_contiguous(client, world, db):
    page = await _editor(client, world)
    fields = _fields(page)
    added = await client.post(URL, data={**fields, "action": "add"})
    assert added.status_code == 200
    assert 'name="buckets[3].min_days" value="456"' in added.text
    assert 'name="buckets[2].max_days" value="455"' in added.text
    removed = await client.post(URL, data={**_fields(added.text), "action": "remove:1"})
    assert removed.status_code == 200
    assert 'name="buckets[1].min_days" value="91"' in removed.text
    assert "buckets[3]" not in removed.text
    published = await client.post(URL, data={**_fields(removed.text), "action": "publish"})
    assert published.status_code == 303
    (version,) = await _versions(db, world.a.id)
    assert version.toml.count("[[buckets]]") == 3


async def test_a_policy_through_the_api_is_a_version_too(client, world, db):
    from tests.integration.test_api import GOOD_POLICY, bearer, make_client, token_for

    token = await token_for(client, await make_client(db, world.a.id, "policy:write"))
    put = await client.put("/api/v1/policy", headers=bearer(token), json={"toml": GOOD_POLICY})
    assert put.status_code == 200
    (version,) = await _versions(db, world.a.id)
    assert version.source == "api" and version.toml == GOOD_POLICY
    assert version.published_by_label.startswith("api:")


async def test_two_publishes_at_once_keep_one_and_refuse_the_other(client, world, db, monkeypatch):
    from collection.negotiation import policy_versions

    page = await _editor(client, world)
    fields = _fields(page)
    assert (await client.post(URL, data={**fields, "action": "publish"})).status_code == 303

    async def stale(session, tenant_id):  # read before the other publish committed
        return 1

    monkeypatch.setattr(policy_versions, "_next_number", stale)
    fields["buckets[0].validity_days"] = "7"
    late = await client.post(URL, data={**fields, "action": "publish"})
    assert late.status_code == 409 and "Outra versão foi publicada há pouco" in late.text
    (only,) = await _versions(db, world.a.id)
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.get_one(Tenant, world.a.id)).policy_toml == only.toml
        assert "validity_days = 7" not in only.toml


async def test_the_simulator_samples_three_ages_or_typical_debts(client, world, db):
    from sqlalchemy import update

    from collection.models import Debt, DebtStatus

    page = await _editor(client, world)
    assert len(set(re.findall(r"Contrato (CT-A-[\w-]+)", page))) == 3
    async with db.session(Scope.tenant(world.a.id)) as session:
        await session.execute(update(Debt).values(status=DebtStatus.PAID))
        await session.commit()
    typical = (await client.get(URL)).text
    assert "Contrato CT-A-" not in typical
    assert "Exemplo: R$\xa0500,00, 45 dias de atraso" in typical


async def test_a_draft_starts_from_an_earlier_version(client, world, db):
    page = await _editor(client, world)
    fields = _fields(page)
    fields["buckets[0].validity_days"] = "9"
    assert (await client.post(URL, data={**fields, "action": "publish"})).status_code == 303
    fields["buckets[0].validity_days"] = "4"
    assert (await client.post(URL, data={**fields, "action": "publish"})).status_code == 303
    draft = await client.get(URL, params={"de": "1"})
    assert draft.status_code == 200
    assert 'name="buckets[0].validity_days" value="9"' in draft.text
    assert (await client.get(URL, params={"de": "7"})).status_code == 404
