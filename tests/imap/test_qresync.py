"""QRESYNC (RFC 7162 §3.2): resynchronising SELECT, VANISHED instead of EXPUNGE,
UID FETCH (CHANGEDSINCE n VANISHED), the CLOSED response code."""

from __future__ import annotations

import imaplib
import re

import pytest

from tests.imap.conftest import (
    HOST,
    ImapWorld,
    RawClient,
    imapclient_for,
    put_messages,
    raw_login,
    run,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def number_after(lines: list[bytes], name: bytes) -> int:
    for line in lines:
        found = re.search(name + rb" (\d+)", line)
        if found:
            return int(found.group(1))
    raise AssertionError(f"{name!r} not in {lines!r}")


async def qresync_client(imap: ImapWorld) -> RawClient:
    client = await raw_login(imap, imap.world.alice)
    assert (await client.command("e", "ENABLE QRESYNC"))[0] == b"* ENABLED QRESYNC\r\n"
    return client


async def changed_elsewhere(imap: ImapWorld, folder: str) -> None:
    """Another client (imapclient) flags UID 2 and expunges UIDs 3 and 5."""
    other = await run(imapclient_for, imap, imap.world.alice)
    await run(other.select_folder, folder)
    await run(other.add_flags, [2], ["\\Flagged"])
    await run(other.add_flags, [3, 5], ["\\Deleted"])
    await run(other.expunge)
    await run(other.logout)


async def test_capability_and_enable(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    capability = await client.command("c", "CAPABILITY")
    assert b" QRESYNC" in capability[0] and b" CONDSTORE" in capability[0]
    assert await client.command("e", "ENABLE QRESYNC") == [
        b"* ENABLED QRESYNC\r\n", b"e OK ENABLE completed\r\n"]
    await client.close()


async def test_qresync_select_needs_enable(imap: ImapWorld) -> None:
    folder = unique("qrneed")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: q\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.alice)
    reply = await client.command("s", f"SELECT {folder} (QRESYNC (1 1))")
    assert reply[-1].startswith(b"s BAD [CLIENTBUG]")
    await client.close()


async def test_select_reports_what_changed_since_the_clients_modseq(imap: ImapWorld) -> None:
    folder = unique("qrsel")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: q\r\n\r\nx\r\n"] * 5)
    client = await qresync_client(imap)
    first = await client.command("s", f"SELECT {folder}")
    uidvalidity = number_after(first, b"UIDVALIDITY")
    modseq = number_after(first, b"HIGHESTMODSEQ")
    await client.command("u", "UNSELECT")

    await changed_elsewhere(imap, folder)

    reply = await client.command("s", f"SELECT {folder} (QRESYNC ({uidvalidity} {modseq} 1:5))")
    assert b"* VANISHED (EARLIER) 3,5\r\n" in reply
    fetches = [line for line in reply if b" FETCH " in line]
    assert len(fetches) == 1
    assert re.fullmatch(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\n",
                        fetches[0])
    assert b"* 3 EXISTS\r\n" in reply
    assert reply[-1].startswith(b"s OK [READ-WRITE]")

    # known UIDs restrict both parts; a stale UIDVALIDITY gets a plain SELECT
    narrow = await client.command("n", f"SELECT {folder} (QRESYNC ({uidvalidity} {modseq} 1,3))")
    assert b"* VANISHED (EARLIER) 3\r\n" in narrow
    assert not any(b" FETCH " in line for line in narrow)
    stale = await client.command("t", f"SELECT {folder} (QRESYNC ({uidvalidity + 1} {modseq}))")
    assert not any(b"VANISHED" in line or b" FETCH " in line for line in stale)
    await client.close()


async def test_select_with_sequence_match_data_is_accepted(imap: ImapWorld) -> None:
    folder = unique("qrseq")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: q\r\n\r\nx\r\n"] * 2)
    client = await qresync_client(imap)
    first = await client.command("s", f"SELECT {folder}")
    uidvalidity = number_after(first, b"UIDVALIDITY")
    reply = await client.command(
        "r", f"SELECT {folder} (QRESYNC ({uidvalidity} 1 1:2 (1:2 1:2)))")
    assert reply[-1].startswith(b"r OK")
    assert b"* OK [CLOSED] Previous mailbox closed\r\n" in reply  # RFC 7162 §3.2.11
    await client.close()


async def test_vanished_replaces_expunge_once_enabled(imap: ImapWorld) -> None:
    folder = unique("qrvan")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: q\r\n\r\nx\r\n"] * 4)
    client = await qresync_client(imap)
    await client.command("s", f"SELECT {folder}")
    await client.command("a", "STORE 1,2 +FLAGS.SILENT (\\Deleted)")
    assert await client.command("x", "EXPUNGE") == [b"* VANISHED 1:2\r\n",
                                                    b"x OK EXPUNGE completed\r\n"]
    other = await run(imapclient_for, imap, imap.world.alice)
    await run(other.select_folder, folder)
    await run(other.delete_messages, [4])
    await run(other.expunge)
    await run(other.logout)
    assert await client.command("n", "NOOP") == [b"* VANISHED 4\r\n", b"n OK NOOP completed\r\n"]
    assert await client.command("f", "FETCH 1 UID") == [b"* 1 FETCH (UID 3)\r\n",
                                                        b"f OK FETCH completed\r\n"]
    await client.close()


async def test_uid_fetch_vanished_modifier(imap: ImapWorld) -> None:
    folder = unique("qrfetch")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: q\r\n\r\nx\r\n"] * 5)
    client = await qresync_client(imap)
    modseq = number_after(await client.command("s", f"SELECT {folder}"), b"HIGHESTMODSEQ")
    await changed_elsewhere(imap, folder)
    await client.command("n", "NOOP")  # takes the expunges in
    reply = await client.command("f", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert reply[0] == b"* VANISHED (EARLIER) 3,5\r\n"
    assert re.fullmatch(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\n", reply[1])
    assert reply[2] == b"f OK FETCH completed\r\n"
    await client.close()

    plain = await raw_login(imap, imap.world.alice)
    await plain.command("s", f"SELECT {folder}")
    refused = await plain.command("f", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert refused[-1].startswith(b"f BAD")
    await plain.close()


def _imaplib_resync(imap: ImapWorld, folder: str, uidvalidity: int, modseq: int) -> list[bytes]:
    client = imaplib.IMAP4_SSL(HOST, imap.tls_port, ssl_context=imap.client_context())
    try:
        client.login(imap.world.alice, imap.world.password)
        client.enable("QRESYNC")
        typ, _ = client._simple_command(  # type: ignore[attr-defined]
            "SELECT", folder, f"(QRESYNC ({uidvalidity} {modseq}))")
        assert typ == "OK"
        return list(client.untagged_responses.get("VANISHED", []))
    finally:
        client.logout()


async def test_imaplib_reads_the_vanished_response(imap: ImapWorld) -> None:
    folder = unique("qrlib")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: q\r\n\r\nx\r\n"] * 5)
    client = await raw_login(imap, imap.world.alice)
    first = await client.command("s", f"EXAMINE {folder}")
    await client.close()
    await changed_elsewhere(imap, folder)
    vanished = await run(_imaplib_resync, imap, folder, number_after(first, b"UIDVALIDITY"),
                         number_after(first, b"HIGHESTMODSEQ"))
    assert vanished == [b"(EARLIER) 3,5"]
