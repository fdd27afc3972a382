"""The medical profile and the emergency view in a real Chromium under the pages' CSP:
the patient fills her profile (the measures plot is drawn, every field labelled), and a
professional breaks the glass on a phone-sized screen and reads the emergency subset
first; screenshots in test-artifacts/profile.png and profile-emergency.png."""

from __future__ import annotations

from tests.webmail.conftest import Web
from tests.webmail.test_browser import ARTIFACTS, chromium, login

UNLABELED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => !e.closest('label') && !e.getAttribute('aria-label')).length"""


async def test_profile_and_emergency_view_in_chromium(web: Web, served: str) -> None:
    async with chromium() as browser:
        page = await browser.page(1100)
        await login(page, served, web.world.paul, web.world.password)
        await page.wait_for_url(f"{served}/inbox")
        await page.click("nav >> text=Profil médical")
        await page.wait_for_url(f"{served}/profile")
        allergies = page.locator("section#allergies form.profile-add.new")
        await allergies.locator("input[name=label]").fill("Produits de contraste iodés")
        await allergies.locator("input[name=detail]").fill("choc anaphylactique en 2019")
        await allergies.locator("button").click()
        await page.wait_for_url(f"{served}/profile?added=1#allergies")
        blood = page.locator("section#blood_group form.profile-add.new")
        await blood.locator("select[name=label]").select_option("A+")
        await blood.locator("button").click()
        await page.wait_for_url(f"{served}/profile?added=1#blood_group")
        warn = page.locator("section#persons_to_warn form.profile-add.new")
        await warn.locator("input[name=label]").fill("Claire DURAND (épouse)")
        await warn.locator("input[name=detail]").fill("06 98 76 54 32")
        await warn.locator("button").click()
        await page.wait_for_url(f"{served}/profile?added=1#persons_to_warn")
        for value, day in (("82", "2025-09-01"), ("80,5", "2025-11-15"), ("79", "2026-01-01")):
            form = page.locator("section#measures form.profile-add.new")
            await form.locator("select[name=label]").select_option("weight")
            await form.locator("input[name=value]").fill(value)
            await form.locator("input[name=date]").fill(day)
            await form.locator("button").click()
            await page.wait_for_url(f"{served}/profile?added=1#measures")
        plot = page.locator("svg.plot")
        assert await plot.count() == 1
        assert await plot.locator("circle").count() == 3
        assert "3 mesure(s)" in await page.inner_text("figure.plot figcaption")
        box = await plot.bounding_box()
        assert box is not None and box["width"] > 200
        assert await page.evaluate(UNLABELED) == 0
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

        phone = await browser.page(390, 844, device_scale_factor=2, is_mobile=True)
        await login(phone, served, web.world.alice, web.world.password)
        await phone.wait_for_url(f"{served}/pro")
        await phone.goto(f"{served}/pro/patients/{web.world.paul_ins}/emergency")
        await phone.fill("input[name=reason]", "Patient inconscient, appel SAMU")
        await phone.click("button[type=submit].danger")
        await phone.wait_for_url(f"{served}/pro/patients/{web.world.paul_ins}/emergency")
        headings = await phone.locator(".emergency-view h2").all_inner_texts()
        assert headings[:2] == ["Allergies et intolérances", "Groupe sanguin"]
        view = await phone.inner_text("main")
        assert "Produits de contraste iodés" in view and "A+" in view
        assert "Claire DURAND" in view and "Poids" not in view
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # one column, no sideways scrolling on a phone
        await phone.screenshot(path=str(ARTIFACTS / "profile-emergency.png"),
                               full_page=True)
        assert browser.blocked == []
