"""A real Chromium (Debian's, driven by Playwright) against a real uvicorn on 127.0.0.1:
a patient logs in, reads a professional's message, opens a document, replies; the
professional ends the conversation; the patient sees the state and no reply button.
Screenshots go to test-artifacts/ when a step fails."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from .conftest import PDF, Web

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


class WatchedBrowser:
    """Debian's Chromium whose pages report every Content-Security-Policy refusal in
    `blocked` (a page that needs something its CSP refuses fails its test)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.blocked: list[str] = []

    async def page(self, width: int, height: int = 900, **options: Any) -> Page:
        page = await self.browser.new_page(viewport={"width": width, "height": height},
                                           **options)
        page.on("console", lambda m: self.blocked.append(m.text)
                if "Content Security" in m.text else None)
        return page


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[WatchedBrowser]:
    """Debian's Chromium (no browser download), closed on the way out."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            yield WatchedBrowser(browser)
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def served_app(app: Any) -> AsyncIterator[str]:
    """`app` behind uvicorn on a real socket of 127.0.0.1; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()


@pytest.fixture
async def base_url(web: Web) -> AsyncIterator[str]:
    async with served_app(web.app) as url:
        yield url


async def login(page: Page, base_url: str, login: str, password: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


async def test_patient_and_professional_in_a_real_browser(web: Web, base_url: str,
                                                          request: pytest.FixtureRequest
                                                          ) -> None:
    await web.send(subject="XDM/1.0/DDM+Ordonnance DUPONT Jeanne",
                   body="Bonjour Madame Dupont,\n\nVoici votre ordonnance.\n\nDr Martin",
                   attachments=[("ordonnance.pdf", "application/pdf", PDF)])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        patient = await browser.new_page(viewport={"width": 1100, "height": 760})
        doctor = await browser.new_page(viewport={"width": 1100, "height": 760})
        step = "start"
        try:
            step = "patient login"
            await login(patient, base_url, web.world.jeanne, web.world.password)
            await patient.wait_for_url(f"{base_url}/inbox")
            assert await patient.locator(".list li").count() == 1
            assert "Dr Alice MARTIN" in await patient.inner_text(".list")
            assert web.world.alice not in await patient.content()
            if os.environ.get("MSS_SCREENSHOTS"):
                await patient.screenshot(path=str(ARTIFACTS / "patient-inbox.png"))
            step = "read"
            await patient.click("text=Dr Alice MARTIN")
            await patient.click("text=Ordonnance DUPONT Jeanne")
            assert "Voici votre ordonnance." in await patient.inner_text("article")
            step = "document"
            await patient.click("nav >> text=Documents")
            link = patient.locator("a[href^='/documents/']").first
            document = await patient.request.get(base_url + await link.get_attribute("href"))
            assert document.status == 200 and await document.body() == PDF
            step = "reply"
            await patient.click("nav >> text=Messages")
            await patient.click("text=Dr Alice MARTIN")
            await patient.fill("textarea[name=body]", "Merci docteur, bien reçu.")
            await patient.click("button:has-text('Envoyer')")
            await patient.wait_for_url(f"{base_url}/inbox?sent=1")
            await patient.click("text=Dr Alice MARTIN")
            if os.environ.get("MSS_SCREENSHOTS"):
                await patient.screenshot(path=str(ARTIFACTS / "patient-conversation.png"))
            step = "professional ends"
            await login(doctor, base_url, web.world.alice, web.world.password)
            await doctor.wait_for_url(f"{base_url}/pro")
            await doctor.click("text=Jeanne DUPONT")
            assert "Merci docteur" in await doctor.content() or \
                "Re: Ordonnance" in await doctor.content()
            await doctor.click("a:has-text('Mettre fin aux échanges')")
            assert "Le professionnel a mis fin aux échanges" in await doctor.inner_text(
                ".preview")  # the patient's view, before confirming
            await doctor.click("button:has-text('Confirmer la fin des échanges')")
            await doctor.wait_for_selector("text=Échanges terminés")
            step = "patient sees the end"
            await patient.reload()
            assert await patient.locator("text=Le professionnel a mis fin aux échanges"
                                         ).count() == 1
            assert await patient.locator("textarea[name=body]").count() == 0
            assert await patient.locator("form[action$='/reply']").count() == 0
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            name = request.node.name
            await patient.screenshot(path=str(ARTIFACTS / f"{name}-patient-{step}.png"))
            await doctor.screenshot(path=str(ARTIFACTS / f"{name}-doctor-{step}.png"))
            raise
        finally:
            await browser.close()
