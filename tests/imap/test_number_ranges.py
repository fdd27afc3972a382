"""Sequence numbers and UIDs are 32-bit `nz-number`s (RFC 3501 §9, §2.3.1.1): a set naming
4294967296 or more is a BAD, on every command that takes one, and changes nothing."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_numbers_beyond_32_bits_are_bad(imap: ImapWorld) -> None:
    folder = unique("range")
    await put_messages(imap, imap.world.alice, folder, [b"Subject: a\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.alice)
    assert (await client.command("s", f"SELECT {folder}"))[-1].startswith(b"s OK")
    in_range = await client.command("a", "UID FETCH 4294967295 (FLAGS)")
    assert in_range[-1].startswith(b"a OK")
    commands = ["UID FETCH 4294967296 (FLAGS)", "UID FETCH 1:4294967296 (FLAGS)",
                "FETCH 4294967296 (FLAGS)", "UID STORE 4294967296 +FLAGS (\\Seen)",
                "UID SEARCH UID 4294967296", "SEARCH 99999999999999999999",
                "UID COPY 18446744073709551616 INBOX", "UID FETCH 9223372036854775808 FLAGS"]
    for number, command in enumerate(commands):
        reply = await client.command(f"b{number}", command)
        assert reply[-1].startswith(f"b{number} BAD".encode()), (command, reply)
    flags = await client.command("c", "FETCH 1 (FLAGS)")
    assert b"\\Seen" not in b"".join(flags)
    await client.close()
