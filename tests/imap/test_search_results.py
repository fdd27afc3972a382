"""SEARCHRES (RFC 5182), CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4: UPDATE,
CANCELUPDATE, PARTIAL), raw protocol over TLS."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _messages(count: int) -> list[bytes]:
    return [f"Subject: m{n}\r\nFrom: <a{n}@example>\r\n\r\nbody {n}\r\n".encode()
            for n in range(1, count + 1)]


async def test_capabilities_name_searchres_and_contexts(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    capabilities = (await client.command("c", "CAPABILITY"))[0].split()
    for name in (b"SEARCHRES", b"CONTEXT=SEARCH", b"CONTEXT=SORT", b"IMAP4rev2", b"ESEARCH"):
        assert name in capabilities
    await client.close()


async def test_saved_result_is_used_by_fetch_store_copy_and_search(imap: ImapWorld) -> None:
    folder, target = unique("res"), unique("res-to")
    uids = await put_messages(imap, imap.world.alice, folder, _messages(5))
    client = await raw_login(imap, imap.world.alice)
    await client.command("c", f"CREATE {target}")
    await client.command("s", f"SELECT {folder}")
    silent = await client.command("a", "UID SEARCH RETURN (SAVE) OR SUBJECT m2 SUBJECT m4")
    assert silent == [b"a OK SEARCH completed\r\n"]  # RFC 5182 §2.4: no ESEARCH
    fetched = await client.command("f", "FETCH $ (UID)")
    assert fetched[:-1] == [b"* 2 FETCH (UID %d)\r\n" % uids[1],
                            b"* 4 FETCH (UID %d)\r\n" % uids[3]]
    stored = await client.command("t", "UID STORE $ +FLAGS.SILENT (\\Flagged)")
    assert stored[-1].startswith(b"t OK")
    flagged = await client.command("g", "SEARCH FLAGGED")
    assert flagged[0] == b"* SEARCH 2 4\r\n"
    narrowed = await client.command("n", "SEARCH $ SUBJECT m4")
    assert narrowed[0] == b"* SEARCH 4\r\n"
    copied = await client.command("p", f"UID COPY $ {target}")
    assert copied[-1].startswith(b"p OK [COPYUID ")
    # MIN alone saves only the first match, and ESEARCH still answers
    minimum = await client.command("m", "SEARCH RETURN (SAVE MIN) ALL")
    assert minimum[0] == b'* ESEARCH (TAG "m") MIN 1\r\n'
    assert (await client.command("u", "FETCH $ (UID)"))[0] == b"* 1 FETCH (UID %d)\r\n" % uids[0]
    # an expunged message leaves the saved result
    await client.command("a2", "SEARCH RETURN (SAVE) OR SUBJECT m1 SUBJECT m3")
    await client.command("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    await client.command("x", "EXPUNGE")
    assert (await client.command("v", "FETCH $ (UID)"))[:-1] == [
        b"* 2 FETCH (UID %d)\r\n" % uids[2]]
    nothing = await client.command("b", "SEARCH RETURN (SAVE) SUBJECT nowhere")
    assert nothing == [b"b OK SEARCH completed\r\n"]
    assert (await client.command("w", "FETCH $ (UID)")) == [b"w OK FETCH completed\r\n"]
    await client.command("a3", "SEARCH RETURN (SAVE) ALL")
    await client.command("s2", f"SELECT {target}")  # a new selection forgets the result
    assert (await client.command("y", "UID FETCH $ (UID)")) == [b"y OK FETCH completed\r\n"]
    await client.close()


async def test_partial_returns_a_window_of_the_result(imap: ImapWorld) -> None:
    folder = unique("partial")
    uids = await put_messages(imap, imap.world.alice, folder, _messages(6))
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"EXAMINE {folder}")
    window = await client.command("p", "UID SEARCH RETURN (PARTIAL 2:4) ALL")
    assert window[0] == b'* ESEARCH (TAG "p") UID PARTIAL (2:4 %d:%d)\r\n' % (uids[1], uids[3])
    beyond = await client.command("q", "SEARCH RETURN (PARTIAL 10:20 COUNT) ALL")
    assert beyond[0] == b'* ESEARCH (TAG "q") COUNT 6 PARTIAL (10:20 NIL)\r\n'
    ordered = await client.command("r", "SORT RETURN (PARTIAL 1:2) (REVERSE SUBJECT) UTF-8 ALL")
    assert ordered[0] == b'* ESEARCH (TAG "r") PARTIAL (1:2 6,5)\r\n'
    assert (await client.command("z", "SEARCH RETURN (PARTIAL 1) ALL"))[-1].startswith(b"z BAD")
    await client.close()


async def test_update_reports_additions_and_removals_until_cancelled(imap: ImapWorld) -> None:
    folder = unique("ctx")
    uids = await put_messages(imap, imap.world.alice, folder, _messages(3))
    client = await raw_login(imap, imap.world.alice)
    other = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    await other.command("s", f"SELECT {folder}")
    first = await client.command("u", "UID SEARCH RETURN (UPDATE) UNSEEN")
    assert first[0] == b'* ESEARCH (TAG "u") UID ALL %d:%d\r\n' % (uids[0], uids[2])
    await other.command("t", "STORE 2 +FLAGS.SILENT (\\Seen)")
    noop = await client.command("n", "NOOP")
    assert b'* ESEARCH (TAG "u") UID REMOVEFROM (0 %d)\r\n' % uids[1] in noop
    # the session's own STORE changes the result too
    own = await client.command("o", "STORE 2 -FLAGS.SILENT (\\Seen)")
    assert b'* ESEARCH (TAG "u") UID ADDTO (0 %d)\r\n' % uids[1] in own
    [new] = await put_messages(imap, imap.world.alice, folder, _messages(1), recent=True)
    arrived = await client.command("n2", "NOOP")
    assert arrived.index(b"* 4 EXISTS\r\n") < arrived.index(
        b'* ESEARCH (TAG "u") UID ADDTO (0 %d)\r\n' % new)
    counted = await client.command("c", "SEARCH RETURN (UPDATE COUNT) UNSEEN")
    assert counted[0] == b'* ESEARCH (TAG "c") COUNT 4\r\n'
    await other.command("t2", "STORE 1 +FLAGS.SILENT (\\Seen)")
    later = await client.command("n3", "NOOP")
    assert b'* ESEARCH (TAG "c") COUNT 3\r\n' in later
    assert b'* ESEARCH (TAG "u") UID REMOVEFROM (0 %d)\r\n' % uids[0] in later
    cancelled = await client.command("x", 'CANCELUPDATE "u" "c"')
    assert cancelled == [b"x OK CANCELUPDATE completed\r\n"]
    await other.command("t3", "STORE 3 +FLAGS.SILENT (\\Seen)")
    quiet = await client.command("n4", "NOOP")
    assert not any(b"ESEARCH" in line for line in quiet)
    await client.close()
    await other.close()


async def test_sort_update_names_positions(imap: ImapWorld) -> None:
    folder = unique("ctxsort")
    uids = await put_messages(imap, imap.world.alice, folder, [
        b"Subject: b\r\n\r\nx\r\n", b"Subject: d\r\n\r\nx\r\n"])
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    first = await client.command("u", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNDELETED")
    assert first[0] == b'* ESEARCH (TAG "u") UID ALL %d:%d\r\n' % (uids[0], uids[1])
    [c] = await put_messages(imap, imap.world.alice, folder, [b"Subject: c\r\n\r\nx\r\n"],
                             recent=True)
    arrived = await client.command("n", "NOOP")
    assert b'* ESEARCH (TAG "u") UID ADDTO (2 %d)\r\n' % c in arrived
    removed = await client.command("d", f"UID STORE {uids[0]} +FLAGS.SILENT (\\Deleted)")
    assert b'* ESEARCH (TAG "u") UID REMOVEFROM (1 %d)\r\n' % uids[0] in removed
    await client.close()


async def test_a_failed_search_leaves_or_empties_the_saved_result(imap: ImapWorld) -> None:
    """RFC 5182 §2.1: a SEARCH answered BAD does not change ``$`` (with SAVE or not), nor
    one answered NO without SAVE; one with SAVE answered NO empties it, whether refused
    before it ran (an unknown charset) or after (no room to keep it updated)."""
    folder = unique("resfail")
    uids = await put_messages(imap, imap.world.alice, folder, _messages(3))
    client = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    saved = [b"* 2 FETCH (UID %d)\r\n" % uids[1]]

    async def saved_now(tag: str) -> list[bytes]:
        return (await client.command(tag, "FETCH $ (UID)"))[:-1]

    await client.command("a", "SEARCH RETURN (SAVE) SUBJECT m2")
    assert await saved_now("f1") == saved
    for tag, bad in (("b1", "SEARCH RETURN (SAVE) SUBJECT"),  # a key without its argument
                     ("b2", "SEARCH RETURN (SAVE) NOSUCHKEY"),
                     ("b3", "SEARCH RETURN (SAVE BOGUS) ALL"),
                     ("b4", "SORT RETURN (SAVE) (NOSUCHKEY) UTF-8 ALL"),
                     ("b5", "UID SEARCH RETURN (SAVE) UID 1:2 (")):
        assert (await client.command(tag, bad))[-1].startswith(tag.encode() + b" BAD"), bad
        assert await saved_now("f" + tag) == saved, bad
    refused = await client.command("n1", "SEARCH CHARSET KOI8-R SUBJECT m1")
    assert refused[-1].startswith(b"n1 NO [BADCHARSET")
    assert await saved_now("f2") == saved  # NO without SAVE: unchanged
    refused = await client.command("n2", "SEARCH RETURN (SAVE) CHARSET KOI8-R SUBJECT m1")
    assert refused[-1].startswith(b"n2 NO [BADCHARSET")
    assert await saved_now("f3") == []  # NO with SAVE: the empty sequence
    await client.command("a2", "SEARCH RETURN (SAVE) SUBJECT m2")
    refused = await client.command("n3", "SORT RETURN (SAVE) (DATE) KOI8-R ALL")
    assert refused[-1].startswith(b"n3 NO [BADCHARSET")
    assert await saved_now("f4") == []
    # a NO after the search ran (no room for one more kept search, RFC 5267 §4.2)
    for n in range(16):
        await client.command(f"k{n}", "SEARCH RETURN (COUNT UPDATE) ALL")
    await client.command("a3", "SEARCH RETURN (SAVE) SUBJECT m2")
    full = await client.command("n4", "SEARCH RETURN (SAVE UPDATE) ALL")
    assert full[-1].startswith(b'n4 NO [NOUPDATE "n4"]')
    assert await saved_now("f5") == []
    await client.close()
