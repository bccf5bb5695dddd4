"""The shells of both sites in headless Chromium: axe (WCAG 2.2 AA), keyboard, viewports."""

from __future__ import annotations

import pytest
from axe_playwright_python.async_playwright import Axe

from collection.models import Channel
from collection.regua import opt_out
from tenants.roles import Role
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    }
}


async def _serious(page, exclude: str | None = None) -> list[str]:
    context = {"exclude": [[exclude]]} if exclude else None
    results = await Axe().run(page, context=context, options=AXE_OPTIONS)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def _sign_in(page, base: str, email: str) -> None:
    await page.goto(f"{base}/portal/")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{base}/portal/home")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_every_shell_page_passes_axe(browser, live_server, shots, viewport):
    context = await browser.new_context(viewport=VIEWPORTS[viewport], locale="pt-BR")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    world = live_server.world
    public = [
        "/",
        "/privacidade",
        "/portal/",
        "/portal/password/forgot",
        "/portal/sso/entrar",
        "/nao-existe",
        f"/credor/{world.a.tenant.slug}",  # the creditor's identification (CDC art. 42-A)
        # A message's one-click stop: the confirmation with its undo.
        f"/parar/{opt_out.sign(TEST_SECRET, world.a.id, world.a.debtor_ids[2], Channel.SMS)}",
    ]
    for path in public:
        await page.goto(base + path)
        assert await _serious(page) == [], path
        await page.screenshot(
            path=str(shots / f"shell-{viewport}{path.replace('/', '_')}.png"), full_page=True
        )
    await _sign_in(page, base, world.a.users[Role.OWNER])
    staff = [
        "/portal/home",
        "/portal/debtors",
        "/portal/users",
        "/portal/security",
        "/portal/audit",
        f"/portal/debtors/{world.a.debtor_ids[0]}",
        f"/portal/debts/{world.a.debt_ids[0]}",
        "/portal/regua",
        "/portal/regua/novo",
        "/portal/regua/previa",
        "/portal/pagamentos",
        "/portal/disputes",
        "/portal/privacy",
        "/portal/imports",
        "/portal/repasse",
        "/portal/ofertas-especiais",
        "/portal/escalonamento",
        "/portal/painel",
        "/portal/api",
        "/portal/webhooks",
        "/portal/webhooks/novo",
        "/portal/sso/configuracao",
        "/portal/politica",
    ]
    for path in staff:
        await page.goto(base + path)
        assert await _serious(page) == [], path
        await page.screenshot(
            path=str(shots / f"shell-{viewport}{path.replace('/', '_')[:40]}.png"), full_page=True
        )
    assert not [e for e in errors if "Content Security Policy" in e], errors
    await context.close()


async def test_sign_in_and_search_by_keyboard_alone(browser, live_server, shots):
    context = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="pt-BR")
    page = await context.new_page()
    base = live_server.url
    await page.goto(f"{base}/portal/")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip-link"
    await page.keyboard.press("Enter")
    for _ in range(6):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "f-email":
            break
    assert await page.evaluate("document.activeElement.id") == "f-email"
    await page.keyboard.type(live_server.world.a.users[Role.ANALYST])
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/portal/home")
    await page.goto(f"{base}/portal/debtors")
    await page.focus("#q")
    name = live_server.world.a.debtor_names[2]
    await page.keyboard.type(name)
    # htmx swaps the table in place as the person types.
    await page.wait_for_function(
        "n => document.querySelectorAll('#debtor-table tbody tr').length === 1 && "
        "document.querySelector('#debtor-table').innerText.includes(n)",
        arg=name,
    )
    await page.screenshot(path=str(shots / "portal-search-htmx.png"))
    await context.close()


