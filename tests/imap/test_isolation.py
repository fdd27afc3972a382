"""A user can never name a folder, UID or namespace of a mailbox they have no right to:
every such name is NONEXISTENT (or NOPERM), never data."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_another_users_folder_name_does_not_exist(imap: ImapWorld) -> None:
    folder = unique("private")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: secret\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.bruno)
    for tag, command in (("a", f"SELECT {folder}"), ("b", f"STATUS {folder} (MESSAGES)"),
                         ("c", f"EXAMINE {imap.world.alice}/{folder}"),
                         ("d", f"GETQUOTAROOT {folder}"), ("e", f"DELETE {folder}")):
        reply = await client.command(tag, command)
        assert reply == [reply[-1]] and reply[-1].startswith(tag.encode() + b" NO [NONEXISTENT]")
    await client.close()


async def test_a_uid_of_another_folder_returns_nothing(imap: ImapWorld) -> None:
    folder = unique("mine")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: one\r\n\r\nx\r\n"] * 3)
    client = await raw_login(imap, imap.world.bruno)
    target = unique("empty")
    await client.command("c", f"CREATE {target}")
    await client.command("s", f"SELECT {target}")
    for tag, command in (("a", "UID FETCH 1:3 (BODY.PEEK[])"),
                         ("b", "UID STORE 1:3 +FLAGS (\\Deleted)"),
                         ("d", "UID SEARCH ALL")):
        reply = await client.command(tag, command)
        assert not any(b"FETCH" in line or b"secret" in line for line in reply[:-1])
        assert reply[-1].startswith(tag.encode() + b" OK")
    out_of_range = await client.command("e", "FETCH 1 FLAGS")
    assert out_of_range[-1].startswith(b"e BAD")
    await client.close()


async def test_shared_namespace_of_a_foreign_org_does_not_exist(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.noreply)
    for tag, command in (
        ("a", f'SELECT "Partag&AOk-/{imap.world.cardiology}/INBOX"'),
        ("b", f'STATUS "Partag&AOk-/{imap.world.cardiology}/INBOX" (MESSAGES)'),
        ("c", f'GETQUOTA "Partag&AOk-/{imap.world.cardiology}"'),
        ("d", f'APPEND "Partag&AOk-/{imap.world.cardiology}/INBOX" {{3+}}\r\nabc'),
    ):
        reply = await client.command(tag, command)
        assert reply[-1].startswith(tag.encode() + b" NO [NONEXISTENT]"), reply
    listing = b"".join(await client.command("l", 'LIST "" "*"'))
    assert b"Partag" not in listing and imap.world.cardiology.encode() not in listing
    namespace = await client.command("n", "NAMESPACE")
    assert namespace[0] == b'* NAMESPACE (("" "/")) NIL NIL\r\n'
    await client.close()


async def test_copy_into_a_foreign_mailbox_is_refused(imap: ImapWorld) -> None:
    folder = unique("copy")
    await put_messages(imap, imap.world.noreply, folder, [b"Subject: c\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.noreply)
    await client.command("s", f"SELECT {folder}")
    reply = await client.command("a", f'COPY 1 "Partag&AOk-/{imap.world.cardiology}/INBOX"')
    assert reply[-1].startswith(b"a NO [NONEXISTENT]")
    await client.close()
