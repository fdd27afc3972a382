"""Behaviours where MSS answers as RFC 3501 and Dovecot 2.3 do (issue found by running
compliance scripts side by side with Dovecot): subscriptions, mUTF-7 names, LIST
options, NUL bytes, quoted-printable BINARY, ESEARCH MODSEQ, HIGHESTMODSEQ, address
search. Raw protocol over a TLS socket, so every byte of the answer is checked."""

from __future__ import annotations

import re

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_create_does_not_subscribe(imap: ImapWorld) -> None:
    parent = unique("nosub")
    child = f"{parent}/inner"
    client = await raw_login(imap, imap.world.alice)
    assert (await client.command("c", f"CREATE {child}"))[-1].startswith(b"c OK")
    lsub = b"".join(await client.command("l", 'LSUB "" "*"'))
    assert parent.encode() not in lsub
    subscribed = b"".join(await client.command("m", 'LIST (SUBSCRIBED) "" "*"'))
    assert parent.encode() not in subscribed
    listed = b"".join(await client.command("n", f'LIST "" "{parent}*"'))
    assert child.encode() in listed and b"\\Subscribed" not in listed
    await client.command("s", f"SUBSCRIBE {child}")
    lsub = [line for line in await client.command("o", 'LSUB "" "*"')
            if parent.encode() in line]
    assert lsub == [b'* LSUB () "/" "' + child.encode() + b'"\r\n']
    await client.close()


