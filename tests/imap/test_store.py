"""STORE / UID STORE with .SILENT and UNCHANGEDSINCE (RFC 3501 §6.4.6, RFC 7162 §3.1.3)."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_store_modes_and_silent(imap: ImapWorld) -> None:
    folder = unique("store")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: s\r\n\r\nx\r\n"] * 3)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    added = await client.command("a", "STORE 1:2 +FLAGS (\\Flagged $Urgent)")
    assert added[0].startswith(b"* FLAGS (") and added[1].startswith(b"* OK [PERMANENTFLAGS")
    assert added[2] == b"* 1 FETCH (FLAGS ($Urgent \\Flagged))\r\n"  # a new keyword first
    assert len(added) == 5
    removed = await client.command("b", "UID STORE 2 -FLAGS ($Urgent)")
    assert removed[0] == b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n"
    silent = await client.command("c", "STORE 3 FLAGS.SILENT (\\Answered)")
    assert silent == [b"c OK STORE completed\r\n"]
    check = await client.command("d", "FETCH 1:3 FLAGS")
    assert check[2] == b"* 3 FETCH (FLAGS (\\Answered))\r\n"
    await client.close()


async def test_unchangedsince_reports_modified(imap: ImapWorld) -> None:
    folder = unique("cond")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: c\r\n\r\nx\r\n"] * 2)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder} (CONDSTORE)")
    fetched = await client.command("f", "FETCH 1:2 MODSEQ")
    modseq = max(int(line.split(b"MODSEQ (")[1].split(b")")[0]) for line in fetched[:2])
    await client.command("a", "STORE 1 +FLAGS.SILENT (\\Flagged)")
    reply = await client.command("b", f"STORE 1:2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Seen)")
    assert reply[-1].startswith(b"b OK [MODIFIED 1]")
    assert any(line.startswith(b"* 2 FETCH") and b"MODSEQ" in line for line in reply)
    await client.close()


async def test_store_in_examine_is_refused(imap: ImapWorld) -> None:
    folder = unique("ro")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: r\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    reply = await client.command("a", "STORE 1 +FLAGS (\\Deleted)")
    assert reply[-1].startswith(b"a NO [READ-ONLY]")
    await client.close()


async def test_expunge_and_uid_expunge(imap: ImapWorld) -> None:
    folder = unique("expunge")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: e\r\n\r\nx\r\n"] * 4)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    await client.command("a", "STORE 1,3,4 +FLAGS.SILENT (\\Deleted)")
    partial = await client.command("b", "UID EXPUNGE 3")
    assert partial[0] == b"* 3 EXPUNGE\r\n"
    rest = await client.command("c", "EXPUNGE")
    assert rest[:2] == [b"* 1 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]  # UIDs 1 then 4
    left = await client.command("d", "UID SEARCH ALL")
    assert left[0] == b"* SEARCH 2\r\n"
    await client.close()


async def test_close_expunges_silently_and_unselect_does_not(imap: ImapWorld) -> None:
    folder = unique("close")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: c\r\n\r\nx\r\n"] * 3)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    await client.command("a", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    unselect = await client.command("u", "UNSELECT")
    assert unselect == [b"u OK UNSELECT completed\r\n"]
    status = await client.command("t", f"STATUS {folder} (MESSAGES DELETED)")
    assert status[0].endswith(b"(MESSAGES 3 DELETED 1)\r\n")
    await client.command("s2", f"SELECT {folder}")
    close = await client.command("c", "CLOSE")
    assert close == [b"c OK CLOSE completed\r\n"]  # RFC 3501 §6.4.2: no EXPUNGE responses
    status = await client.command("t2", f"STATUS {folder} (MESSAGES)")
    assert status[0].endswith(b"(MESSAGES 2)\r\n")
    check = await client.command("k", "CHECK")
    assert check[-1].startswith(b"k BAD")  # CHECK needs a selected mailbox
    await client.close()


async def test_unsubscribe_and_lsub(imap: ImapWorld) -> None:
    folder = unique("sub")
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {folder}")
    await client.command("s0", f"SUBSCRIBE {folder}")
    assert any(folder.encode() in line for line in await client.command("l", 'LSUB "" "*"'))
    await client.command("u", f"UNSUBSCRIBE {folder}")
    assert not any(folder.encode() in line for line in await client.command("m", 'LSUB "" "*"'))
    listed = await client.command("n", f'LIST "" "{folder}" RETURN (SUBSCRIBED)')
    assert b"\\Subscribed" not in listed[0]
    await client.command("s", f"SUBSCRIBE {folder}")
    listed = await client.command("o", f'LIST "" "{folder}" RETURN (SUBSCRIBED)')
    assert b"\\Subscribed" in listed[0]
    await client.close()
