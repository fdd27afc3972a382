"""Organisational mailboxes: the shared namespace, per-member \\Seen, rights from
membership (DESIGN §3, RFC 2342, RFC 4314)."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


def shared(imap: ImapWorld, folder: str = "INBOX") -> str:
    return f'"Partag&AOk-/{imap.world.cardiology}/{folder}"'


async def test_members_see_the_org_under_the_shared_namespace(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.bruno)
    listing = b"".join(await client.command("l", 'LIST "" "*"'))
    assert b'(\\Noselect \\HasChildren) "/" "Partag&AOk-"' in listing
    assert shared(imap).encode() in listing
    reply = await client.command("s", f"SELECT {shared(imap)}")
    assert reply[-1].startswith(b"s OK [READ-WRITE]")
    await client.close()


async def test_each_member_keeps_their_own_seen(imap: ImapWorld) -> None:
    subject = unique("org")
    await imap.deliver([imap.world.cardiology], subject=subject, sender=imap.world.alice)
    alice = await raw_login(imap, imap.world.alice)
    bruno = await raw_login(imap, imap.world.bruno)
    for client in (alice, bruno):
        await client.command("s", f"SELECT {shared(imap)}")
    found = await alice.command("f", f"UID SEARCH SUBJECT {subject}")
    uid = int(found[0].split()[-1])
    read = await alice.command("r", f"UID FETCH {uid} BODY[]")
    assert b"\\Seen" in read[0]
    mine = await alice.command("a", f"UID FETCH {uid} FLAGS")
    theirs = await bruno.command("b", f"UID FETCH {uid} FLAGS")
    assert b"\\Seen" in mine[0]
    assert b"\\Seen" not in theirs[0]
    unseen = await bruno.command("u", f"STATUS {shared(imap)} (UNSEEN)")
    assert not unseen[0].endswith(b"(UNSEEN 0)\r\n")
    await alice.close()
    await bruno.close()


async def test_read_only_member_may_mark_seen_but_not_delete(imap: ImapWorld) -> None:
    await imap.deliver([imap.world.cardiology], subject=unique("ro"))
    client = await raw_login(imap, imap.world.bruno)
    await client.command("s", f"SELECT {shared(imap)}")
    seen = await client.command("a", "STORE 1 +FLAGS (\\Seen)")
    assert seen[-1].startswith(b"a OK")
    delete = await client.command("b", "STORE 1 +FLAGS (\\Deleted)")
    assert delete[-1].startswith(b"b NO [NOPERM]")
    expunge = await client.command("c", "EXPUNGE")
    assert expunge[-1].startswith(b"c NO [NOPERM]")
    rights = await client.command("d", f"MYRIGHTS {shared(imap)}")
    assert rights[0].endswith(b" lrs\r\n")
    acl = await client.command("e", f"GETACL {shared(imap)}")
    assert acl[-1].startswith(b"e NO [NOPERM]")
    create = await client.command("f", f"CREATE {shared(imap, unique('x'))}")
    assert create[-1].startswith(b"f NO [NOPERM]")
    await client.close()


async def test_managing_member_reads_the_acl(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    acl = await client.command("a", f"GETACL {shared(imap)}")
    assert imap.world.alice_rpps.encode() in acl[0] and imap.world.bruno_rpps.encode() in acl[0]
    assert b'"' + imap.world.bruno_rpps.encode() + b'" lrs' in acl[0]
    rights = await client.command("b", f"LISTRIGHTS {shared(imap)} someone")
    assert rights[-1].startswith(b"b OK")
    setacl = await client.command("c", f"SETACL {shared(imap)} someone lr")
    assert setacl[-1].startswith(b"c NO [NOPERM]")
    await client.close()


async def test_quota_root_of_a_shared_mailbox(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    reply = await client.command("q", f"GETQUOTAROOT {shared(imap)}")
    root = f'"Partag&AOk-/{imap.world.cardiology}"'.encode()
    assert reply[0].endswith(b" " + root + b"\r\n")
    assert reply[1].startswith(b"* QUOTA " + root)
    await client.close()
