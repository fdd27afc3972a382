"""IMAP AUTHENTICATE XOAUTH2 and OAUTHBEARER (RFC 7628) with tokens of a real dev
OpenID provider, through imaplib and raw bytes against a whole App."""

from __future__ import annotations

import asyncio
import base64
import imaplib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from joserfc.jwk import RSAKey
from oidc.harness import BRUNO, CLAIRE, HOST, STRANGER, OidcApp, oidc_app

from mss.oidc.dev_provider import RS256_KID
from mss.store.audit import events_for_subject

from .conftest import RawClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oidc(tmp_path_factory: pytest.TempPathFactory, template_db: str
               ) -> AsyncIterator[OidcApp]:
    async with oidc_app(tmp_path_factory.mktemp("imap-oauth"), template_db) as running:
        yield running


def xoauth2(user: str, token: str) -> bytes:
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer(authzid: str, token: str) -> bytes:
    return f"n,a={authzid},\x01host={HOST}\x01port=993\x01auth=Bearer {token}\x01\x01".encode()


def imaplib_sign_in(oidc: OidcApp, mechanism: str, message: bytes) -> tuple[str, list[Any]]:
    client = imaplib.IMAP4_SSL(HOST, oidc.port("imaps"), ssl_context=oidc.client_context(),
                               timeout=30)
    challenges: list[bytes] = []

    def answer(challenge: bytes) -> bytes:
        challenges.append(challenge)
        return message if len(challenges) == 1 else b""

    try:
        client.authenticate(mechanism, answer)
        typ, data = client.select("INBOX")
        client.logout()
        return typ, data
    except imaplib.IMAP4.error as error:
        return "NO", [str(error), *challenges]


async def test_xoauth2_and_oauthbearer_log_a_professional_in(oidc: OidcApp) -> None:
    world = oidc.world
    typ, _ = await asyncio.to_thread(imaplib_sign_in, oidc, "XOAUTH2",
                                     xoauth2(world.alice, oidc.token()))
    assert typ == "OK"
    typ, _ = await asyncio.to_thread(imaplib_sign_in, oidc, "OAUTHBEARER",
                                     oauthbearer(world.bruno, oidc.token(BRUNO)))
    assert typ == "OK"


async def test_the_authorisation_identity_names_an_org_mailbox(oidc: OidcApp) -> None:
    client = await RawClient.connect(oidc.port("imaps"), oidc.client_context())
    ir = base64.b64encode(xoauth2(oidc.world.cardiology, oidc.token(BRUNO))).decode()
    reply = await client.command("a", f"AUTHENTICATE XOAUTH2 {ir}")
    assert reply[-1].startswith(b"a OK"), reply
    listing = await client.command("b", 'LIST "" "*"')
    assert any(b"INBOX" in line for line in listing)
    await client.close()


async def test_refused_tokens_get_the_json_status_then_no(oidc: OidcApp) -> None:
    world = oidc.world
    forged = RSAKey.generate_key(2048, parameters={"kid": RS256_KID})
    cases = {
        "expired": oidc.token(issued_at=oidc.clock.now() - timedelta(hours=1),
                              lifetime=timedelta(minutes=5)),
        "audience": oidc.token(audience="another-service"),
        "signature": oidc.token(key=forged),
        "no rights on the ORG": oidc.token(CLAIRE),
        "not in the directory": oidc.token(STRANGER),
    }
    for name, token in cases.items():
        user = world.cardiology if name == "no rights on the ORG" else world.alice
        client = await RawClient.connect(oidc.port("imaps"), oidc.client_context())
        ir = base64.b64encode(oauthbearer(user, token)).decode()
        await client.send(f"t AUTHENTICATE OAUTHBEARER {ir}\r\n".encode())
        challenge = await client.response()
        assert challenge.startswith(b"+ "), (name, challenge)
        status = json.loads(base64.b64decode(challenge[2:].strip()))
        assert status["status"] == "invalid_token", name
        assert status["openid-configuration"].endswith("/.well-known/openid-configuration")
        await client.send(base64.b64encode(b"\x01") + b"\r\n")  # RFC 7628 §3.2.3
        final = await client.until("t")
        assert final[-1].startswith(b"t NO [AUTHENTICATIONFAILED]"), (name, final)
        await client.close()
    oidc.forget_failures()


async def test_a_professional_without_rights_on_the_org_is_refused(oidc: OidcApp) -> None:
    """Claire signs in to her own mailbox, not to cardiology (no membership), nor to
    another professional's PER mailbox; XOAUTH2 errors use Google's JSON form."""
    world = oidc.world
    typ, _ = await asyncio.to_thread(imaplib_sign_in, oidc, "XOAUTH2",
                                     xoauth2("", oidc.token(CLAIRE)))
    assert typ == "OK"
    for user in (world.cardiology, world.alice):
        typ, data = await asyncio.to_thread(imaplib_sign_in, oidc, "XOAUTH2",
                                            xoauth2(user, oidc.token(CLAIRE)))
        assert typ == "NO" and "AUTHENTICATIONFAILED" in data[0]
        assert json.loads(data[2])["status"] == "401"
    oidc.forget_failures()


async def test_mechanisms_are_offered_only_after_tls(oidc: OidcApp) -> None:
    plain = await RawClient.connect(oidc.port("imap"), None)
    caps = b"".join(await plain.command("c", "CAPABILITY"))
    assert b"AUTH=XOAUTH2" not in caps and b"LOGINDISABLED" in caps
    reply = await plain.command("a", "AUTHENTICATE XOAUTH2 dGVzdA==")
    assert b"PRIVACYREQUIRED" in reply[-1]
    await plain.close()
    tls = await RawClient.connect(oidc.port("imaps"), oidc.client_context())
    caps = b"".join(await tls.command("c", "CAPABILITY"))
    assert b"AUTH=XOAUTH2" in caps and b"AUTH=OAUTHBEARER" in caps
    await tls.close()


async def test_failures_are_audited_rate_limited_and_never_log_the_token(
        oidc: OidcApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = oidc.token(audience="wrong")
    for _ in range(5):
        typ, _ = await asyncio.to_thread(imaplib_sign_in, oidc, "XOAUTH2",
                                         xoauth2(oidc.world.alice, token))
        assert typ == "NO"
    good = oidc.token()
    typ, _ = await asyncio.to_thread(imaplib_sign_in, oidc, "XOAUTH2",
                                     xoauth2(oidc.world.alice, good))
    assert typ == "NO"  # the account is over its failure budget, even with a good token
    async with oidc.store.reading() as session:
        events = await events_for_subject(session, "", limit=500)
    failed = [e for e in events if e.action == "auth.failed"
              and "imap XOAUTH2 oidc reason=wrong audience" in e.detail]
    assert len(failed) == 5 and all(e.target == oidc.world.alice for e in failed)
    assert any(e.action == "auth.rate_limited" for e in events)
    for secret in (token, good):
        assert secret not in caplog.text and secret.split(".")[2] not in caplog.text
        assert base64.b64encode(xoauth2(oidc.world.alice, secret)).decode() not in caplog.text
    oidc.forget_failures()
    typ, _ = await asyncio.to_thread(imaplib_sign_in, oidc, "XOAUTH2",
                                     xoauth2(oidc.world.alice, oidc.token()))
    assert typ == "OK"
