"""IDLE (RFC 2177) fed by the store's change events: a message delivered through the
pipeline, flags changed and messages expunged by another session reach the idler."""

from __future__ import annotations

import asyncio

import aioimaplib
import pytest

from tests.imap.conftest import HOST, ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def wait_push(client: aioimaplib.IMAP4_SSL, wanted: bytes) -> list[bytes]:
    """Server pushes until one holds `wanted` (bounded by the protocol timeout)."""
    seen: list[bytes] = []
    while True:
        pushed = await asyncio.wait_for(client.wait_server_push(), 10)
        lines = pushed if isinstance(pushed, list) else [pushed]
        seen.extend(line if isinstance(line, bytes) else str(line).encode() for line in lines)
        if any(wanted in line for line in seen):
            return seen


async def test_idle_sees_a_message_delivered_through_the_pipeline(imap: ImapWorld) -> None:
    client = aioimaplib.IMAP4_SSL(HOST, imap.tls_port, ssl_context=imap.client_context())
    await client.wait_hello_from_server()
    await client.login(imap.world.bruno, imap.world.password)
    selected = await client.select("INBOX")
    exists = next(int(line.split()[0]) for line in selected.lines if line.endswith(b"EXISTS"))
    idle = await client.idle_start(timeout=60)
    await imap.deliver([imap.world.bruno], subject=unique("idle"))
    pushed = await wait_push(client, b"EXISTS")
    assert b"%d EXISTS" % (exists + 1) in b" ".join(pushed)
    client.idle_done()
    await asyncio.wait_for(idle, 10)
    await client.logout()


async def test_idle_sees_flags_and_expunge_from_another_session(imap: ImapWorld) -> None:
    folder = unique("idle")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: i\r\n\r\nx\r\n"] * 3)
    idler = await raw_login(imap, imap.world.alice)
    await idler.command("s", f"SELECT {folder}")
    await idler.send(b"i IDLE\r\n")
    assert (await idler.response()).startswith(b"+ ")
    other = await raw_login(imap, imap.world.alice)
    await other.command("s", f"SELECT {folder}")
    await other.command("a", "STORE 2 +FLAGS (\\Flagged)")
    assert await idler.response() == b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n"
    await other.command("b", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert await idler.response() == b"* 1 FETCH (UID 1 FLAGS (\\Deleted))\r\n"
    await other.command("c", "EXPUNGE")
    assert await idler.response() == b"* 1 EXPUNGE\r\n"
    await idler.send(b"DONE\r\n")
    assert (await idler.response()).startswith(b"i OK")
    await idler.close()
    await other.close()


async def test_expunge_is_held_back_during_fetch_and_sent_after_noop(imap: ImapWorld) -> None:
    folder = unique("held")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: h\r\n\r\nx\r\n"] * 2,
                       flags=("\\Deleted",))
    reader = await raw_login(imap, imap.world.alice)
    await reader.command("s", f"SELECT {folder}")
    other = await raw_login(imap, imap.world.alice)
    await other.command("s", f"SELECT {folder}")
    await other.command("x", "EXPUNGE")
    during = await reader.command("f", "FETCH 1:2 UID")
    assert not any(b"EXPUNGE" in line for line in during)  # RFC 3501 §7.4.1
    after = await reader.command("n", "NOOP")
    assert after[:2] == [b"* 1 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"]
    await reader.close()
    await other.close()


async def test_bad_line_during_idle_ends_it(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", "SELECT INBOX")
    await client.send(b"i IDLE\r\n")
    assert (await client.response()).startswith(b"+ ")
    await client.send(b"NOT DONE\r\n")
    assert (await client.response()).startswith(b"i BAD")
    assert (await client.command("n", "NOOP"))[-1].startswith(b"n OK")
    await client.close()
