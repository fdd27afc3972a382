"""Keyboard only, in a real Chromium: a patient logs in, reads a message, replies and
files a document of her own without a pointer — Tab to move, Enter or Space to act,
typing into the focused field (issue 21; WCAG 2.1.1). Each step checks where the focus
is before acting, so a control that Tab never reaches fails the test."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page

from .browser_pages import browser_context, chromium, filled_world  # noqa: F401
from .conftest import PDF, Web
from .test_browser import base_url  # noqa: F401

MAX_TABS = 60


async def tab_to(page: Page, selector: str, text: str = "") -> None:
    """Press Tab until the focused element matches the CSS `selector` and shows `text`
    (at most MAX_TABS presses)."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate(
                "([s, t]) => { const e = document.activeElement;"
                " return !!e && e.matches(s) && e.textContent.includes(t); }",
                [selector, text]):
            return
    raise AssertionError(f"Tab never reaches {selector} {text!r} on {page.url}")


async def test_login_read_reply_and_documents_with_the_keyboard(
        web: Web, base_url: str, chromium: Browser) -> None:  # noqa: F811
    await filled_world(web)
    context = await browser_context(chromium, web, base_url, "", "fr", 1280)
    page = await context.new_page()
    try:
        # log in
        await page.goto(f"{base_url}/login")
        await tab_to(page, "input[name=login]")
        await page.keyboard.type(web.world.jeanne)
        await page.keyboard.press("Tab")
        await page.keyboard.type(web.world.password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base_url}/inbox")
        # read: the conversation, then the prescription
        await tab_to(page, "a[href^='/conversations/']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/conversations/[0-9a-f]+$"))
        conversation = page.url
        await tab_to(page, "a[href^='/messages/inbox/']", "Ordonnance")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/messages/inbox/\d+$"))
        assert "Voici votre ordonnance." in await page.inner_text("article")
        # back to the conversation and reply
        await tab_to(page, "main a", "Retour")
        await page.keyboard.press("Enter")
        await page.wait_for_url(conversation)
        await tab_to(page, "textarea[name=body]")
        await page.keyboard.type("Merci, je passerai à la pharmacie demain.")
        await tab_to(page, "form[action$='/reply'] button[type=submit]")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base_url}/inbox?sent=1")
        # documents: open the lettre de liaison, then file one of her own
        await tab_to(page, "nav a[href='/documents']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base_url}/documents")
        await tab_to(page, "a[href^='/documents/']", "Lettre de liaison")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/documents/\d+$"))
        assert await page.inner_text("h1") == "Lettre de liaison à la sortie"
        await page.go_back()
        await page.wait_for_url(f"{base_url}/documents")
        await tab_to(page, "input[type=file][name=file]")
        async with page.expect_file_chooser() as chooser:
            await page.keyboard.press("Space")
        await (await chooser.value).set_files(
            {"name": "vaccins.pdf", "mimeType": "application/pdf", "buffer": PDF})
        await tab_to(page, "form[action='/documents/upload'] button[type=submit]")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/documents\?space=.*"))
        assert await page.get_by_role("link", name="vaccins.pdf").count() == 1
    finally:
        await context.close()
