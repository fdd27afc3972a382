"""Every message of the header corpus is accepted on submission and on the MX, and stored
byte for byte after the trace headers MSS adds (RFC 5322 §3.3 and §4: an obsolete or
unreadable header never refuses a message)."""

from __future__ import annotations

import aiosmtplib
import pytest

from tests.header_corpus import addressed, corpus_messages
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, stored_messages


@pytest.fixture
async def op_b(operators, session_pki):
    return await operators("b", DOMAIN_B, session_pki.operator_b)


async def _send_all(client: aiosmtplib.SMTP, sender: str, recipient: str
                    ) -> list[tuple[str, bytes, str]]:
    sent = []
    for name, rest in corpus_messages():
        raw = addressed(sender, recipient, name, rest)
        await client.mail(sender)
        await client.rcpt(recipient)
        response = await client.data(raw)
        sent.append((name, raw, f"{response.code} {response.message}"))
    return sent


def _check(sent: list[tuple[str, bytes, str]], stored: list[bytes]) -> None:
    refused = [(name, reply) for name, _, reply in sent if not reply.startswith("250")]
    assert refused == []
    assert len(stored) == len(sent)
    for (name, raw, _), kept in zip(sent, stored, strict=True):
        assert kept.endswith(raw), name


async def test_the_corpus_is_accepted_on_submission(op_b) -> None:
    world = op_b.world
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=op_b.port("submission"),
                             start_tls=False, tls_context=op_b.client_context())
    await client.connect()
    await client.starttls()
    await client.login(world.alice, world.password)
    sent = await _send_all(client, world.alice, world.bruno)
    await client.quit()
    _check(sent, await stored_messages(op_b, world.bruno))


async def test_the_corpus_is_accepted_on_the_mx(op_b, session_pki) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=op_b.port("mx"), start_tls=False,
                             tls_context=op_b.client_context(
                                 certificate=session_pki.operator_a))
    await client.connect()
    await client.starttls()
    sent = await _send_all(client, f"secretariat@{DOMAIN_A}", op_b.world.bruno)
    await client.quit()
    _check(sent, await stored_messages(op_b, op_b.world.bruno))
