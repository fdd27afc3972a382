"""The patient webmail in a real Chromium (Debian's, driven by Playwright) against a real
uvicorn: unread counts per conversation, opening a conversation marks it read, mark as
unread, threads, attachment preview (image drawn, PDF framed, both under the CSP), a
threaded reply, the Sent view, English mode, closing the space only after a
confirmation page, and the login explaining a closed space (issue 21)."""

from __future__ import annotations

import re
from email import message_from_bytes

from playwright.async_api import Page, async_playwright

from .conftest import PDF, Web
from .test_browser import CHROMIUM_ARGS, base_url, login  # noqa: F401
from .test_patient_mail import PNG, inbox_of


async def _badge(page: Page) -> str:
    badges = await page.locator(".list .badge").all_inner_texts()
    return " | ".join(badges)


async def test_patient_webmail_in_chromium(web: Web, base_url: str) -> None:  # noqa: F811
    await web.send(subject="Compte rendu", body="Voici le compte rendu.",
                   headers={"Message-ID": "<cr1@hopital.test>"},
                   attachments=[("ecg.png", "image/png", PNG),
                                ("compte rendu.pdf", "application/pdf", PDF)])
    await web.send(subject="Autre sujet", body="Un rappel de rendez-vous.",
                   headers={"Message-ID": "<rdv@hopital.test>"})
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 800})
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text)
                    if "Content Security" in m.text else None)
            await login(page, base_url, web.world.jeanne, web.world.password)
            await page.wait_for_url(f"{base_url}/inbox")
            assert await _badge(page) == "2 non lu(s)"
            await page.click("text=Dr Alice MARTIN")
            assert await page.locator("section.thread").count() == 2
            assert "Voici le compte rendu." in await page.inner_text("main")
            await page.click("text=← Retour")
            assert await _badge(page) == ""  # opening the conversation read it
            # mark as unread from the message page
            await page.click("text=Dr Alice MARTIN")
            await page.click("section.thread >> a >> text=Compte rendu")
            await page.click("button:has-text('Marquer comme non lu')")
            await page.wait_for_url(re.compile(r".*/inbox"))
            assert await _badge(page) == "1 non lu(s)"
            # preview: the image is drawn, the PDF is framed from this origin
            await page.click("text=Dr Alice MARTIN")
            await page.click("section.thread >> a >> text=Compte rendu")
            await page.click("a:has-text('ecg.png')")
            await page.wait_for_url(re.compile(r".*/preview$"))
            image = page.locator("img.preview-image")
            assert await image.evaluate("img => img.complete && img.naturalWidth") == 1
            await page.go_back()
            async with page.expect_response(lambda r: r.url.endswith("/inline")) as framed:
                await page.click("a:has-text('compte rendu.pdf')")
            response = await framed.value
            assert response.status == 200
            assert response.headers["content-type"] == "application/pdf"
            assert response.headers["content-disposition"].startswith("inline;")
            frame = await page.locator("iframe.preview-pdf").element_handle()
            content = await frame.content_frame()
            assert content is not None
            await content.wait_for_load_state()
            assert content.url.endswith("/inline")  # not Chromium's "blocked" error page
            # a threaded reply from the conversation
            await page.click("text=← Retour")
            await page.click("text=← Retour")
            await page.fill("textarea[name=body]", "Merci, bien reçu.")
            await page.click("button:has-text('Envoyer')")
            await page.wait_for_url(re.compile(r".*/inbox\?sent=1"))
            replies = [m for m in map(message_from_bytes, await inbox_of(web, web.world.alice))
                       if "bien reçu" in str(m.get_payload())]
            assert replies and replies[0]["In-Reply-To"] in ("<cr1@hopital.test>",
                                                             "<rdv@hopital.test>")
            await page.click("nav >> text=Envoyés")
            assert "Dr Alice MARTIN" in await page.inner_text("table.messages")
            assert web.world.alice not in await page.content()
            # English mode
            async with page.expect_navigation():
                await page.click("a[href^='/lang/en']")
            assert await page.inner_text("h1") == "Sent"
            assert "Sent" in await page.inner_text("nav")
            async with page.expect_navigation():
                await page.click("a[href^='/lang/fr']")
            # closing asks first, then the login explains the closed space
            await page.click("nav >> text=Paramètres")
            await page.click("button:has-text('Clôturer')")
            assert await page.inner_text("h1") == "Clôturer votre espace ?"
            await page.click("text=Annuler")
            await page.wait_for_url(f"{base_url}/settings")
            await page.click("button:has-text('Clôturer')")
            await page.click("button:has-text('Oui, clôturer mon espace')")
            await page.wait_for_url(f"{base_url}/login")
            await login(page, base_url, web.world.jeanne, web.world.password)
            notice = await page.inner_text(".closed-space")
            assert "Votre espace de messagerie est clôturé" in notice
            assert "Identifiants incorrects" not in await page.inner_text("main")
            assert refused == []
        finally:
            await browser.close()


async def test_trash_notices_and_devices_in_chromium(web: Web, base_url: str) -> None:  # noqa: F811
    await web.send(subject="À supprimer", body="Ce message ira à la corbeille.")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 800})
            await login(page, base_url, web.world.jeanne, web.world.password)
            await page.wait_for_url(f"{base_url}/inbox")
            await page.click("text=Dr Alice MARTIN")
            await page.click("section.thread >> a >> text=À supprimer")
            await page.click("button:has-text('Supprimer')")
            await page.wait_for_url(re.compile(r".*/trash\?deleted=1"))
            assert "restaurable jusqu" in await page.inner_text(".list.trash")
            await page.click("button:has-text('Restaurer')")
            await page.wait_for_url(re.compile(r".*/trash\?restored=1"))
            assert await page.locator(".list.trash li").count() == 0
            await page.click("nav >> text=Messages")
            await page.click("text=Dr Alice MARTIN")
            assert "Ce message ira à la corbeille." in await page.inner_text("main")
            # notices: off, then back on with the daily digest
            await page.click("nav >> text=Paramètres")
            await page.get_by_label("Recevoir un avis").uncheck()
            await page.click("#notices-title ~ form button")
            await page.wait_for_url(re.compile(r".*/settings\?saved=1"))
            assert not await page.get_by_label("Recevoir un avis").is_checked()
            await page.get_by_label("Recevoir un avis").check()
            await page.get_by_label("Fréquence des avis").select_option("daily")
            await page.click("#notices-title ~ form button")
            await page.wait_for_url(re.compile(r".*/settings\?saved=1"))
            assert await page.get_by_label("Fréquence des avis").input_value() == "daily"
            # her devices: this one, and a second browser she signs out from here
            other = await browser.new_page()
            await login(other, base_url, web.world.jeanne, web.world.password)
            await other.wait_for_url(f"{base_url}/inbox")
            await page.reload()
            devices = page.locator(".list.devices li")
            assert await devices.count() == 2
            assert "cet appareil" in await page.inner_text(".list.devices")
            await page.click("button:has-text('Déconnecter cet appareil')")
            await page.wait_for_url(re.compile(r".*/settings\?saved=1"))
            assert await page.locator(".list.devices li").count() == 1
            await other.goto(f"{base_url}/inbox")
            assert other.url == f"{base_url}/login"  # signed out from the first browser
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # the phone layout does not scroll sideways
        finally:
            await browser.close()