async def test_below_every_plan_the_person_sends_a_proposal_by_keyboard(
    browser, live_server, shots
):
    # Issue 25 item 6: no plan fits R$ 10,00 a month; the person proposes their own terms
    # and is told it is a request, not an agreement. (Before the agreement tests below,
    # which leave the shared CPF without offers.)
    context = await browser.new_context(viewport=VIEWPORTS["phone"], locale="pt-BR")
    page = await context.new_page()
    base = live_server.url
    await page.goto(f"{base}/")
    await page.focus("#f-cpf")
    await page.keyboard.type(live_server.world.shared_cpf)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/verificar")
    await page.focus("#f-birth_date")
    await page.keyboard.type("01/01/1980")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/minhas-dividas")
    # Creditor B's form: creditor A's approval queue belongs to the agency test below.
    await page.focus(
        f".fit-form:has(input[name=credor][value='{live_server.world.b.id}']) input[name=valor]"
    )
    await page.keyboard.type("10,00")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/plano?**")
    assert "Nenhum plano cabe" in await page.inner_text("main")
    assert await _serious(page) == []
    await page.focus("#p-meses")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("20")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=Proposta enviada")
    text = await page.inner_text("main")
    assert "Isto é um pedido, não um acordo." in text
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / "site-phone-proposal-sent.png"), full_page=True)
    await context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_look_up_verify_and_agree_by_keyboard_with_axe_on_every_step(
    browser, live_server, shots, viewport
):
    context = await browser.new_context(viewport=VIEWPORTS[viewport], locale="pt-BR")
    page = await context.new_page()
    base = live_server.url
    await page.goto(f"{base}/")
    await page.focus("#f-cpf")
    await page.keyboard.type(live_server.world.shared_cpf)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/verificar")
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"site-{viewport}-verify.png"), full_page=True)
    await page.focus("#f-birth_date")
    await page.keyboard.type("01/01/1980")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/minhas-dividas")
    assert await _serious(page) == []
    text = await page.inner_text("main")
    assert live_server.world.a.tenant.name in text and live_server.world.b.tenant.name in text
    await page.screenshot(path=str(shots / f"site-{viewport}-debts.png"), full_page=True)
    # Choose an installment plan and accept it, by keyboard.
    await page.focus("a[href^='/ofertas/'][href*='/installments-']")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/ofertas/**")
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"site-{viewport}-offer.png"), full_page=True)
    await page.focus("#f-reason")
    await page.keyboard.press("ArrowDown")
    await page.focus("main form button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/acordos/**")
    assert await _serious(page) == []
    assert "Seu acordo com" in await page.inner_text("main")
    await page.screenshot(path=str(shots / f"site-{viewport}-agreement.png"), full_page=True)
    # Pay by card through the local test gateway, by keyboard.
    await page.focus("a[href$='/pagar/cartao']")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/pagar/cartao")
    assert "Gateway de teste" in await page.inner_text("main")
    # The card inputs belong to the gateway's script (an iframe with real Stripe.js).
    assert await _serious(page, exclude="#card-element") == []
    await page.focus("#card-element input[placeholder=number]")
    await page.keyboard.type("4242424242424242")  # the gateway's script moves the focus on
    await page.keyboard.type("12")
    await page.keyboard.type("34")
    await page.keyboard.type("123")
    await page.keyboard.type("01310")
    await page.screenshot(path=str(shots / f"site-{viewport}-card.png"), full_page=True)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    await page.keyboard.press("Enter")
    try:
        await page.wait_for_url("**/pagamentos/**", timeout=15_000)
    except Exception:
        raise AssertionError(f"{await page.inner_text('#card-status')!r} {console}") from None
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"site-{viewport}-payment.png"), full_page=True)
    # The page follows the payment until the gateway's webhook confirms it.
    await page.wait_for_selector("#payment-status .alert.ok", timeout=20_000)
    assert "Pagamento confirmado" in await page.inner_text("#payment-status")
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"site-{viewport}-paid.png"), full_page=True)
    # The next installment by Pix (offered first): a QR code and its copy-and-paste code,
    # confirmed when the local provider's signed webhook arrives.
    await page.focus("#payment-status a[href^='/acordos/']")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/acordos/*")
    buttons = await page.inner_text(".pay-options")
    assert buttons.index("Pagar com Pix") < buttons.index("Pagar com cartão")
    await page.focus(".pay-options form button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/pagamentos/**")
    assert await page.locator(".pix-qr-box svg").count() == 1
    assert (await page.input_value("#pix-code")).startswith("000201")
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"site-{viewport}-pix.png"), full_page=True)
    await page.focus("form.simulate button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#payment-status .alert.ok", timeout=20_000)
    assert "Pagamento confirmado" in await page.inner_text("#payment-status")
    # Each confirmed payment has its receipt on the agreement's page (issue 25 item 7).
    await page.focus("#payment-status a[href^='/acordos/']")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/acordos/*")
    assert "Acordo nº AC-" in await page.inner_text("main")
    await page.focus("a[href*='/recibos/']")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/recibos/**")
    assert "Recibo de pagamento" in await page.inner_text("main")
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"site-{viewport}-receipt.png"), full_page=True)
    await context.close()


async def test_the_agency_works_an_account_by_keyboard_and_its_pages_pass_axe(
    browser, live_server, shots
):
    """An agent takes an account from the queue, writes a note and proposes a special
    offer; the supervisor sees the team and the agency dashboard; the creditor approves."""
    context = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="pt-BR")
    page = await context.new_page()
    base = live_server.url
    world = live_server.world
    account = f"/portal/agencia/contas/{live_server.handover_id}"

    async def scanned(path: str, name: str) -> None:
        await page.goto(base + path)
        assert await _serious(page) == [], path
        await page.screenshot(path=str(shots / f"agency-{name}.png"), full_page=True)

    await _sign_in(page, base, world.agency_users[Role.AGENT])
    await scanned("/portal/agencia/fila", "queue")
    row = page.locator(f"tr:has(a[href='{account}'])")
    await row.get_by_role("button").focus()
    await page.keyboard.press("Enter")
    await row.get_by_role("button").wait_for()
    await scanned(account, "account")
    await page.focus("#note-text")
    await page.keyboard.type("Pessoa pediu retorno na sexta.")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.get_by_text("Pessoa pediu retorno na sexta.").first.wait_for()
    await scanned(f"/portal/ofertas-especiais/propor/{live_server.handover_id}", "propose")
    await page.fill("#f-discount", "40")
    await page.fill("#f-payments", "1")
    await page.fill("#f-why", "Desempregado há seis meses; paga à vista com ajuda da família.")
    await page.click("button[name=action][value=send]")
    await page.wait_for_url("**enviada=1**")
    assert await _serious(page) == []
    await context.close()

    context = await browser.new_context(viewport=VIEWPORTS["phone"], locale="pt-BR")
    page = await context.new_page()
    await _sign_in(page, base, world.agency_users[Role.SUPERVISOR])
    await scanned("/portal/agencia/equipe", "team")
    await scanned("/portal/painel/agencia", "dashboard")
    await scanned(account, "account-supervisor")
    await context.close()

    context = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="pt-BR")
    page = await context.new_page()
    await _sign_in(page, base, world.a.users[Role.OWNER])
    await scanned("/portal/ofertas-especiais", "approvals")
    card = page.locator("form[action$='/aprovar']").first
    await card.locator("button").focus()
    await page.keyboard.press("Enter")
    await card.wait_for(state="detached")  # decided: the card has no buttons any more
    assert await _serious(page) == []
    await context.close()


async def test_the_policy_editor_simulates_as_typed_and_publishes_by_keyboard(
    browser, live_server, shots
):
    # Issue 25 item 2: the simulator redraws through htmx (under the CSP) as a band's
    # maximum of payments is typed; Publicar makes version 1.
    context = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="pt-BR")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    await _sign_in(page, base, live_server.world.a.users[Role.OWNER])
    await page.goto(f"{base}/portal/politica")
    assert await _serious(page) == []
    assert await page.locator("#simulation tr.changed").count() == 0
    for band in range(3):
        await page.fill(f"#f-buckets-{band}-max_installments", "3")
    await page.wait_for_selector("#simulation tr.changed", timeout=10_000)
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / "portal-policy-simulated.png"), full_page=True)
    await page.focus("button[value=publish]")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/portal/politica?publicada=1")
    assert "Versão 1 publicada" in await page.inner_text("main")
    assert await _serious(page) == []
    assert not [e for e in errors if "Content Security Policy" in e], errors
    await context.close()
