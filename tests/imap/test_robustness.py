"""Bad input gets BAD and the connection lives on; limits on lines, literals, command
rate, connections and silence; a client that reads slowly cannot make the server
buffer without bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mss.certs import server_context
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from tests.imap.conftest import ImapWorld, RawClient, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def strict(imap: ImapWorld) -> AsyncIterator[tuple[ImapServer, int]]:
    """A listener with tiny limits on the same store."""
    limits = ImapLimits(connections_per_address=2, commands_per_second=0.001, command_burst=4,
                        autologout_seconds=0.5, max_literal=1024, max_line=1024)
    server = ImapServer(imap.store, server_context(imap.pki.paths, "optional"),
                        implicit_tls=True, limits=limits)
    _, port = await server.start("127.0.0.1", 0)
    yield server, port
    await server.stop()


async def test_bad_syntax_gets_bad_with_a_reason(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    cases = [b"a FETCH", b"b FROB", b"c SELECT", b"d FETCH 1:x FLAGS", b'e LOGIN "unterminated',
             b"\x00\xff\xfe garbage", b"", b"f UID BOGUS 1", b"g STORE 1 FLAGS (\\Recent)"]
    for line in cases:
        await client.send(line + b"\r\n")
        reply = await client.response()
        assert b" BAD " in reply and len(reply) > 8, (line, reply)
    assert (await client.command("z", "NOOP"))[-1].startswith(b"z OK")
    await client.close()


async def test_long_line_is_refused_and_the_session_continues(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    await client.send(b"a NOOP " + b"x" * 20_000 + b"\r\n")
    assert b"BAD" in await client.response()
    assert (await client.command("b", "NOOP"))[-1].startswith(b"b OK")
    await client.close()


async def test_too_large_synchronising_literal_gets_no_continuation(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    await client.send(b"a APPEND INBOX {99999999}\r\n")
    reply = await client.response()
    assert reply.startswith(b"a ") and b"[TOOBIG]" in reply  # never "+"
    assert (await client.command("b", "NOOP"))[-1].startswith(b"b OK")
    await client.close()


async def test_too_large_non_synchronising_literal_closes(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    await client.send(b"a APPEND INBOX {99999999+}\r\n")
    reply = await client.response()
    assert reply.startswith(b"a ") and b"[TOOBIG]" in reply
    assert (await client.response()).startswith(b"* BYE")
    assert await client.closed()


async def test_connections_per_address_are_limited(imap: ImapWorld, strict) -> None:
    _, port = strict
    first = await RawClient.connect(port, imap.client_context())
    second = await RawClient.connect(port, imap.client_context())
    reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                   ssl=imap.client_context(),
                                                   server_hostname="localhost")
    refused = await asyncio.wait_for(reader.readline(), 10)
    assert refused.startswith(b"* BYE [UNAVAILABLE]")
    writer.close()
    for client in (first, second):
        await client.close()


async def test_command_rate_is_limited(imap: ImapWorld, strict) -> None:
    _, port = strict
    client = await RawClient.connect(port, imap.client_context())
    replies = [(await client.command(f"n{i}", "NOOP"))[-1] for i in range(5)]
    assert all(r.startswith(b"n") and b" OK " in r for r in replies[:4])
    assert b"NO [LIMIT]" in replies[4]
    await client.close()


async def test_autologout_after_silence(imap: ImapWorld, strict) -> None:
    _, port = strict
    client = await RawClient.connect(port, imap.client_context())
    assert (await client.response()).startswith(b"* BYE")  # the server's own timer
    assert await client.closed()


async def test_slow_reader_does_not_grow_the_server_buffer(imap: ImapWorld) -> None:
    folder = unique("big")
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 512  # about 500 KiB
    await put_messages(imap, imap.world.alice, folder, [big])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    count = 40  # 20 MiB of responses asked for, none read yet
    await client.send(b"".join(b"f%d FETCH 1 BODY.PEEK[]\r\n" % i for i in range(count)))
    high = imap.tls.limits.write_buffer_high
    for i in range(count):
        lines = await client.until(f"f{i}")
        assert lines[0].endswith(big + b")\r\n")
    await client.close()
    # the server measures what it holds in user space after each write (TLS backlog and
    # socket transport): every write waited for the transport to drain, so it never
    # held more than the high-water mark plus the one response being written
    assert imap.tls.peak_write_buffer <= high + len(big) + 4096
