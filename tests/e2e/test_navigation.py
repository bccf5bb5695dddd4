"""The grouped menu in headless Chromium (issue 24): folded on a phone, drop-downs on desktop."""

from __future__ import annotations

import pytest

from tenants.roles import Role
from tests.e2e.test_shell_accessibility import VIEWPORTS, _serious, _sign_in

pytestmark = [pytest.mark.e2e]


async def test_phone_menu_folds_and_opens(browser, live_server, shots):
    context = await browser.new_context(viewport=VIEWPORTS["phone"], locale="pt-BR")
    page = await context.new_page()
    await _sign_in(page, live_server.url, live_server.world.a.users[Role.OWNER])
    menu = page.locator("details.menu")
    assert not await menu.evaluate("m => m.open")  # folded by app.js on a phone
    assert not await page.locator("nav.main").is_visible()
    await page.screenshot(path=str(shots / "nav-phone-closed.png"))
    await page.click("details.menu > summary")
    await page.click("details.group[data-group=negotiation] > summary")
    assert await page.locator('a[href="/portal/politica"]').is_visible()
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / "nav-phone-open.png"), full_page=True)
    await page.click('a[href="/portal/politica"]')
    await page.wait_for_url("**/portal/politica")
    await context.close()


async def test_desktop_menu_is_one_row_of_drop_downs(browser, live_server, shots):
    context = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="pt-BR")
    page = await context.new_page()
    await _sign_in(page, live_server.url, live_server.world.a.users[Role.OWNER])
    assert await page.locator("details.menu > summary").is_hidden()
    summaries = page.locator("details.group > summary")
    tops = {
        round((await summaries.nth(i).bounding_box())["y"]) for i in range(await summaries.count())
    }
    assert len(tops) == 1  # one row
    await page.click("details.group[data-group=portfolio] > summary")
    assert await page.locator('a[href="/portal/debtors"]').first.is_visible()
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / "nav-desktop-open.png"))
    # One drop-down at a time; Escape closes it and gives the focus back.
    await page.click("details.group[data-group=integrations] > summary")
    assert not await page.locator("details.group[data-group=portfolio]").evaluate("d => d.open")
    await page.keyboard.press("Escape")
    assert not await page.locator("details.group[data-group=integrations]").evaluate("d => d.open")
    focused = await page.evaluate("document.activeElement.parentElement.dataset.group")
    assert focused == "integrations"
    await context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_home_tiles_pass_axe(browser, live_server, shots, viewport):
    context = await browser.new_context(viewport=VIEWPORTS[viewport], locale="pt-BR")
    page = await context.new_page()
    await _sign_in(page, live_server.url, live_server.world.a.users[Role.OWNER])
    assert await page.locator("li.kpi").count() == 4
    assert await page.locator("svg.sparkline").count() == 4
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"home-{viewport}.png"), full_page=True)
    await context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_debtor_offers_are_cards_on_a_phone_and_a_table_on_desktop(
    browser, live_server, shots, viewport
):
    context = await browser.new_context(viewport=VIEWPORTS[viewport], locale="pt-BR")
    page = await context.new_page()
    base = live_server.url
    await page.goto(f"{base}/")
    await page.fill("#f-cpf", live_server.world.shared_cpf)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/verificar")
    await page.fill("#f-birth_date", "01/01/1980")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/minhas-dividas")
    row = page.locator("table.offers tbody tr").first
    display = await row.evaluate("r => getComputedStyle(r).display")
    header_shown = await page.locator("table.offers thead").first.bounding_box()
    if viewport == "phone":
        assert display == "grid" and header_shown is not None and header_shown["width"] <= 1
        # The card fits the screen: no sideways scrolling to reach "Escolher".
        link = await row.locator("a.choose-link").bounding_box()
        assert link is not None and link["x"] + link["width"] <= VIEWPORTS["phone"]["width"]
    else:
        assert display == "table-row"
    assert await _serious(page) == []
    await page.screenshot(path=str(shots / f"offers-{viewport}.png"), full_page=True)
    await context.close()
