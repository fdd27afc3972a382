"""Protocol abuse against IMAP listeners on the store of a whole node.

A listener with small limits (as an operator would set them) serves the abuse; each
case gets a clear refusal (BAD, NO, BYE) or a disconnect, a normal login afterwards
works, and the process grows by less than RSS_BOUND:
- a 10 MB command line: `BAD` and the session goes on (RFC 7162 §4 line limit);
- an unterminated literal (announced, never sent in full): the autologout `BYE` ends it;
- a slow-loris client (one byte at a time, never a whole line): autologout `BYE`, as
  partial lines do not count as activity;
- 2,000 simultaneous connections from one address: `connections_per_address` greeted,
  the others `* BYE [UNAVAILABLE]` and closed;
- TLS garbage on 993 and after STARTTLS: closed;
- STARTTLS injection (RFC 3501 §6.2.1, as RFC 3207 §6): a command pipelined after
  STARTTLS in clear is discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from mss.certs import server_context
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from tests.hardening.conftest import Node, NodeFactory
from tests.hardening.test_smtp_abuse import RSS_BOUND, rss
from tests.imap.conftest import RawClient

LIMITS = ImapLimits(connections_per_address=50, autologout_seconds=0.5, max_line=8192,
                    max_literal=64 * 1024)
pytestmark = pytest.mark.timeout(120)


@dataclass
class Listeners:
    node: Node
    plain: int  # 143-style, STARTTLS
    tls: int  # 993-style, implicit TLS


@pytest.fixture
async def imap(nodes: NodeFactory) -> AsyncIterator[Listeners]:
    node = await nodes("imap-abuse")
    assert node.app.pki is not None
    context = server_context(node.app.pki.paths, "optional")
    plain = ImapServer(node.store, context, implicit_tls=False, limits=LIMITS)
    tls = ImapServer(node.store, context, implicit_tls=True, limits=LIMITS)
    _, plain_port = await plain.start("127.0.0.1", 0)
    _, tls_port = await tls.start("127.0.0.1", 0)
    yield Listeners(node, plain_port, tls_port)
    await plain.stop()
    await tls.stop()


async def still_serving(imap: Listeners) -> None:
    """A normal client on the node's own IMAPS listener logs in and selects its INBOX."""
    world = imap.node.world
    client = await RawClient.connect(imap.node.port("imaps"), imap.node.client_context())
    assert (await client.command("l", f'LOGIN "{world.alice}" "{world.password}"')
            )[-1].startswith(b"l OK")
    assert (await client.command("s", "SELECT INBOX"))[-1].startswith(b"s OK")
    await client.close()


async def test_ten_megabyte_command_line(imap: Listeners) -> None:
    before = rss()
    client = await RawClient.connect(imap.tls, imap.node.client_context())
    try:
        await client.send(b"a NOOP " + b"x" * (10 * 1024 * 1024) + b"\r\n")
        reply = await client.response()
    except (ConnectionError, AssertionError):  # refused by closing while we still wrote
        reply = b"* BYE (connection closed)"
    assert b"BAD" in reply or reply.startswith(b"* BYE"), reply
    if b"BAD" in reply:  # then the session goes on, or ends (the rest of the line is noise)
        with contextlib.suppress(ConnectionError, AssertionError):
            assert (await client.command("b", "NOOP"))[-1].startswith((b"b OK", b"* BYE"))
    await client.close()
    await still_serving(imap)
    assert rss() - before < RSS_BOUND


async def test_unterminated_literal_ends_at_autologout(imap: Listeners) -> None:
    client = await RawClient.connect(imap.tls, imap.node.client_context())
    await client.send(b"a LOGIN {5}\r\n")
    assert (await client.response()).startswith(b"+")
    await client.send(b"al")  # three octets short, then silence
    assert (await client.response()).startswith(b"* BYE")
    assert await client.closed()
    await still_serving(imap)


async def test_slow_loris_is_logged_out(imap: Listeners) -> None:
    client = await RawClient.connect(imap.tls, imap.node.client_context())
    heard = b""
    for byte in b"a NOOP" * 1000:  # never a whole line
        client.writer.write(bytes([byte]))
        await client.writer.drain()
        with contextlib.suppress(TimeoutError):
            heard += await asyncio.wait_for(client.reader.read(100), LIMITS.autologout_seconds / 10)
        if heard:
            break
    assert heard.startswith(b"* BYE"), heard
    await still_serving(imap)


async def test_two_thousand_connections_from_one_address(imap: Listeners) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 5000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    before = rss()
    opened = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", imap.plain)
                                    for _ in range(2000)))
    firsts = await asyncio.gather(*(asyncio.wait_for(reader.readline(), 30)
                                    for reader, _ in opened))
    greeted = sum(1 for line in firsts if line.startswith(b"* OK"))
    refused = sum(1 for line in firsts if line.startswith(b"* BYE [UNAVAILABLE]"))
    assert (greeted, refused) == (50, 1950)
    for _, writer in opened:
        writer.close()
    for _, writer in opened:
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    grown = rss() - before
    await still_serving(imap)
    assert grown < RSS_BOUND


async def test_tls_handshake_garbage(imap: Listeners) -> None:
    for data in (b"\x16\x03\x01\x00\x05hello", os.urandom(4096), b"a CAPABILITY\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", imap.tls)
        writer.write(data)
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(), 30) in (b"", b"\x15")
        writer.close()
        client = await RawClient.connect(imap.plain, None)
        assert (await client.command("t", "STARTTLS"))[-1].startswith(b"t OK")
        client.writer.write(data)
        await client.writer.drain()
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(client.reader.read(), 30) == b""
        await client.close()
    await still_serving(imap)


async def test_starttls_injection_is_discarded(imap: Listeners) -> None:
    client = await RawClient.connect(imap.plain, None)
    await client.send(b"t STARTTLS\r\ni NOOP\r\n")
    assert (await client.response()).startswith(b"t OK")
    await client.writer.start_tls(imap.node.client_context(), server_hostname="localhost")
    lines = await client.command("n", "NOOP")
    assert lines[-1].startswith(b"n OK")
    assert not any(line.startswith(b"i ") for line in lines), lines
    await client.close()
