"""SMTP AUTH XOAUTH2 and OAUTHBEARER (RFC 7628) on submission with smtplib and tokens of
a real dev OpenID provider, against a whole App."""

from __future__ import annotations

import asyncio
import base64
import json
import smtplib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import pytest_asyncio
from oidc.harness import BRUNO, CLAIRE, HOST, OidcApp, oidc_app

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oidc(tmp_path_factory: pytest.TempPathFactory, template_db: str
               ) -> AsyncIterator[OidcApp]:
    async with oidc_app(tmp_path_factory.mktemp("smtp-oauth"), template_db) as running:
        yield running


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(authzid: str, token: str) -> str:
    return f"n,a={authzid},\x01auth=Bearer {token}\x01\x01"


def responder(first: str, challenges: list[bytes]) -> Callable[..., str]:
    """smtplib's authobject: the initial response, then an empty answer to any challenge."""
    def answer(challenge: bytes | None = None) -> str:
        if challenge is None:
            return first
        challenges.append(challenge)
        return ""

    return answer


def message(sender: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, "Avis"
    mail.set_content("Bonjour.")
    return mail


def submit(oidc: OidcApp, mechanism: str, first: str, *, sender: str | None = None,
           to: str = "", implicit: bool = False) -> tuple[Any, list[bytes], list[str]]:
    """AUTH then (with `sender`) one message; returns the AUTH reply, the challenges seen
    and the EHLO AUTH line before TLS (empty when none was offered)."""
    challenges: list[bytes] = []
    if implicit:
        client: smtplib.SMTP = smtplib.SMTP_SSL(HOST, oidc.port("submissions"),
                                                context=oidc.client_context(), timeout=30)
        before_tls: list[str] = []
    else:
        client = smtplib.SMTP(HOST, oidc.port("submission"), timeout=30)
        client.ehlo()
        before_tls = [client.esmtp_features.get("auth", "")]
        client.starttls(context=oidc.client_context())
    try:
        client.ehlo()
        assert mechanism in client.esmtp_features["auth"].split()
        try:
            reply = client.auth(mechanism, responder(first, challenges))
        except smtplib.SMTPAuthenticationError as error:
            return (error.smtp_code, error.smtp_error), challenges, before_tls
        if sender:
            client.send_message(message(sender, to))
        return reply, challenges, before_tls
    finally:
        client.close()


async def test_xoauth2_after_starttls_then_a_message(oidc: OidcApp) -> None:
    world = oidc.world
    token = oidc.token()
    first = xoauth2(world.alice, token)
    assert len(base64.b64encode(first.encode())) > 1001  # over aiosmtpd's default line
    reply, _, before_tls = await asyncio.to_thread(submit, oidc, "XOAUTH2", first,
                                                   sender=world.alice, to=world.bruno)
    assert reply[0] == 235
    assert before_tls == [""]  # RFC 4954 §4: no AUTH offered in clear


async def test_oauthbearer_names_the_org_mailbox_it_sends_as(oidc: OidcApp) -> None:
    world = oidc.world
    reply, _, _ = await asyncio.to_thread(
        submit, oidc, "OAUTHBEARER", oauthbearer(world.cardiology, oidc.token()),
        sender=world.cardiology, to=world.bruno, implicit=True)
    assert reply[0] == 235


async def test_a_reader_of_the_org_cannot_send_as_it(oidc: OidcApp) -> None:
    world = oidc.world
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(submit, oidc, "XOAUTH2",
                                xoauth2(world.cardiology, oidc.token(BRUNO)),
                                sender=world.cardiology, to=world.alice)
    assert refused.value.smtp_code == 553  # MSS policy T2: read right, no send-as


async def test_refused_tokens_get_the_json_status_then_535(oidc: OidcApp) -> None:
    world = oidc.world
    expired = oidc.token(issued_at=oidc.clock.now() - timedelta(hours=1))
    for mechanism, first in (
        ("OAUTHBEARER", oauthbearer(world.alice, expired)),
        ("XOAUTH2", xoauth2(world.alice, oidc.token(audience="elsewhere"))),
        ("XOAUTH2", xoauth2(world.cardiology, oidc.token(CLAIRE))),
    ):
        reply, challenges, _ = await asyncio.to_thread(submit, oidc, mechanism, first)
        assert reply[0] == 535, (mechanism, reply)
        assert len(challenges) == 1
        status = json.loads(challenges[0])
        assert status["status"] == ("invalid_token" if mechanism == "OAUTHBEARER" else "401")
    oidc.forget_failures()
