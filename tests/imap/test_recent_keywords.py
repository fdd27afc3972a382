"""\\Recent per session (RFC 3501 §2.3.2, as Dovecot keeps it) and keywords announced
to every session of the folder (RFC 3501 §7.2.6), over real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mss.store.mailboxes import find_mailbox
from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")
MESSAGE = b"Subject: r\r\n\r\nx\r\n"


def _line(reply: list[bytes], start: bytes) -> bytes:
    return next(line for line in reply if line.startswith(start))


async def test_recent_belongs_to_the_first_session_that_selects(imap: ImapWorld) -> None:
    folder = unique("recent")
    await put_messages(imap, imap.world.alice, folder, [MESSAGE, MESSAGE], recent=True)
    first = await raw_login(imap, imap.world.alice)
    second = await raw_login(imap, imap.world.alice)
    status = await second.command("t", f"STATUS {folder} (RECENT MESSAGES)")
    assert status[0].endswith(b"(RECENT 2 MESSAGES 2)\r\n")
    selected = await first.command("s", f"SELECT {folder}")
    assert b"* 2 EXISTS\r\n" in selected and b"* 2 RECENT\r\n" in selected
    flags = await first.command("f", "FETCH 1:2 FLAGS")
    assert flags[:2] == [b"* 1 FETCH (FLAGS (\\Recent))\r\n", b"* 2 FETCH (FLAGS (\\Recent))\r\n"]
    assert (await first.command("r", "SEARCH RECENT"))[0] == b"* SEARCH 1 2\r\n"
    await first.command("n0", "STORE 1 +FLAGS.SILENT (\\Seen)")
    assert (await first.command("n", "SEARCH NEW"))[0] == b"* SEARCH 2\r\n"
    assert (await first.command("o", "SEARCH OLD"))[0] == b"* SEARCH\r\n"
    status = await second.command("t2", f"STATUS {folder} (RECENT)")
    assert status[0].endswith(b"(RECENT 0)\r\n")
    other = await second.command("s", f"SELECT {folder}")
    assert b"* 0 RECENT\r\n" in other
    assert (await second.command("r", "SEARCH RECENT"))[0] == b"* SEARCH\r\n"

    await put_messages(imap, imap.world.alice, folder, [MESSAGE], recent=True)  # while selected
    told = await first.command("p", "NOOP")
    assert told[:2] == [b"* 3 EXISTS\r\n", b"* 3 RECENT\r\n"]
    assert (await first.command("f2", "FETCH 3 FLAGS"))[0] == b"* 3 FETCH (FLAGS (\\Recent))\r\n"
    late = await second.command("p", "NOOP")
    assert late[:2] == [b"* 3 EXISTS\r\n", b"* 0 RECENT\r\n"]
    assert (await second.command("f", "FETCH 3 FLAGS"))[0] == b"* 3 FETCH (FLAGS ())\r\n"
    await first.close()
    await second.close()


async def test_copies_and_appends_are_recent_for_the_next_session(imap: ImapWorld) -> None:
    source, target = unique("rsrc"), unique("rdst")
    await put_messages(imap, imap.world.alice, source, [MESSAGE])
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {target}")
    await client.command("s", f"SELECT {source}")
    assert (await client.command("k", f"COPY 1 {target}"))[-1].startswith(b"k OK")
    await client.send(f"a APPEND {target} {{{len(MESSAGE)}+}}\r\n".encode() + MESSAGE + b"\r\n")
    assert (await client.until("a"))[-1].startswith(b"a OK")
    status = await client.command("t", f"STATUS {target} (RECENT MESSAGES)")
    assert status[0].endswith(b"(RECENT 2 MESSAGES 2)\r\n")
    examined = await client.command("e", f"EXAMINE {target}")  # looks, does not take
    assert b"* 2 RECENT\r\n" in examined
    assert (await client.command("r", "SEARCH RECENT"))[0] == b"* SEARCH 1 2\r\n"
    selected = await client.command("s2", f"SELECT {target}")
    assert b"* 2 RECENT\r\n" in selected
    again = await client.command("s3", f"SELECT {target}")
    assert b"* 0 RECENT\r\n" in again
    await client.close()


async def test_claim_is_atomic_between_concurrent_sessions(imap: ImapWorld) -> None:
    """Ten claims at once, as ten sessions on several nodes would make: one wins."""
    folder = unique("claim")
    await put_messages(imap, imap.world.alice, folder, [MESSAGE] * 3, recent=True)
    store = imap.store
    async with store.reading() as session:
        mailbox = await find_mailbox(session, imap.world.alice)
        assert mailbox is not None
        info = await store.mail.folders.named(session, mailbox.id, folder)

    async def claim(uow: Any) -> tuple[int, int] | None:
        return await store.mail.folders.claim_recent(uow, info.id, info.uidnext)

    results = await asyncio.gather(*(store.write(claim) for _ in range(10)))
    assert sorted(results, key=lambda r: r is None) == [(1, 4)] + [None] * 9


async def test_new_keyword_is_announced_to_every_session(imap: ImapWorld) -> None:
    folder = unique("kw")
    await put_messages(imap, imap.world.alice, folder, [MESSAGE, MESSAGE])
    first = await raw_login(imap, imap.world.alice)
    second = await raw_login(imap, imap.world.alice)
    await first.command("s", f"SELECT {folder}")
    await second.command("s", f"SELECT {folder}")
    stored = await first.command("a", "STORE 1 +FLAGS ($kwnew)")
    assert _line(stored, b"* FLAGS") == (
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $kwnew)\r\n")
    assert _line(stored, b"* OK [PERMANENTFLAGS").startswith(
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $kwnew \\*)]")
    assert stored.index(_line(stored, b"* FLAGS")) < stored.index(_line(stored, b"* 1 FETCH"))
    told = await second.command("n", "NOOP")
    assert _line(told, b"* FLAGS").endswith(b" $kwnew)\r\n")
    assert b"$kwnew \\*)]" in _line(told, b"* OK [PERMANENTFLAGS")
    assert b"$kwnew" in _line(told, b"* 1 FETCH")
    again = await first.command("b", "STORE 2 +FLAGS ($kwnew)")
    assert not any(line.startswith(b"* FLAGS") for line in again)
    later = await raw_login(imap, imap.world.alice)
    selected = await later.command("s", f"EXAMINE {folder}")
    assert _line(selected, b"* FLAGS").endswith(b" $kwnew)\r\n")
    assert b"[PERMANENTFLAGS ()]" in _line(selected, b"* OK [PERMANENTFLAGS")
    for client in (first, second, later):
        await client.close()


async def test_appended_keyword_is_in_the_next_select(imap: ImapWorld) -> None:
    folder = unique("kwapp")
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {folder}")
    await client.send(f"a APPEND {folder} ($Label1) {{{len(MESSAGE)}+}}\r\n".encode()
                      + MESSAGE + b"\r\n")
    assert (await client.until("a"))[-1].startswith(b"a OK")
    selected = await client.command("s", f"SELECT {folder}")
    assert _line(selected, b"* FLAGS").endswith(b" $Label1)\r\n")
    await client.close()
