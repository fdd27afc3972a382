"""Property: a message of generated header forms and body (tests/header_forms.py) is
accepted on submission (smtplib), on the MX (aiosmtplib, peer certificate) and by IMAP
APPEND (imaplib), and read back over IMAP byte for byte, its ENVELOPE and BODYSTRUCTURE
parsed by imapclient (RFC 5322 §3-§4: a valid message is never refused; a header MSS cannot
read is kept and ignored). The number of examples is bounded: each one is three real
sessions and a fetch (MSS_HEADER_EXAMPLES, 20 by default)."""

from __future__ import annotations

import asyncio
import imaplib
import os
import re
import smtplib
import ssl

import aiosmtplib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imapclient import IMAPClient
from imapclient.response_types import Envelope

from tests.header_forms import messages, phrases
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B

EXAMPLES = settings(
    max_examples=int(os.environ.get("MSS_HEADER_EXAMPLES", "20")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large])
# the sender rules (From and Sender name the principal) are not what is tested here
CHANNEL_FIELDS = frozenset({b"sender"})


def from_fields(address: str) -> st.SearchStrategy[bytes]:
    """`From:` lines that all name `address`: plain, angle, display names of every kind,
    a trailing comment (RFC 5322 §3.4)."""
    spec = address.encode()
    return st.one_of(
        st.just(b"From: " + spec + b"\r\n"),
        st.just(b"From: <" + spec + b">\r\n"),
        st.just(b"From: " + spec + b" (Dr Alice MARTIN)\r\n"),
        phrases().filter(lambda p: b"<" not in p and b"@" not in p and b":" not in p
                         and b"," not in p and b";" not in p).map(
            lambda p: b"From: " + p + b" <" + spec + b">\r\n"),
    )


@pytest.fixture
async def live(operators, session_pki):  # type: ignore[no-untyped-def]
    return await operators("b", DOMAIN_B, session_pki.operator_b, with_imap=True)


def _context(live) -> ssl.SSLContext:  # type: ignore[no-untyped-def]
    return live.client_context()


def _submit(live, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    with smtplib.SMTP("127.0.0.1", live.port("submission"), timeout=120) as client:
        client.starttls(context=_context(live))
        client.login(world.alice, world.password)
        refused = client.sendmail(world.alice, [world.bruno], raw)
        assert refused == {}


async def _relay(live, session_pki, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=live.port("mx"), start_tls=False,
                             tls_context=live.client_context(
                                 certificate=session_pki.operator_a))
    await client.connect()
    try:
        await client.starttls()
        errors, _ = await client.sendmail(f"secretariat@{DOMAIN_A}", [live.world.bruno], raw)
        assert errors == {}
    finally:
        await client.quit()


def _append(live, folder: str, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    client = imaplib.IMAP4_SSL("127.0.0.1", _imaps_port(live), ssl_context=_context(live),
                               timeout=120)
    try:
        client.login(live.world.alice, live.world.password)
        client.create(folder)
        status, reply = client.append(folder, None, None, raw)
        assert status == "OK", reply
    finally:
        client.logout()


def _imaps_port(live) -> int:  # type: ignore[no-untyped-def]
    return int(live.app.imap.addresses["imaps"][1])


def _last_message(live, user: str, folder: str) -> dict[bytes, object]:  # type: ignore[no-untyped-def]
    client = IMAPClient("127.0.0.1", port=_imaps_port(live), ssl=True,
                        ssl_context=_context(live), timeout=120)
    try:
        client.login(user, live.world.password)
        client.select_folder(folder, readonly=True)
        last = max(client.search("ALL"))
        return client.fetch([last], ["BODY.PEEK[]", "ENVELOPE", "BODYSTRUCTURE"])[last]
    finally:
        client.logout()


def _check(fetched: dict[bytes, object], raw: bytes, exact: bool) -> None:
    body = fetched[b"BODY[]"]
    assert isinstance(body, bytes)
    assert body == raw if exact else body.endswith(raw)
    assert isinstance(fetched[b"ENVELOPE"], Envelope)
    assert isinstance(fetched[b"BODYSTRUCTURE"], tuple)


# Bodies already sent with a Message-ID in this test's run, per server and channel: the
# same Message-ID and body from the same sender is a retry (mss.pipeline.delivery_keys),
# answered 250 from its delivery key and not delivered again, so it would not be the
# INBOX's last message. Hypothesis draws the same small message more than once.
_SENT: dict[tuple[int, str], set[bytes]] = {}
_MESSAGE_ID = re.compile(rb"(?im)^message-id\s*:")


def _first_time(live, channel: str, raw: bytes) -> bool:  # type: ignore[no-untyped-def]
    head, _, body = raw.partition(b"\r\n\r\n")
    if not _MESSAGE_ID.search(head):
        return True  # no delivery key: delivered every time
    seen = _SENT.setdefault((id(live.app), channel), set())
    if body in seen:
        return False
    seen.add(body)
    return True


@EXAMPLES
@given(data=st.data())
async def test_generated_messages_are_accepted_and_come_back_unchanged(
    live, session_pki, data: st.DataObject  # type: ignore[no-untyped-def]
) -> None:
    world = live.world
    submitted = data.draw(from_fields(world.alice).flatmap(
        lambda line: messages(line, CHANNEL_FIELDS)), label="submitted")
    # a repeated (Message-ID, body) is a retry, answered from its delivery key and not
    # delivered again: not sent twice. No assume() on this state: Hypothesis may draw one
    # example twice, and the draws must not depend on what an earlier one did.
    if _first_time(live, "submission", submitted):
        await asyncio.to_thread(_submit, live, submitted)
        _check(await asyncio.to_thread(_last_message, live, world.bruno, "INBOX"), submitted,
               exact=False)

    relayed = data.draw(from_fields(f"secretariat@{DOMAIN_A}").flatmap(
        lambda line: messages(line, CHANNEL_FIELDS)), label="relayed")
    if _first_time(live, "mx", relayed):
        await _relay(live, session_pki, relayed)
        _check(await asyncio.to_thread(_last_message, live, world.bruno, "INBOX"), relayed,
               exact=False)

    appended = data.draw(messages(b"From: " + world.bruno.encode() + b"\r\n"),
                         label="appended")
    await asyncio.to_thread(_append, live, "Archives", appended)
    _check(await asyncio.to_thread(_last_message, live, world.alice, "Archives"), appended,
           exact=True)
