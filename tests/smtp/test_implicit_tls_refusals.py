"""A handshake refused on an implicit-TLS listener (465, 993) leaves a `tls.failed` line
with its session id, the client's address and the reason, as on STARTTLS (issue 16 §2,
issue 17 §3; mss.certs.implicit_tls). Real clients: smtplib.SMTP_SSL, imaplib.IMAP4_SSL."""

from __future__ import annotations

import asyncio
import imaplib
import logging
import smtplib
import ssl
from collections.abc import Iterator

import pytest

from tests.event_lines import Lines
from tests.smtp.conftest import DOMAIN_A, Operator


class _Seen(logging.Handler):
    """Sets `event` when a line of `name` is written (no sleeping on the log)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name_wanted = name
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "mss_event", None) == self.name_wanted:
            self.event.set()


@pytest.fixture
def tls_failed_line(lines: Lines) -> Iterator[_Seen]:
    seen = _Seen("tls.failed")
    logging.getLogger().addHandler(seen)
    yield seen
    logging.getLogger().removeHandler(seen)


@pytest.fixture
async def node(operators, session_pki) -> Operator:
    return await operators("a", DOMAIN_A, session_pki.operator_a, with_imap=True)


def foreign_context(node: Operator) -> ssl.SSLContext:
    return node.client_context(certificate=node.pki.foreign_operator)


async def test_a_refused_certificate_on_465_is_logged(node, lines, tls_failed_line) -> None:
    def connect() -> None:
        with smtplib.SMTP_SSL("127.0.0.1", node.port("submissions"),
                              context=foreign_context(node), timeout=60) as client:
            client.noop()

    with pytest.raises((ssl.SSLError, smtplib.SMTPException, ConnectionError)):
        await asyncio.to_thread(connect)
    await tls_failed_line.event.wait()
    failed, = lines.events("tls.failed")
    assert (failed["listener"], failed["client"], failed["reason"]) == (
        "submissions", "127.0.0.1", "unknown_ca")
    assert failed["session"]
    assert node.app.metrics.tls_peer_refusals.labels("submissions",
                                                     "unknown_ca")._value.get() == 1
    assert node.app.metrics.tls_failures.labels("submissions", "unknown_ca")._value.get() == 1


async def test_465_still_serves_a_client_it_trusts(node) -> None:
    world = node.world

    def session() -> tuple[int, int]:
        with smtplib.SMTP_SSL("127.0.0.1", node.port("submissions"),
                              context=node.client_context(), timeout=60) as client:
            code = client.login(world.alice, world.password)[0]
            return code, client.noop()[0]

    assert await asyncio.to_thread(session) == (235, 250)


async def test_a_refused_certificate_on_993_is_logged(node, lines, tls_failed_line) -> None:
    _, port = node.app.imap.addresses["imaps"]

    def connect() -> None:
        client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=foreign_context(node),
                                   timeout=60)
        client.noop()

    with pytest.raises((ssl.SSLError, imaplib.IMAP4.error, ConnectionError, OSError)):
        await asyncio.to_thread(connect)
    await tls_failed_line.event.wait()
    failed, = lines.events("tls.failed")
    assert (failed["listener"], failed["client"], failed["reason"]) == (
        "imaps", "127.0.0.1", "unknown_ca")
    assert failed["session"]


async def test_993_still_serves_a_client_it_trusts(node) -> None:
    world = node.world
    _, port = node.app.imap.addresses["imaps"]

    def session() -> str:
        client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=node.client_context(),
                                   timeout=60)
        try:
            return client.login(world.alice, world.password)[0]
        finally:
            client.logout()

    assert await asyncio.to_thread(session) == "OK"
