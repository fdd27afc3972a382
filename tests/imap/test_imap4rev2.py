"""IMAP4rev2 (RFC 9051) beside IMAP4rev1: advertised, and ``ENABLE IMAP4rev2`` switches
what RFC 9051 changes (no \\Recent, ESEARCH for SEARCH, SELECT's LIST and CLOSED, UTF-8
mailbox names). Raw protocol over TLS."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")
MESSAGE = b"Subject: rev2\r\n\r\nbody\r\n"


async def test_imap4rev2_is_advertised_beside_imap4rev1(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    capabilities = (await client.command("c", "CAPABILITY"))[0].split()
    assert capabilities[2:4] == [b"IMAP4rev1", b"IMAP4rev2"]
    enabled = await client.command("e", "ENABLE imap4rev2")
    assert enabled == [b"* ENABLED IMAP4rev2\r\n", b"e OK ENABLE completed\r\n"]
    await client.close()


async def test_enabled_session_drops_recent_and_answers_search_with_esearch(
        imap: ImapWorld) -> None:
    folder = unique("rev2")
    await put_messages(imap, imap.world.alice, folder, [MESSAGE, MESSAGE], recent=True)
    client = await raw_login(imap, imap.world.alice)
    await client.command("e", "ENABLE IMAP4rev2")
    await client.command("s0", "SELECT INBOX")
    selected = await client.command("s", f"SELECT {folder}")
    assert selected[0] == b"* OK [CLOSED] Previous mailbox closed\r\n"
    assert not any(b"RECENT" in line or b"[UNSEEN" in line for line in selected)
    assert b'* LIST () "/" "' + folder.encode() + b'"\r\n' in selected
    assert not any(b"HIGHESTMODSEQ" in line and b"OK [" not in line for line in selected)
    fetched = await client.command("f", "FETCH 1:2 (FLAGS)")
    assert fetched[:2] == [b"* 1 FETCH (FLAGS ())\r\n", b"* 2 FETCH (FLAGS ())\r\n"]
    searched = await client.command("r", "SEARCH UNSEEN")
    assert searched[0] == b'* ESEARCH (TAG "r") ALL 1:2\r\n'
    uid = await client.command("u", "UID SEARCH SUBJECT nothing")
    assert uid[0] == b'* ESEARCH (TAG "u") UID\r\n'
    # no \Recent taken: an IMAP4rev1 session still sees both messages as recent
    await client.close()
    old = await raw_login(imap, imap.world.alice)
    again = await old.command("s", f"SELECT {folder}")
    assert b"* 2 RECENT\r\n" in again
    assert (await old.command("r", "SEARCH UNSEEN"))[0] == b"* SEARCH 1 2\r\n"
    await old.close()


async def test_mailbox_names_are_utf8_once_enabled(imap: ImapWorld) -> None:
    name = "Résultats-" + unique("é")
    utf8 = name.encode()
    client = await raw_login(imap, imap.world.alice)
    await client.command("e", "ENABLE IMAP4rev2")
    created = await client.command("c", b'CREATE "' + utf8 + b'"')
    assert created[-1].startswith(b"c OK"), created
    listed = await client.command("l", b'LIST "" "' + utf8 + b'"')
    assert listed[0] == b'* LIST (\\HasNoChildren) "/" {%d}\r\n' % len(utf8) + utf8 + b"\r\n"
    status = await client.command("t", b'STATUS "' + utf8 + b'" (MESSAGES)')
    assert status[0] == b"* STATUS {%d}\r\n" % len(utf8) + utf8 + b" (MESSAGES 0)\r\n"
    child = await client.command("k", b'CREATE "' + utf8 + b'/a"')
    assert child[-1].startswith(b"k OK")
    await client.close()
    old = await raw_login(imap, imap.world.alice)
    mutf7 = await old.command("l", b'LIST "" "R&AOk-sultats-*"')
    assert mutf7[0].startswith(b'* LIST (\\HasChildren) "/" "R&AOk-sultats-')
    eight_bit = await old.command("m", b'CREATE "' + utf8 + b'x"')
    assert eight_bit[-1] == b"m NO Mailbox name is not valid mUTF-7\r\n"
    await old.close()


async def test_enable_imap4rev2_does_not_enable_condstore(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", "SELECT INBOX")
    enabled = await client.command("e", "ENABLE IMAP4rev2")
    assert not any(b"HIGHESTMODSEQ" in line for line in enabled)
    await client.close()


async def test_a_name_not_in_nfc_is_stored_normalised_and_named_back_with_oldname(
        imap: ImapWorld) -> None:
    """RFC 9051 §6.3.4-6.3.6: "é" sent as "e" + U+0301 (what macOS clients send) is the
    folder "é"; a UTF-8 session hears of it in a LIST with OLDNAME, on CREATE, RENAME and
    DELETE, and every other command finds the folder by either form."""
    tail = unique("x")
    decomposed = f"Re\u0301sultats-{tail}".encode()
    composed = f"R\u00e9sultats-{tail}".encode()
    client = await raw_login(imap, imap.world.alice)
    await client.command("e", "ENABLE IMAP4rev2")
    created = await client.command("c", b'CREATE "' + decomposed + b'"')
    assert created[0] == (b'* LIST () "/" {%d}\r\n' % len(composed) + composed
                          + b' ("OLDNAME" ({%d}\r\n' % len(decomposed) + decomposed + b"))\r\n")
    assert created[-1].startswith(b"c OK")
    listed = await client.command("l", b'LIST "" "' + decomposed + b'"')
    assert listed[0] == (b'* LIST (\\HasNoChildren) "/" {%d}\r\n' % len(composed)
                         + composed + b"\r\n")
    assert (await client.command("s", b'SELECT "' + decomposed + b'"'))[-1].startswith(b"s OK")
    await client.command("u", "UNSELECT")
    again = await client.command("d", b'CREATE "' + composed + b'"')
    assert again[-1].startswith(b"d NO [ALREADYEXISTS]"), again
    renamed_to = f"Bilan-e\u0301-{tail}".encode()
    renamed_nfc = f"Bilan-\u00e9-{tail}".encode()
    renamed = await client.command("r", b'RENAME "' + composed + b'" "' + renamed_to + b'"')
    assert renamed[0] == (b'* LIST () "/" {%d}\r\n' % len(renamed_nfc) + renamed_nfc
                          + b' ("OLDNAME" ({%d}\r\n' % len(renamed_to) + renamed_to + b"))\r\n")
    await client.close()
    # an IMAP4rev1 session: the mUTF-7 of the decomposed form finds the same folder, and
    # no LIST line comes with the reply
    old = await raw_login(imap, imap.world.alice)
    status = await old.command("t", f'STATUS "Bilan-e&AwE--{tail}" (MESSAGES)'.encode())
    assert status[0] == f'* STATUS "Bilan-&AOk--{tail}" (MESSAGES 0)\r\n'.encode(), status
    deleted = await old.command("x", f'DELETE "Bilan-e&AwE--{tail}"'.encode())
    assert deleted == [b"x OK DELETE completed\r\n"]
    gone = await old.command("g", f'LIST "" "Bilan-*{tail}"'.encode())
    assert gone == [b"g OK LIST completed\r\n"]
    await old.close()


async def test_delete_by_a_decomposed_name_answers_nonexistent_with_oldname(
        imap: ImapWorld) -> None:
    tail = unique("y")
    decomposed = f"Archive-e\u0301-{tail}".encode()
    composed = f"Archive-\u00e9-{tail}".encode()
    client = await raw_login(imap, imap.world.alice)
    await client.command("e", "ENABLE IMAP4rev2")
    await client.command("c", b'CREATE "' + composed + b'"')
    deleted = await client.command("d", b'DELETE "' + decomposed + b'"')
    assert deleted == [b'* LIST (\\NonExistent) "/" {%d}\r\n' % len(composed) + composed
                       + b' ("OLDNAME" ({%d}\r\n' % len(decomposed) + decomposed + b"))\r\n",
                       b"d OK DELETE completed\r\n"]
    await client.close()