async def test_mailbox_name_not_mutf7_is_no(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    for tag, command in (("a", 'CREATE "&Jjo"'), ("b", 'SELECT "&AGE-"'),
                         ("c", 'STATUS "x&" (MESSAGES)'), ("d", 'LIST "" "&Jjo"')):
        reply = await client.command(tag, command)
        assert reply[-1] == f"{tag} NO Mailbox name is not valid mUTF-7\r\n".encode(), reply
    ok = await client.command("e", 'LIST "" "&ZeVnLIqe-"')  # valid: 日本語
    assert ok[-1].startswith(b"e OK")
    await client.close()


async def test_list_unknown_options_are_bad(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    assert (await client.command("a", 'list (imaptest) "" ""'))[-1].startswith(b"a BAD")
    assert (await client.command("b", 'LIST "" "*" RETURN (foo)'))[-1].startswith(b"b BAD")
    assert (await client.command("c", 'LIST (RECURSIVEMATCH) "" "*"'))[-1].startswith(b"c BAD")
    good = await client.command("d", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "*" RETURN (CHILDREN)')
    assert good[-1].startswith(b"d OK")
    await client.close()


def _literal(reply: list[bytes], item: bytes) -> tuple[bytes, bytes]:
    """(literal prefix such as b'{5}' or b'~{5}', content) of `item` in a FETCH reply."""
    line = b"".join(reply)
    match = re.search(re.escape(item) + rb" (~?\{(\d+)\})\r\n", line)
    assert match, line
    start = match.end()
    return match.group(1), line[start : start + int(match.group(2))]


async def test_nul_bytes_never_in_a_plain_literal(imap: ImapWorld) -> None:
    folder = unique("nul")
    part = b"ab\x00cd\x00"
    raw = (b"Subject: nul\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\n" + part + b"\r\n--b--\r\n")
    await put_messages(imap, imap.world.alice, folder, [raw])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    prefix, body = _literal(await client.command("f", "FETCH 1 BODY.PEEK[1]"), b"BODY[1]")
    assert prefix == b"{6}" and body == b"ab\x80cd\x80"
    prefix, whole = _literal(await client.command("g", "FETCH 1 BODY.PEEK[]"), b"BODY[]")
    assert b"\x00" not in whole and len(whole) == len(raw)
    prefix, binary = _literal(await client.command("h", "FETCH 1 BINARY.PEEK[1]"), b"BINARY[1]")
    assert prefix == b"~{6}" and binary == part
    await client.close()


async def test_binary_quoted_printable_follows_rfc2045(imap: ImapWorld) -> None:
    folder = unique("qp")
    encoded = b"line one  \r\nsoft= \r\nbreak=3D=\t\r\nend\t\r\n"
    decoded = b"line one\r\nsoftbreak=end\r\n"
    raw = (b"Subject: qp\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded)
    await put_messages(imap, imap.world.alice, folder, [raw])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    reply = await client.command("f", "FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    _, content = _literal(reply, b"BINARY[1]")
    assert content == decoded
    assert b"BINARY.SIZE[1] %d" % len(decoded) in reply[0]
    await client.close()


def _modseqs(reply: list[bytes]) -> dict[int, int]:
    found = {}
    for line in reply:
        match = re.match(rb"\* (\d+) FETCH .*MODSEQ \((\d+)\)", line)
        if match:
            found[int(match.group(1))] = int(match.group(2))
    return found


async def test_esearch_min_max_modseq_is_of_the_returned_message(imap: ImapWorld) -> None:
    folder = unique("esmod")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: m\r\n\r\nx\r\n"] * 3)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder} (CONDSTORE)")
    await client.command("a", "STORE 3 +FLAGS.SILENT (\\Flagged)")
    await client.command("b", "STORE 2 +FLAGS.SILENT (\\Answered)")
    modseqs = _modseqs(await client.command("f", "FETCH 1:3 MODSEQ"))
    assert modseqs[2] > modseqs[3] > modseqs[1]
    low = await client.command("m", "SEARCH RETURN (MIN) MODSEQ 1")
    assert low[0] == b'* ESEARCH (TAG "m") MIN 1 MODSEQ %d\r\n' % modseqs[1]
    high = await client.command("n", "SEARCH RETURN (MAX) MODSEQ 1")
    assert high[0] == b'* ESEARCH (TAG "n") MAX 3 MODSEQ %d\r\n' % modseqs[3]
    both = await client.command("o", "SEARCH RETURN (MIN MAX) MODSEQ 1")
    assert both[0].endswith(b"MIN 1 MAX 3 MODSEQ %d\r\n" % modseqs[3])
    every = await client.command("p", "SEARCH RETURN (ALL) MODSEQ 1")
    assert every[0].endswith(b"ALL 1:3 MODSEQ %d\r\n" % modseqs[2])
    await client.close()


async def test_highestmodseq_when_fetch_enables_condstore(imap: ImapWorld) -> None:
    folder = unique("hms")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: h\r\n\r\nx\r\n"] * 2)
    client = await raw_login(imap, imap.world.alice)
    selected = await client.command("s", f"SELECT {folder}")
    highest = next(line for line in selected if b"HIGHESTMODSEQ" in line)
    first = await client.command("f", "FETCH 1 (FLAGS MODSEQ)")
    assert first[0] == highest  # the same value: nothing changed since SELECT
    assert first[0].startswith(b"* OK [HIGHESTMODSEQ ")
    again = await client.command("g", "FETCH 2 (MODSEQ)")
    assert not any(b"HIGHESTMODSEQ" in line for line in again)
    await client.close()


async def test_search_from_ignores_comments_in_the_address(imap: ImapWorld) -> None:
    folder = unique("from")
    await put_messages(imap, imap.world.alice, folder, [
        b"From: <user (comment)@ (comment) example.org>\r\nSubject: a\r\n\r\nx\r\n",
        b"From: Someone <other@example.org>\r\nSubject: b\r\n\r\nx\r\n",
    ])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    reply = await client.command("f", "SEARCH FROM user@example.org")
    assert reply[0] == b"* SEARCH 1\r\n"
    await client.close()


async def test_store_on_examined_folder_stays_read_only(imap: ImapWorld) -> None:
    folder = unique("exro")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: r\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    reply = await client.command("a", "STORE 1 +FLAGS ($kw)")
    assert reply[-1].startswith(b"a NO [READ-ONLY]")
    flags = await client.command("f", "FETCH 1 FLAGS")
    assert flags[0] == b"* 1 FETCH (FLAGS ())\r\n"
    await client.close()
