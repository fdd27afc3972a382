"""SAVEDATE (RFC 8514): FETCH SAVEDATE and SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE/
SAVEDATESUPPORTED; the save date is when the message was put in the folder (APPEND,
COPY, MOVE), the internal date stays the message's. Raw protocol over TLS; the store's
clock is the test's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")
MESSAGE = b"Subject: saved\r\n\r\nbody\r\n"


def _internal(moment: datetime) -> bytes:
    """RFC 3501 date-time as the server writes it (day padded with a space)."""
    return f"{moment.day:2d}-{moment:%b-%Y %H:%M:%S} +0000".encode()


def _dates(line: bytes) -> tuple[bytes, bytes]:
    match = re.search(rb'INTERNALDATE "([^"]+)" SAVEDATE "([^"]+)"', line)
    assert match is not None, line
    return match[1], match[2]


async def test_save_dates_of_delivered_appended_and_copied_messages(imap: ImapWorld) -> None:
    folder, target = unique("saved"), unique("saved-to")
    now = imap.clock.now()
    stamp = _internal(now)
    await put_messages(imap, imap.world.alice, folder, [MESSAGE])
    client = await raw_login(imap, imap.world.alice)
    assert b"SAVEDATE" in (await client.command("c", "CAPABILITY"))[0].split()
    await client.command("c2", f"CREATE {target}")
    await client.send(b"a APPEND " + folder.encode() + b' "01-Feb-2020 10:00:00 +0100" {%d+}\r\n'
                      % len(MESSAGE) + MESSAGE + b"\r\n")
    assert (await client.until("a"))[-1].startswith(b"a OK")
    await client.command("s", f"SELECT {folder}")
    fetched = await client.command("f", "FETCH 1:2 (INTERNALDATE SAVEDATE)")
    assert _dates(fetched[0]) == (stamp, stamp)  # delivered: saved when it arrived
    assert _dates(fetched[1]) == (b" 1-Feb-2020 09:00:00 +0000", stamp)

    imap.clock.advance(timedelta(days=3))
    later = _internal(now + timedelta(days=3))
    await client.command("p", f"COPY 2 {target}")
    await client.command("m", f"MOVE 1 {target}")
    await client.command("t", f"EXAMINE {target}")
    copied = await client.command("f2", "FETCH 1:2 (INTERNALDATE SAVEDATE)")
    assert _dates(copied[0]) == (b" 1-Feb-2020 09:00:00 +0000", later)
    assert _dates(copied[1]) == (stamp, later)

    day = lambda d: d.strftime("%d-%b-%Y")  # noqa: E731
    assert (await client.command("a1", f"SEARCH SAVEDON {day(now + timedelta(days=3))}"))[0] \
        == b"* SEARCH 1 2\r\n"
    assert (await client.command("a2", f"SEARCH SAVEDBEFORE {day(now + timedelta(days=3))}"))[0] \
        == b"* SEARCH\r\n"
    assert (await client.command("a3", f"SEARCH SAVEDSINCE {day(now)} BEFORE 2-Feb-2020"))[0] \
        == b"* SEARCH 1\r\n"
    assert (await client.command("a4", "SEARCH SAVEDATESUPPORTED"))[0] == b"* SEARCH 1 2\r\n"
    await client.close()
