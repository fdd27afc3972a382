"""Webmail sign-in with the dev OpenID provider: authorisation code with PKCE over real
HTTP (httpx, then Debian's Chromium driven by Playwright), state bound to the browser
and single use, the session bound to the professional or the ORG mailbox they named."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from oidc.harness import CLAIRE, OidcApp, oidc_app
from playwright.async_api import async_playwright

from mss.store.audit import events_for_subject

from .test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.asyncio(loop_scope="module")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oidc(tmp_path_factory: pytest.TempPathFactory, template_db: str
               ) -> AsyncIterator[OidcApp]:
    async with oidc_app(tmp_path_factory.mktemp("web-oauth"), template_db) as running:
        yield running


async def start(browser: httpx.AsyncClient, oidc: OidcApp, mailbox: str = "") -> str:
    """Login page, then the button: returns the provider's authorisation URL."""
    page = await browser.get(f"{oidc.base_url}/login")
    assert "Se connecter avec Pro Santé Connect" in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    begin = await browser.post(f"{oidc.base_url}/login/oidc",
                               data={"csrf": csrf, "mailbox": mailbox})
    assert begin.status_code == 303
    return begin.headers["location"]


async def authorise(browser: httpx.AsyncClient, url: str, hint: str = "") -> str:
    """The provider consents at once and redirects back: returns the callback URL."""
    reply = await browser.get(url + (f"&login_hint={hint}" if hint else ""))
    assert reply.status_code == 302
    return reply.headers["location"]


async def test_a_professional_signs_in_with_pkce(oidc: OidcApp) -> None:
    async with httpx.AsyncClient(timeout=30) as browser:
        url = await start(browser, oidc)
        query = httpx.URL(url).params
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        assert query["nonce"] and query["state"] and "openid" in query["scope"]
        callback = await browser.get(await authorise(browser, url))
        # Alice is a member of the cardiology ORG mailbox: she is asked which to open
        assert callback.status_code == 200 and 'url=/login/mailbox"' in callback.text
        home = await browser.get(f"{oidc.base_url}/pro")
        assert home.status_code == 200 and "Alice" in home.text


async def test_an_org_member_chooses_the_org_mailbox_after_signing_in(oidc: OidcApp
                                                                     ) -> None:
    async with httpx.AsyncClient(timeout=30) as browser:
        url = await start(browser, oidc)
        await browser.get(await authorise(browser, url))
        choice = await browser.get(f"{oidc.base_url}/login/mailbox")
        assert choice.status_code == 200
        assert f'value="{oidc.world.alice}"' in choice.text
        assert f'value="{oidc.world.cardiology}"' in choice.text
        csrf = CSRF.search(choice.text).group(1)  # type: ignore[union-attr]
        stranger = await browser.post(f"{oidc.base_url}/login/mailbox",
                                      data={"csrf": csrf, "mailbox": "other@example.org"})
        assert stranger.status_code == 403
        old = browser.cookies["mss_session"]
        chosen = await browser.post(f"{oidc.base_url}/login/mailbox",
                                    data={"csrf": csrf, "mailbox": oidc.world.cardiology})
        assert chosen.status_code == 303 and chosen.headers["location"] == "/pro"
        assert browser.cookies["mss_session"] != old
        home = await browser.get(f"{oidc.base_url}/pro")
        assert oidc.world.cardiology in home.text
        assert 'href="/login/mailbox"' in home.text  # and back to her own when she wants
        async with httpx.AsyncClient(timeout=30) as replay:  # the replaced session is closed
            replay.cookies.set("mss_session", old)
            assert (await replay.get(f"{oidc.base_url}/pro")).status_code == 303
    async with httpx.AsyncClient(timeout=30) as browser:  # Claire has no ORG: no question
        url = await start(browser, oidc)
        callback = await browser.get(await authorise(browser, url, CLAIRE.rpps))
        assert callback.status_code == 200 and 'url=/pro"' in callback.text


async def test_the_session_may_act_on_an_org_mailbox(oidc: OidcApp) -> None:
    async with httpx.AsyncClient(timeout=30) as browser:
        url = await start(browser, oidc, mailbox=oidc.world.cardiology)
        await browser.get(await authorise(browser, url))
        home = await browser.get(f"{oidc.base_url}/pro")
        assert oidc.world.cardiology in home.text
    async with httpx.AsyncClient(timeout=30) as browser:  # Claire is not a member
        url = await start(browser, oidc, mailbox=oidc.world.cardiology)
        refused = await browser.get(await authorise(browser, url, CLAIRE.rpps))
        assert refused.status_code == 401 and "mss_session" not in browser.cookies
    oidc.forget_failures()


async def test_a_replayed_foreign_or_unknown_state_is_refused(oidc: OidcApp) -> None:
    async with httpx.AsyncClient(timeout=30) as browser:
        url = await start(browser, oidc)
        callback_url = await authorise(browser, url)
        binding = browser.cookies["mss_oidc"]
        assert (await browser.get(callback_url)).status_code == 200
        browser.cookies.set("mss_oidc", binding, path="/login/oidc/callback")
        replay = await browser.get(callback_url)
        assert replay.status_code == 401  # the state was consumed by its first use
        forged = callback_url.replace("state=", "state=x")
        assert (await browser.get(forged)).status_code == 401
    async with httpx.AsyncClient(timeout=30) as victim, \
            httpx.AsyncClient(timeout=30) as attacker:
        callback_url = await authorise(attacker, await start(attacker, oidc))
        await start(victim, oidc)  # the victim has its own flow cookie
        planted = await victim.get(callback_url)  # login CSRF: state of another browser
        assert planted.status_code == 401 and "mss_session" not in victim.cookies
    async with oidc.store.reading() as session:
        events = await events_for_subject(session, "", limit=200)
    reasons = {e.detail.partition("reason=")[2] for e in events if e.action == "auth.failed"}
    assert {"unknown or replayed state", "state of another browser"} <= reasons
    oidc.forget_failures()


async def test_a_professional_signs_in_in_a_real_browser(oidc: OidcApp) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{oidc.base_url}/login")
            await page.click("#oidc-sign-in")
            await page.wait_for_url(f"{oidc.base_url}/login/mailbox")
            await page.click(f"button[value='{oidc.world.cardiology}']")
            await page.wait_for_url(f"{oidc.base_url}/pro")
            assert "Alice" in await page.content()
            assert oidc.world.cardiology in await page.inner_text("header")
        finally:
            await browser.close()
