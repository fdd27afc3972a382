"""SELECT/EXAMINE, STATUS, LIST/LSUB, CREATE/DELETE/RENAME, NAMESPACE, QUOTA, ENABLE, ID
(RFC 3501 §6.3, RFC 5258, RFC 5819, RFC 6154, RFC 2342, RFC 9208, RFC 5161, RFC 2971)."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, imapclient_for, put_messages, raw_login, run, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_select_reports_counts_unseen_and_uid_state(imap: ImapWorld) -> None:
    folder = unique("sel")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: a\r\n\r\nx\r\n"],
                       flags=("\\Seen",))
    await put_messages(imap, imap.world.alice, folder, [b"Subject: b\r\n\r\ny\r\n"] * 2)
    client = await raw_login(imap, imap.world.alice)
    reply = b"".join(await client.command("s", f"SELECT {folder} (CONDSTORE)"))
    assert b"* 3 EXISTS" in reply
    assert b"[UNSEEN 2]" in reply
    assert b"[UIDNEXT 4]" in reply
    assert b"[UIDVALIDITY " in reply and b"[HIGHESTMODSEQ " in reply
    assert b"s OK [READ-WRITE]" in reply
    examine = b"".join(await client.command("e", f"EXAMINE {folder}"))
    assert b"e OK [READ-ONLY]" in examine
    await client.close()


async def test_select_of_unknown_folder_leaves_nothing_selected(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    await client.command("a", "SELECT INBOX")
    reply = await client.command("b", "SELECT nowhere")
    assert reply[-1].startswith(b"b NO [NONEXISTENT]")
    after = await client.command("c", "FETCH 1 FLAGS")
    assert after[-1].startswith(b"c BAD")
    await client.close()


async def test_status_items(imap: ImapWorld) -> None:
    folder = unique("status")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: s\r\n\r\n12345\r\n"] * 2)
    client = await run(imapclient_for, imap, imap.world.alice)
    status = await run(client.folder_status, folder,
                       ["MESSAGES", "UNSEEN", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ", "SIZE"])
    assert status[b"MESSAGES"] == 2 and status[b"UNSEEN"] == 2 and status[b"UIDNEXT"] == 3
    assert status[b"SIZE"] == 2 * len(b"Subject: s\r\n\r\n12345\r\n")
    await run(client.logout)


async def test_create_rename_delete_and_list(imap: ImapWorld) -> None:
    base = unique("tree")
    client = await run(imapclient_for, imap, imap.world.alice)
    await run(client.create_folder, f"{base}/Patients/2024")
    names = [name for _, _, name in await run(client.list_folders, "", f"{base}*")]
    assert names == [base, f"{base}/Patients", f"{base}/Patients/2024"]
    flags = {name: f for f, _, name in await run(client.list_folders, "", f"{base}/%")}
    assert b"\\HasChildren" in flags[f"{base}/Patients"]
    await run(client.rename_folder, f"{base}/Patients", f"{base}/Dossiers")
    names = [name for _, _, name in await run(client.list_folders, "", f"{base}*")]
    assert names == [base, f"{base}/Dossiers", f"{base}/Dossiers/2024"]
    with pytest.raises(Exception, match="HASCHILDREN"):
        await run(client.delete_folder, f"{base}/Dossiers")
    await run(client.delete_folder, f"{base}/Dossiers/2024")
    await run(client.delete_folder, f"{base}/Dossiers")
    with pytest.raises(Exception, match="ALREADYEXISTS"):
        await run(client.create_folder, base)
    await run(client.logout)


async def test_unicode_folder_names_travel_in_modified_utf7(imap: ImapWorld) -> None:
    name = unique("Résultats")
    client = await raw_login(imap, imap.world.alice)
    from mss.imap.mutf7 import encode_mailbox_name

    wire = encode_mailbox_name(name).decode()
    assert (await client.command("c", f'CREATE "{wire}"'))[-1].startswith(b"c OK")
    listing = await client.command("l", f'LIST "" "{wire}"')
    assert wire.encode() in listing[0]
    await client.close()


async def test_special_use_and_list_extended(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    special = await client.command("a", 'LIST (SPECIAL-USE) "" "*"')
    text = b"".join(special)
    for attribute in (b"\\Sent", b"\\Drafts", b"\\Trash", b"\\Junk", b"\\Archive"):
        assert attribute in text
    assert b'"INBOX"' not in text and b" INBOX\r\n" not in text
    status = await client.command("b", 'LIST "" "INBOX" RETURN (STATUS (MESSAGES UIDNEXT))')
    assert status[1].startswith(b"* STATUS \"INBOX\" (MESSAGES ")
    delimiter = await client.command("c", 'LIST "" ""')
    assert delimiter[0] == b'* LIST (\\Noselect) "/" ""\r\n'
    lsub = await client.command("d", 'LSUB "" "*"')
    assert any(b"Sent" in line for line in lsub[:-1])
    await client.close()


async def test_namespace_quota_enable_id(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    namespace = await client.command("a", "NAMESPACE")
    assert namespace[0] == b'* NAMESPACE (("" "/")) NIL (("Partag&AOk-/" "/"))\r\n'
    quota = await client.command("b", "GETQUOTAROOT INBOX")
    assert quota[0] == b'* QUOTAROOT "INBOX" ""\r\n' and quota[1].startswith(b'* QUOTA ""')
    enabled = await client.command("c", "ENABLE CONDSTORE")
    assert enabled[0] == b"* ENABLED CONDSTORE\r\n"
    ident = await client.command("d", 'ID ("name" "test")')
    assert ident[0].startswith(b'* ID ("name" "MSS"')
    caps = await client.command("e", "CAPABILITY")
    for capability in (b"IDLE", b"MOVE", b"UIDPLUS", b"CONDSTORE", b"QUOTA", b"ACL",
                       b"NAMESPACE", b"SPECIAL-USE", b"LIST-STATUS", b"BINARY"):
        assert capability in caps[0]
    await client.close()


async def test_append_with_flags_date_and_appenduid(imap: ImapWorld) -> None:
    folder = unique("append")
    client = await run(imapclient_for, imap, imap.world.alice)
    await run(client.create_folder, folder)
    message = b"Subject: appended\r\n\r\nbody\r\n"
    reply = await run(client.append, folder, message, [b"\\Flagged"])
    assert b"[APPENDUID " in reply and reply.split(b"]")[0].endswith(b" 1")
    await run(client.select_folder, folder)
    data = await run(client.fetch, [1], ["FLAGS", "BODY.PEEK[]"])
    assert data[1][b"BODY[]"] == message and b"\\Flagged" in data[1][b"FLAGS"]
    with pytest.raises(Exception, match="TRYCREATE"):
        await run(client.append, unique("missing"), message)
    await run(client.logout)
