"""SORT, ESORT and THREAD (RFC 5256, RFC 5267) with imapclient and raw protocol."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, imapclient_for, put_messages, raw_login, run, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _message(sender: str, subject: str, date: str | None, body: str = "x") -> bytes:
    head = f"From: <{sender}>\r\nTo: <dest@example.org>\r\nSubject: {subject}\r\n"
    if date:
        head += f"Date: {date}\r\n"
    return (head + f"\r\n{body}\r\n").encode()


SORTED = [
    _message("zed@example.org", "Re: banana", "Mon, 01 Jan 2024 10:00:00 +0000", "y" * 300),
    _message("bob@example.org", "apple", "Wed, 03 Jan 2024 10:00:00 +0000", "y" * 10),
    _message("Amy@example.org", "[list] Cherry (fwd)", "Tue, 02 Jan 2024 09:00:00 -0300"),
    _message("carl@example.org", "APPLE", None, "y" * 100),  # no Date: the arrival date
]


async def test_sort_orders_by_each_key_and_breaks_ties_by_sequence(imap: ImapWorld) -> None:
    folder = unique("sort")
    uids = await put_messages(imap, imap.world.alice, folder, SORTED)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    expected = {
        "(SUBJECT)": b"2 4 1 3", "(FROM)": b"3 2 4 1", "(REVERSE DATE)": b"4 2 3 1",
        "(DATE)": b"1 3 2 4", "(SIZE)": b"2 3 4 1", "(REVERSE SIZE)": b"1 4 3 2",
        "(ARRIVAL)": b"1 2 3 4", "(TO SUBJECT)": b"2 4 1 3", "(CC REVERSE FROM)": b"1 4 2 3",
    }
    for position, (criteria, numbers) in enumerate(expected.items()):
        reply = await client.command(f"a{position}", f"SORT {criteria} UTF-8 ALL")
        assert reply == [b"* SORT " + numbers + b"\r\n", f"a{position} OK SORT completed\r\n"
                         .encode()], criteria
    searched = await client.command("b", "SORT (DATE) UTF-8 SUBJECT apple")
    assert searched[0] == b"* SORT 2 4\r\n"
    by_uid = await client.command("c", "UID SORT (FROM) UTF-8 ALL")
    assert by_uid[0] == b"* SORT " + b" ".join(b"%d" % uids[i] for i in (2, 1, 3, 0)) + b"\r\n"
    esort = await client.command("d", "SORT RETURN (MIN MAX COUNT ALL) (FROM) UTF-8 ALL")
    assert esort[0] == b'* ESEARCH (TAG "d") MIN 3 MAX 1 ALL 3,2,4,1 COUNT 4\r\n'
    empty = await client.command("e", "SORT RETURN (MIN COUNT) (FROM) UTF-8 SUBJECT nothing")
    assert empty[0] == b'* ESEARCH (TAG "e") COUNT 0\r\n'
    bad = await client.command("f", "SORT (COLOUR) UTF-8 ALL")
    assert bad[-1].startswith(b"f BAD")
    charset = await client.command("g", "SORT (DATE) KOI8-R ALL")
    assert charset[-1].startswith(b"g NO [BADCHARSET")
    await client.close()


async def test_sort_with_imapclient(imap: ImapWorld) -> None:
    folder = unique("sortic")
    uids = await put_messages(imap, imap.world.alice, folder, SORTED)
    client = await run(imapclient_for, imap, imap.world.alice)
    assert b"SORT" in await run(client.capabilities)
    await run(client.select_folder, folder, True)
    ordered = await run(client.sort, ["SUBJECT"], "ALL", "UTF-8")
    assert ordered == [uids[1], uids[3], uids[0], uids[2]]
    await run(client.logout)


THREADED = [
    b"Message-ID: <a@x>\r\nSubject: plan\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
    b"Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: Re: plan\r\n"
    b"Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
    b"Message-ID: <c@x>\r\nIn-Reply-To: <a@x>\r\nSubject: Re: plan\r\n"
    b"Date: Wed, 03 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
    b"Message-ID: <d@x>\r\nSubject: other\r\nDate: Thu, 04 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
    b"Message-ID: <e@x>\r\nReferences: <a@x>\r\n <b@x>\r\nSubject: RE: Plan\r\n"
    b"Date: Fri, 05 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
    b"Message-ID: <f@x>\r\nSubject: Re: other\r\n"
    b"Date: Sat, 06 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
    b"Message-ID: <g@x>\r\nReferences: <missing@x>\r\nSubject: lost parent\r\n"
    b"Date: Sun, 07 Jan 2024 10:00:00 +0000\r\n\r\n.\r\n",
]


async def test_thread_references_and_orderedsubject(imap: ImapWorld) -> None:
    folder = unique("thread")
    uids = await put_messages(imap, imap.world.alice, folder, THREADED)
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    references = await client.command("a", "THREAD REFERENCES UTF-8 ALL")
    assert references[0] == b"* THREAD (1 (2 5)(3))(4 6)(7)\r\n"
    ordered = await client.command("b", "THREAD ORDEREDSUBJECT UTF-8 ALL")
    assert ordered[0] == b"* THREAD (1 (2)(3)(5))(4 6)(7)\r\n"
    searched = await client.command("c", "THREAD REFERENCES UTF-8 NOT SUBJECT other")
    assert searched[0] == b"* THREAD (1 (2 5)(3))(7)\r\n"
    by_uid = await client.command("d", "UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT other")
    assert by_uid[0] == b"* THREAD (%d %d)\r\n" % (uids[3], uids[5])
    nothing = await client.command("e", "THREAD REFERENCES UTF-8 SUBJECT absent")
    assert nothing[0] == b"* THREAD\r\n"
    unknown = await client.command("f", "THREAD SOMETHING UTF-8 ALL")
    assert unknown[-1].startswith(b"f BAD")
    await client.close()


async def test_thread_with_imapclient(imap: ImapWorld) -> None:
    folder = unique("threadic")
    uids = await put_messages(imap, imap.world.alice, folder, THREADED)
    client = await run(imapclient_for, imap, imap.world.alice)
    capabilities = await run(client.capabilities)
    assert b"THREAD=REFERENCES" in capabilities and b"THREAD=ORDEREDSUBJECT" in capabilities
    await run(client.select_folder, folder, True)
    threads = await run(client.thread, "REFERENCES", "ALL", "UTF-8")
    assert threads == (
        (uids[0], (uids[1], uids[4]), (uids[2],)), (uids[3], uids[5]), (uids[6],),
    )
    await run(client.logout)


async def test_sort_all_lists_only_the_messages_the_client_was_told_of(
        imap: ImapWorld) -> None:
    """SORT ... ALL reads the folder's order from its index and keeps the messages the
    session knows: one appended meanwhile by another session is left out until its
    EXISTS (sent after the SORT response); one expunged by it is no longer sorted,
    though its EXPUNGE waits for a command that allows it (RFC 3501 §7.4.1)."""
    folder = unique("sortview")
    await put_messages(imap, imap.world.alice, folder, SORTED)
    client = await raw_login(imap, imap.world.alice)
    other = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    await other.command("o", f"SELECT {folder}")
    await other.command("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    await other.command("x", "EXPUNGE")
    late = _message("aaron@example.org", "first by sender", None)
    await other.send(f"a APPEND {folder} {{{len(late)}+}}\r\n".encode() + late + b"\r\n")
    assert (await other.until("a"))[-1].startswith(b"a OK")
    reply = await client.command("f", "SORT (FROM) UTF-8 ALL")
    assert reply[0] == b"* SORT 3 4 1\r\n"  # Amy, carl, zed: bob's is gone, aaron's unknown
    assert b"* 5 EXISTS\r\n" in reply and not any(b"EXPUNGE" in line for line in reply)
    told = await client.command("g", "SORT (FROM) UTF-8 ALL")
    assert told[0] == b"* SORT 5 3 4 1\r\n"
    assert b"* 2 EXPUNGE\r\n" in await client.command("n", "NOOP")
    assert (await client.command("h", "SORT (FROM) UTF-8 ALL"))[0] == b"* SORT 4 2 3 1\r\n"
    await client.close()
    await other.close()
