"""MULTIAPPEND (RFC 3502), STATUS=SIZE (RFC 8438) and LIST-STATUS (RFC 5819), raw
protocol over TLS, and the capabilities that advertise them."""

from __future__ import annotations

import asyncio
import re
import zlib
from typing import Any

import pytest

from tests.imap.conftest import ImapWorld, RawClient, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")
FIRST = b"Subject: one\r\n\r\nfirst\r\n"
SECOND = b"Subject: two\r\n\r\nsecond message\r\n"


def _literal(data: bytes) -> bytes:
    return b"{%d+}\r\n" % len(data) + data


async def test_capabilities_name_the_extensions(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    capabilities = (await client.command("c", "CAPABILITY"))[0].split()
    for name in (b"MULTIAPPEND", b"SORT", b"ESORT", b"THREAD=REFERENCES",
                 b"THREAD=ORDEREDSUBJECT", b"LIST-STATUS", b"STATUS=SIZE",
                 b"COMPRESS=DEFLATE", b"OBJECTID", b"UNAUTHENTICATE"):
        assert name in capabilities
    await client.close()


async def test_multiappend_adds_every_message_or_none(imap: ImapWorld) -> None:
    folder = unique("multi")
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {folder}")
    await client.send(b"a APPEND " + folder.encode() + b" (\\Seen) " + _literal(FIRST)
                      + b' ($Label1) "02-Dec-2026 10:00:00 +0100" ' + _literal(SECOND) + b"\r\n")
    reply = await client.until("a")
    assert reply[-1].startswith(b"a OK [APPENDUID "), reply
    assert reply[-1].split(b"]")[0].endswith(b" 1:2")
    await client.send(b"b APPEND " + folder.encode() + b" " + _literal(FIRST) + b" "
                      + _literal(b"") + b"\r\n")  # the second is refused: neither is kept
    assert (await client.until("b"))[-1].startswith(b"b NO")
    status = await client.command("s", f"STATUS {folder} (MESSAGES SIZE)")
    assert status[0].endswith(b"(MESSAGES 2 SIZE %d)\r\n" % (len(FIRST) + len(SECOND)))
    await client.command("e", f"EXAMINE {folder}")
    fetched = await client.command("f", "FETCH 1:2 (FLAGS INTERNALDATE)")
    assert b"\\Seen" in fetched[0]
    assert b"$Label1" in fetched[1] and b'" 2-Dec-2026 09:00:00 +0000"' in fetched[1]
    await client.close()


async def test_list_status_returns_status_of_each_listed_folder(imap: ImapWorld) -> None:
    folder = unique("lstat")
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {folder}")
    await client.send(b"a APPEND " + folder.encode() + b" " + _literal(FIRST) + b"\r\n")
    await client.until("a")
    reply = await client.command(
        "l", f'LIST "" "{folder}" RETURN (STATUS (MESSAGES UNSEEN SIZE RECENT))')
    assert reply[0].startswith(b"* LIST (\\HasNoChildren)")
    assert reply[1] == (b'* STATUS "' + folder.encode()
                        + b'" (MESSAGES 1 UNSEEN 1 SIZE %d RECENT 1)\r\n' % len(FIRST))
    await client.close()


class _Deflated:
    """The client side of RFC 4978 over the raw client's streams (zlib, raw deflate)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buffer = b""

    async def command(self, tag: str, text: str) -> list[bytes]:
        data = f"{tag} {text}\r\n".encode()
        await self.client.send(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = await asyncio.wait_for(self.client.reader.read(65536), 30)
                assert chunk, "connection closed"
                self.buffer += self.inflate.decompress(chunk)
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line + b"\r\n")
            if line.startswith(tag.encode() + b" "):
                return lines


async def test_compress_deflate_both_ways(imap: ImapWorld) -> None:
    folder = unique("zip")
    body = b"Subject: zipped\r\n\r\n" + b"compressible text " * 500 + b"\r\n"
    await put_messages(imap, imap.world.alice, folder, [body])
    client = await raw_login(imap, imap.world.alice)
    reply = await client.command("z", "COMPRESS DEFLATE")
    assert reply == [b"z OK DEFLATE active\r\n"]
    deflated = _Deflated(client)
    capabilities = await deflated.command("c", "CAPABILITY")
    assert b"COMPRESS=DEFLATE" in capabilities[0]
    assert capabilities[-1] == b"c OK CAPABILITY completed\r\n"
    again = await deflated.command("d", "COMPRESS DEFLATE")
    assert again == [b"d NO [COMPRESSIONACTIVE] Compression is already active\r\n"]
    await deflated.command("s", f"EXAMINE {folder}")
    fetched = await deflated.command("f", "FETCH 1 RFC822.SIZE")
    assert fetched[0] == b"* 1 FETCH (RFC822.SIZE %d)\r\n" % len(body)
    await client.close()


async def test_compress_needs_authentication_and_a_known_mechanism(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    assert (await client.command("a", "COMPRESS DEFLATE"))[-1].startswith(b"a BAD")
    await client.close()
    client = await raw_login(imap, imap.world.alice)
    assert (await client.command("b", "COMPRESS LZMA"))[-1].startswith(b"b BAD")
    assert (await client.command("c", "NOOP"))[-1] == b"c OK NOOP completed\r\n"  # still plain
    await client.close()


async def test_objectid_mailboxid_emailid_threadid(imap: ImapWorld) -> None:
    folder, other = unique("oid"), unique("oid2")
    client = await raw_login(imap, imap.world.alice)
    created = await client.command("c", f"CREATE {folder}")
    match = re.match(rb"c OK \[MAILBOXID \((F\d+)\)\]", created[-1])
    assert match, created
    box = match.group(1)
    await client.command("c2", f"CREATE {other}")
    await client.send(b"a APPEND " + folder.encode() + b" " + _literal(FIRST) + b" "
                      + _literal(SECOND) + b"\r\n")
    await client.until("a")
    selected = await client.command("s", f"SELECT {folder}")
    assert b"* OK [MAILBOXID (" + box + b")] Ok\r\n" in selected
    status = await client.command("t", f"STATUS {other} (MAILBOXID MESSAGES)")
    assert re.search(rb"\(MAILBOXID \(F\d+\) MESSAGES 0\)", status[0]) and box not in status[0]
    fetched = await client.command("f", "FETCH 1:2 (EMAILID THREADID)")
    ids = [re.findall(rb"EMAILID \((M\d+)\)", line)[0] for line in fetched[:2]]
    assert ids[0] != ids[1] and all(b"THREADID NIL" in line for line in fetched[:2])
    found = await client.command("e", f"SEARCH EMAILID {ids[1].decode()}")
    assert found[0] == b"* SEARCH 2\r\n"
    assert (await client.command("g", "SEARCH THREADID T1"))[0] == b"* SEARCH\r\n"
    await client.command("k", f"COPY 1 {other}")
    await client.command("r", f"RENAME {other} {other}-renamed")
    await client.command("s2", f"SELECT {other}-renamed")
    copied = await client.command("f2", "FETCH 1 EMAILID")
    assert b"EMAILID (" + ids[0] + b")" in copied[0]  # a copy is the same message
    renamed = await client.command("t2", f"STATUS {other}-renamed (MAILBOXID)")
    assert renamed[0].endswith(status[0].split(b"(MAILBOXID ")[1].split(b")")[0] + b"))\r\n")
    await client.close()


async def test_unauthenticate_returns_to_not_authenticated(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    assert b"UNAUTHENTICATE" in (await client.command("c", "CAPABILITY"))[0]
    await client.command("s", "SELECT INBOX")
    assert (await client.command("u", "UNAUTHENTICATE"))[-1] == (
        b"u OK UNAUTHENTICATE completed\r\n")
    assert (await client.command("n", "NOOP"))[-1].startswith(b"n OK")
    assert (await client.command("f", "FETCH 1 FLAGS"))[-1].startswith(b"f BAD")
    assert (await client.command("l", 'LIST "" "*"'))[-1].startswith(b"l BAD")
    again = await client.command("l2", f'LOGIN "{imap.world.bruno}" "{imap.world.password}"')
    assert again[-1].startswith(b"l2 OK")
    await client.close()
