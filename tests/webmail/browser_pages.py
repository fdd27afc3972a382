"""Every page of the patient's and the professional's webmail, reached in a real Chromium
(Debian's, driven by Playwright) against a real uvicorn on 127.0.0.1, for the
accessibility, keyboard and page-structure tests.

`filled_world` gives the patient a conversation with a PDF, a CDA lettre de liaison, a
reply of hers, and leaves the professional pages with something to show; `PAGES` names
each page once and says how to reach it. Sessions are opened directly in the store (the
password path is tested with the keyboard in test_keyboard) and handed to the browser
as its session cookie.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from mss.directory.web_sessions import open_session
from mss.identity import Principal
from mss.webmail.rendering import LANG_COOKIE
from mss.webmail.web_auth import SESSION_COOKIE
from tests.vault.cda_samples import lettre_de_liaison_cda

from .conftest import PDF, Web, csrf_of, logged_in, patient
from .test_browser import CHROMIUM_ARGS

WIDTHS = (1280, 390)
LANGS = ("fr", "en")


@dataclass(frozen=True)
class Links:
    """Ids of the filled world's pages (found through the pages themselves)."""

    conversation: str
    message: str
    cda_document: str
    pdf_document: str
    pro_message: str


@dataclass(frozen=True)
class WebPage:
    name: str
    who: str  # "jeanne", "alice", "bruno" or "" (signed out)
    path: Callable[[Links, Web], str]


PAGES: tuple[WebPage, ...] = (
    WebPage("login", "", lambda links, web: "/login"),
    WebPage("inbox", "jeanne", lambda links, web: "/inbox"),
    WebPage("conversation", "jeanne", lambda links, web: links.conversation),
    WebPage("message", "jeanne", lambda links, web: links.message),
    WebPage("write", "jeanne", lambda links, web: "/write"),
    WebPage("not-sent", "jeanne", lambda links, web: "/not-sent"),
    WebPage("documents", "jeanne", lambda links, web: "/documents"),
    WebPage("cda-document", "jeanne", lambda links, web: links.cda_document),
    WebPage("sent", "jeanne", lambda links, web: "/sent"),
    WebPage("trash", "jeanne", lambda links, web: "/trash"),
    WebPage("search", "jeanne", lambda links, web: "/search?q=ordonnance&sender=martin"),
    WebPage("agenda", "jeanne", lambda links, web: "/agenda"),
    WebPage("profile", "jeanne", lambda links, web: "/profile"),
    WebPage("traces", "jeanne", lambda links, web: "/traces"),
    WebPage("settings", "jeanne", lambda links, web: "/settings"),
    WebPage("pro-choose-mailbox", "alice", lambda links, web: "/login/mailbox"),
    WebPage("pro-home", "alice", lambda links, web: "/pro"),
    WebPage("pro-patient", "alice",
            lambda links, web: f"/pro/patients/{web.world.jeanne_ins}"),
    WebPage("pro-documents", "alice",
            lambda links, web: f"/pro/patients/{web.world.jeanne_ins}/documents"),
    WebPage("pro-message", "alice", lambda links, web: links.pro_message),
    WebPage("pro-agenda", "alice",
            lambda links, web: f"/pro/patients/{web.world.jeanne_ins}/agenda"),
    WebPage("pro-profile", "alice",
            lambda links, web: f"/pro/patients/{web.world.jeanne_ins}/profile"),
    WebPage("pro-emergency", "bruno",
            lambda links, web: f"/pro/patients/{web.world.jeanne_ins}/emergency"),
    WebPage("pro-write", "alice", lambda links, web: "/pro/write"),
    WebPage("pro-write-patient", "alice",
            lambda links, web: f"/pro/write?ins={web.world.jeanne_ins}"),
    WebPage("pro-end", "alice", lambda links, web: f"/pro/patients/{web.world.jeanne_ins}/end"),
    WebPage("pro-break-glass", "bruno",
            lambda links, web: f"/pro/patients/{web.world.jeanne_ins}/documents"),
)


def _first(pattern: str, html: str) -> str:
    found = re.search(pattern, html)
    assert found, f"no link matching {pattern}"
    return found.group(1)


async def filled_world(web: Web) -> Links:
    """A conversation with a prescription (PDF), a lettre de liaison (CDA) and the
    patient's reply; the professional wrote by INS, so the pages all have content."""
    await web.send(subject="Ordonnance", body="Bonjour Madame Dupont,\n\nVoici votre "
                   "ordonnance.\n\nDr Martin",
                   attachments=[("ordonnance-bisoprolol.pdf", "application/pdf", PDF)])
    await web.send(subject="Lettre de liaison", attachments=[
        ("lettre.xml", "text/xml", lettre_de_liaison_cda(web.world.jeanne_ins))])
    async with await logged_in(web, patient(web)) as jeanne:
        inbox = (await jeanne.get("/inbox")).text
        conversation = _first(r'href="(/conversations/[^"]+)"', inbox)
        page = (await jeanne.get(conversation)).text
        message = _first(r'href="(/messages/inbox/\d+)"', page)
        reply = await jeanne.post(f"{conversation}/reply", data={
            "csrf": csrf_of(page), "subject": "Re: Ordonnance",
            "body": "Merci docteur, bien reçu."})
        assert reply.status_code == 303, reply.text
        documents = (await jeanne.get("/documents")).text
        cda = _first(r'href="(/documents/\d+)">Lettre de liaison', documents)
        pdf = _first(r'href="(/documents/\d+)">ordonnance', documents)
    async with await logged_in(web, web.alice) as alice:
        pro = (await alice.get(f"/pro/patients/{web.world.jeanne_ins}")).text
        pro_message = _first(r'href="(/pro/messages/inbox/\d+)"', pro)
    return Links(conversation, message, cda, pdf, pro_message)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def principal_of(web: Web, who: str) -> Principal | None:
    return {"jeanne": patient(web), "alice": web.alice, "bruno": web.bruno}.get(who)


async def browser_context(browser: Browser, web: Web, base_url: str, who: str, lang: str,
                          width: int, *, bypass_csp: bool = False) -> BrowserContext:
    """A browser context for `who` in `lang` at `width` px; `bypass_csp` only where a
    test injects its own script (axe): the pages keep their CSP everywhere else."""
    context = await browser.new_context(viewport={"width": width, "height": 900},
                                        bypass_csp=bypass_csp, locale=lang)
    context.set_default_timeout(120_000)  # a cap for a loaded machine, not a measure
    cookies = [{"name": LANG_COOKIE, "value": lang, "url": base_url}]
    principal = principal_of(web, who)
    if principal is not None:
        # one session per user and world, so every width shows the same devices (Settings)
        tokens: dict[str, str] = web.__dict__.setdefault("browser_sessions", {})
        if who not in tokens:
            tokens[who] = (await open_session(web.store, principal)).token
        cookies.append({"name": SESSION_COOKIE, "value": tokens[who], "url": base_url})
    await context.add_cookies(cookies)  # type: ignore[arg-type]
    return context
