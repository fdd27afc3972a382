"""The agenda in a real Chromium (Debian's, driven by Playwright) under the page's CSP:
the patient opens her agenda after a convocation, sees it in the list and the month,
adds her own event; screenshots in test-artifacts/agenda-list.png, agenda-month.png."""

from __future__ import annotations

from tests.webmail.test_browser import ARTIFACTS, chromium, login

from .calendars import convocation
from .conftest import Web


async def test_the_agenda_in_chromium(web: Web, served: str) -> None:
    await web.send(subject="Votre convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation(start="20260115T093000"))])
    async with chromium() as browser:
        page = await browser.page(1100)
        await login(page, served, web.world.jeanne, web.world.password)
        await page.wait_for_url(f"{served}/inbox")
        await page.click("nav >> text=Agenda")
        await page.wait_for_url(f"{served}/agenda")
        assert "Échographie cardiaque" in await page.inner_text("ul.upcoming")
        await page.fill("input[name=summary]", "Séance de kiné")
        await page.fill("input[name=location]", "Cabinet du quartier")
        await page.fill("input[name=date]", "2026-01-20")
        await page.fill("input[name=start]", "18:00")
        await page.fill("input[name=end]", "18:45")
        await page.click("text=Ajouter >> nth=-1")
        await page.wait_for_url(f"{served}/agenda?added=1")
        upcoming = await page.inner_text("ul.upcoming")
        assert "Séance de kiné" in upcoming and "Échographie" in upcoming
        assert "Votre convocation" in await page.inner_text("ul.timeline")
        # every field of the forms has a label
        unlabeled = await page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')].filter(
            e => !e.closest('label') && !e.getAttribute('aria-label')).length""")
        assert unlabeled == 0
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "agenda-list.png"), full_page=True)
        await page.click("text=Mois")
        await page.wait_for_url(f"{served}/agenda?view=month")
        assert await page.inner_text("#month-title") == "janvier 2026"
        cell = page.locator("td:has(span.day:text-is('15'))").first
        assert "Échographie cardiaque" in await cell.inner_text()
        border = await page.locator("li.item.appointment").first.evaluate(
            "e => getComputedStyle(e).borderLeftStyle")
        assert border == "solid"  # the agenda's stylesheet applies under the CSP
        shot = await page.screenshot(path=str(ARTIFACTS / "agenda-month.png"),
                                     full_page=True)
        assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
        assert browser.blocked == []
