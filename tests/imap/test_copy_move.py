"""COPY / MOVE with COPYUID (RFC 3501 §6.4.7, RFC 6851, RFC 4315)."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, imapclient_for, put_messages, raw_login, run, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_copy_keeps_flags_and_reports_copyuid(imap: ImapWorld) -> None:
    source, target = unique("src"), unique("dst")
    await put_messages(imap, imap.world.alice, source, [b"Subject: c\r\n\r\nx\r\n"] * 3,
                       flags=("\\Flagged",))
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {target}")
    await client.command("s", f"SELECT {source}")
    reply = await client.command("a", f"COPY 2:3 {target}")
    assert reply[-1].startswith(b"a OK [COPYUID ") and reply[-1].split(b"] ")[0].endswith(
        b" 2:3 1:2")
    missing = await client.command("b", f"COPY 1 {unique('none')}")
    assert missing[-1].startswith(b"b NO [TRYCREATE]")
    status = await client.command("t", f"STATUS {target} (MESSAGES)")
    assert status[0].endswith(b"(MESSAGES 2)\r\n")
    await client.close()


async def test_move_expunges_in_the_source(imap: ImapWorld) -> None:
    source, target = unique("msrc"), unique("mdst")
    await put_messages(imap, imap.world.alice, source, [b"Subject: m\r\n\r\nx\r\n"] * 3)
    client = await run(imapclient_for, imap, imap.world.alice)
    await run(client.create_folder, target)
    await run(client.select_folder, source)
    await run(client.move, [1, 3], target)
    assert await run(client.search, "ALL") == [2]
    await run(client.select_folder, target)
    assert await run(client.search, "ALL") == [1, 2]
    await run(client.logout)


async def test_uid_move_reports_expunge_and_copyuid(imap: ImapWorld) -> None:
    source, target = unique("usrc"), unique("udst")
    await put_messages(imap, imap.world.alice, source, [b"Subject: u\r\n\r\nx\r\n"] * 2)
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {target}")
    await client.command("s", f"SELECT {source}")
    reply = await client.command("m", f"UID MOVE 2 {target}")
    assert reply[0].startswith(b"* OK [COPYUID ")
    assert reply[1] == b"* 2 EXPUNGE\r\n"
    assert reply[-1].startswith(b"m OK")
    await client.close()
