"""CATENATE (RFC 4469): APPEND joined from literal text and IMAP URLs (RFC 5092) of
the user's own messages; raw protocol over TLS."""

from __future__ import annotations

import re

import pytest

from tests.imap.conftest import ImapWorld, RawClient, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")
SOURCE = (b"From: <a@example>\r\nSubject: source\r\nMIME-Version: 1.0\r\n"
          b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
          b"--b\r\nContent-Type: text/plain\r\n\r\npremier\r\n"
          b"--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n")


def _literal(data: bytes) -> bytes:
    return b"{%d+}\r\n" % len(data) + data


async def _uidvalidity(client: RawClient, folder: str) -> int:
    reply = await client.command("v", f"STATUS {folder} (UIDVALIDITY)")
    match = re.search(rb"UIDVALIDITY (\d+)", reply[0])
    assert match is not None
    return int(match[1])


async def test_catenate_joins_text_and_sections_of_own_messages(imap: ImapWorld) -> None:
    source, target = unique("cat-src"), unique("cat-dst")
    [uid] = await put_messages(imap, imap.world.alice, source, [SOURCE])
    client = await raw_login(imap, imap.world.alice)
    assert b"CATENATE" in (await client.command("c", "CAPABILITY"))[0].split()
    await client.command("c2", f"CREATE {target}")
    validity = await _uidvalidity(client, source)
    header = b"From: <dr.alice.martin@example>\r\nSubject: forwarded\r\n\r\n"
    await client.send(
        b"a APPEND " + target.encode() + b" (\\Seen) CATENATE (TEXT " + _literal(header)
        + b' URL "/' + source.encode() + b";UIDVALIDITY=%d/;UID=%d/;SECTION=2\"" % (
            validity, uid)
        + b" TEXT " + _literal(b"\r\n--\r\n")
        + b" URL \"imap://" + imap.world.alice.replace("@", "%40").encode() + b"@"
        + imap.store.settings.server.hostname.encode() + b"/" + source.encode()
        + b"/;UID=%d/;SECTION=1/;PARTIAL=0.4\")\r\n" % uid)
    reply = await client.until("a")
    assert reply[-1].startswith(b"a OK [APPENDUID "), reply
    await client.command("e", f"EXAMINE {target}")
    fetched = await client.command("f", "FETCH 1 (FLAGS BODY.PEEK[])")
    assert header + b"second part\r\n--\r\nprem" in fetched[0]
    assert b"\\Seen" in fetched[0]
    await client.close()


async def test_catenate_refuses_urls_it_cannot_use_and_appends_nothing(
        imap: ImapWorld) -> None:
    source, target = unique("cat-src"), unique("cat-dst")
    [uid] = await put_messages(imap, imap.world.bruno, source, [SOURCE])
    own = await put_messages(imap, imap.world.alice, source, [SOURCE])
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {target}")
    validity = await _uidvalidity(client, source)
    refused = [
        f"/{source};UIDVALIDITY={validity + 1}/;UID={own[0]}",  # another UIDVALIDITY
        f"/{source}/;UID={own[0] + 50}",  # no such message
        f"/{source}/;UID={own[0]}/;SECTION=9",  # an empty section
        f"imap://{imap.world.bruno.replace('@', '%40')}@"
        f"{imap.store.settings.server.hostname}/{source}/;UID={uid}",  # another user's
        f"imap://elsewhere.example/{source}/;UID={own[0]}",  # another server
        "/Nowhere/;UID=1",
        "not a url",
    ]
    for number, url in enumerate(refused):
        await client.send(b"a%d APPEND %s CATENATE (TEXT %s URL \"%s\")\r\n" % (
            number, target.encode(), _literal(b"Subject: x\r\n\r\n"), url.encode()))
        reply = await client.until(f"a{number}")
        assert reply[-1].startswith(b'a%d NO [BADURL "' % number), (url, reply)
    status = await client.command("s", f"STATUS {target} (MESSAGES)")
    assert status[0].endswith(b"(MESSAGES 0)\r\n")
    bad = await client.command("b", f"APPEND {target} CATENATE ()")
    assert bad[-1].startswith(b"b BAD")
    await client.close()
