"""The `[auth]` policy on every listener: PER/ORG by token only, APP by certificate only,
patients by password (the embedded default allows passwords everywhere)."""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from mss.config import ConfigError, load_settings
from mss.directory.api_tokens import create_api_token

from .harness import HOST, OidcApp, oidc_app

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oidc(tmp_path_factory: pytest.TempPathFactory, template_db: str
               ) -> AsyncIterator[OidcApp]:
    async with oidc_app(tmp_path_factory.mktemp("policy"), template_db,
                        auth={"per": "oidc", "org": "oidc", "app": "certificate"}) as running:
        yield running


def imap_sign_in(oidc: OidcApp, user: str, *, password: str = "", token: str = "") -> str:
    client = imaplib.IMAP4_SSL(HOST, oidc.port("imaps"), ssl_context=oidc.client_context(),
                               timeout=30)
    try:
        if token:
            message = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
            client.authenticate("XOAUTH2", lambda _: message)
        else:
            client.login(user, password)
        return "OK"
    except imaplib.IMAP4.error:
        return "NO"
    finally:
        client.shutdown()


def smtp_sign_in(oidc: OidcApp, user: str, *, password: str = "", token: str = "") -> int:
    with smtplib.SMTP_SSL(HOST, oidc.port("submissions"), context=oidc.client_context(),
                          timeout=30) as client:
        client.ehlo()
        try:
            if token:
                first = f"user={user}\x01auth=Bearer {token}\x01\x01"
                return client.auth("XOAUTH2", lambda challenge=None: first if challenge is None
                                   else "")[0]
            return client.login(user, password)[0]
        except smtplib.SMTPAuthenticationError as error:
            return error.smtp_code


async def test_professionals_sign_in_by_token_only(oidc: OidcApp) -> None:
    world = oidc.world
    for user in (world.alice, world.cardiology):
        assert await asyncio.to_thread(imap_sign_in, oidc, user, token=oidc.token()) == "OK"
        assert await asyncio.to_thread(smtp_sign_in, oidc, user, token=oidc.token()) == 235
    assert await asyncio.to_thread(imap_sign_in, oidc, world.alice,
                                   password=world.password) == "NO"
    assert await asyncio.to_thread(smtp_sign_in, oidc, world.alice,
                                   password=world.password) == 535
    async with httpx.AsyncClient(base_url=oidc.base_url, timeout=30) as browser:
        page = await browser.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        refused = await browser.post("/login", data={
            "csrf": csrf, "login": world.alice, "password": world.password})
        assert refused.status_code == 401
    oidc.forget_failures()


async def test_patients_keep_passwords_and_applications_need_certificates(oidc: OidcApp
                                                                          ) -> None:
    world = oidc.world
    async with httpx.AsyncClient(base_url=oidc.base_url, timeout=30) as browser:
        page = await browser.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        patient = await browser.post("/login", data={
            "csrf": csrf, "login": world.jeanne, "password": world.password})
        assert patient.status_code == 303 and patient.headers["location"] == "/inbox"
        token = await create_api_token(oidc.store, world.noreply)
        api = await browser.post("/api/v1/messages", json={}, headers={
            "authorization": f"Bearer {token}"})
        assert api.status_code == 401
    assert await asyncio.to_thread(smtp_sign_in, oidc, world.noreply,
                                   password=world.password) == 535
    oidc.forget_failures()


async def test_settings_refuse_methods_a_kind_cannot_use() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, overrides={"auth": {"app": "oidc", "pat": "certificate",
                                                      "per": "oidc"}})
    problems = " ".join(caught.value.problems)
    assert "auth.app: 'oidc'" in problems and "auth.pat: 'certificate'" in problems
    assert "auth.per: oidc only, but no [oidc.providers" in problems
