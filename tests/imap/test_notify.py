"""NOTIFY (RFC 5465): STATUS for other mailboxes of the personal namespace on new,
expunged and re-flagged messages, LIST on created/renamed/deleted/(un)subscribed
folders, FETCH of the asked attributes for new messages of the selected mailbox; sent
during IDLE and after commands. Raw protocol over TLS, changes made by a second client."""

from __future__ import annotations

import re

import pytest

from tests.imap.conftest import ImapWorld, RawClient, put_messages, raw_login, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")
MESSAGE = b"Subject: notify\r\n\r\nbody\r\n"


def _literal(data: bytes) -> bytes:
    return b"{%d+}\r\n" % len(data) + data


async def _idle(client: RawClient) -> list[bytes]:
    """IDLE; returns what came before ``+ idling`` (updates already pending)."""
    await client.send(b"i IDLE\r\n")
    before = []
    while not (line := await client.response()).startswith(b"+ "):
        before.append(line)
    return before


async def _idle_until(client: RawClient, wanted: bytes, lines: list[bytes]) -> list[bytes]:
    """Lines received during IDLE up to one that contains `wanted`, then DONE."""
    while not any(wanted in line for line in lines):
        lines.append(await client.response())
    await client.send(b"DONE\r\n")
    lines += await client.until("i")
    return lines


async def test_notify_reports_other_mailboxes_during_idle(imap: ImapWorld) -> None:
    watched, selected = unique("watched"), unique("sel")
    await put_messages(imap, imap.world.alice, watched, [MESSAGE])
    await put_messages(imap, imap.world.alice, selected, [MESSAGE])
    client = await raw_login(imap, imap.world.alice)
    other = await raw_login(imap, imap.world.alice)
    assert b"NOTIFY" in (await client.command("c", "CAPABILITY"))[0].split()
    await client.command("s", f"SELECT {selected}")
    reply = await client.command(
        "n", "NOTIFY SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS "
             "(SUBJECT)]) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge "
             "FlagChange MailboxName SubscriptionChange))")
    assert reply[-1] == b"n OK NOTIFY completed\r\n"
    assert (b'* STATUS "' + watched.encode() + b'" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n'
            in reply)
    assert not any(selected.encode() in line for line in reply)  # not the selected one

    assert await _idle(client) == []
    await other.send(b"a APPEND " + watched.encode() + b" " + _literal(MESSAGE) + b"\r\n")
    await other.until("a")
    lines = await _idle_until(client, b"* STATUS", [])
    assert lines[0] == b'* STATUS "' + watched.encode() + b'" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n'

    await other.command("e", f"SELECT {watched}")
    await other.command("f", "STORE 1:2 +FLAGS.SILENT (\\Seen)")
    lines = await _idle_until(client, b"* STATUS", await _idle(client))
    assert lines[0].endswith(b"(MESSAGES 2 UIDNEXT 3 UNSEEN 0)\r\n")

    # a new message in the selected mailbox: EXISTS, then the FETCH asked for
    assert await _idle(client) == []
    await other.send(b"b APPEND " + selected.encode() + b" " + _literal(MESSAGE) + b"\r\n")
    await other.until("b")
    lines = await _idle_until(client, b"FETCH", [])
    assert b"* 2 EXISTS\r\n" in lines
    fetch = next(line for line in lines if b"FETCH" in line)
    assert re.match(rb"\* 2 FETCH \(UID 2 BODY\[HEADER.FIELDS \(SUBJECT\)\] \{\d+\}", fetch)
    await client.close()
    await other.close()


async def test_notify_lists_folder_changes_after_commands(imap: ImapWorld) -> None:
    name = unique("nf")
    client = await raw_login(imap, imap.world.alice)
    other = await raw_login(imap, imap.world.alice)
    await client.command("n", "NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))")
    await other.command("c", f"CREATE {name}")
    created = await client.command("p", "NOOP")
    assert created[0] == b'* LIST () "/" "' + name.encode() + b'"\r\n'
    await other.command("s", f"SUBSCRIBE {name}")
    subscribed = await client.command("p", "NOOP")
    assert subscribed[0] == b'* LIST (\\Subscribed) "/" "' + name.encode() + b'"\r\n'
    await other.command("r", f"RENAME {name} {name}-new")
    renamed = await client.command("p", "NOOP")
    assert renamed[0] == (b'* LIST (\\Subscribed) "/" "' + name.encode() + b'-new" ("OLDNAME" ("'
                          + name.encode() + b'"))\r\n')
    await other.command("d", f"DELETE {name}-new")
    deleted = await client.command("p", "NOOP")
    assert deleted[0] == b'* LIST (\\NonExistent) "/" "' + name.encode() + b'-new"\r\n'
    none = await client.command("x", "NOTIFY NONE")
    assert none == [b"x OK NOTIFY completed\r\n"]
    await other.command("c2", f"CREATE {name}-again")
    assert await client.command("p2", "NOOP") == [b"p2 OK NOOP completed\r\n"]
    await client.close()
    await other.close()


async def test_notify_refuses_what_it_cannot_send(imap: ImapWorld) -> None:
    client = await raw_login(imap, imap.world.alice)
    unsupported = await client.command("a", "NOTIFY SET (PERSONAL (AnnotationChange))")
    assert unsupported[-1].startswith(b"a NO [BADEVENT (MessageNew MessageExpunge ")
    alone = await client.command("b", "NOTIFY SET (PERSONAL (MessageNew))")
    assert alone[-1].startswith(b"b BAD")
    syntax = await client.command("c", "NOTIFY SET (NOWHERE (MessageNew MessageExpunge))")
    assert syntax[-1].startswith(b"c BAD")
    await client.close()


async def test_notify_sends_status_while_the_client_waits_outside_idle(
        imap: ImapWorld) -> None:
    """RFC 5465 §3: as soon as possible, not only during IDLE or after a command."""
    watched = unique("waiting")
    await put_messages(imap, imap.world.alice, watched, [MESSAGE])
    client = await raw_login(imap, imap.world.alice)
    other = await raw_login(imap, imap.world.alice)
    await client.command("n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
    await other.send(b"a APPEND " + watched.encode() + b" " + _literal(MESSAGE) + b"\r\n")
    await other.until("a")
    unsolicited = await client.response()  # no command sent: the server speaks first
    assert unsolicited == (b'* STATUS "' + watched.encode()
                           + b'" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n')
    assert await client.command("p", "NOOP") == [b"p OK NOOP completed\r\n"]
    await client.close()
    await other.close()


@pytest.mark.parametrize("request_", [
    "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))",  # no SELECTED group
    "NOTIFY SET (SELECTED NONE) (PERSONAL (MailboxName))",
    "NOTIFY NONE",
])
async def test_no_selected_events_silences_the_selected_mailbox(
        imap: ImapWorld, request_: str) -> None:
    """RFC 5465 §3.1: without SELECTED (the same as SELECTED NONE) and after NOTIFY NONE
    the client hears of no new message and no flag change in its selected mailbox; an
    EXPUNGE is still sent where RFC 3501 allows it (Dovecot: the client's numbers stay
    true). SELECTED MessageNew later brings the messages it was not told of."""
    folder = unique("quiet")
    await put_messages(imap, imap.world.alice, folder, [MESSAGE, MESSAGE])
    client = await raw_login(imap, imap.world.alice)
    other = await raw_login(imap, imap.world.alice)
    await client.command("s", f"SELECT {folder}")
    assert (await client.command("n", request_))[-1] == b"n OK NOTIFY completed\r\n"
    await other.command("o", f"SELECT {folder}")
    await other.send(b"a APPEND " + folder.encode() + b" " + _literal(MESSAGE) + b"\r\n")
    await other.until("a")
    await other.command("f", "STORE 1 +FLAGS.SILENT (\\Flagged)")
    await other.command("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    await other.command("x", "EXPUNGE")
    assert await client.command("p", "NOOP") == [b"* 2 EXPUNGE\r\n", b"p OK NOOP completed\r\n"]
    assert await client.command("q", "FETCH 1:* (UID)") == [
        b"* 1 FETCH (UID 1)\r\n", b"q OK FETCH completed\r\n"]  # the new one is unknown

    enabled = await client.command(
        "e", "NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange))")
    assert b"* 2 EXISTS\r\n" in enabled and enabled[-1] == b"e OK NOTIFY completed\r\n"
    assert not any(b"FETCH" in line for line in enabled)  # the old flag change stays untold
    await other.command("g", "STORE 1 +FLAGS.SILENT (\\Seen)")
    told = await client.command("r", "NOOP")
    assert told[0] == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen))\r\n"
    await client.close()
    await other.close()


async def test_notify_set_status_takes_the_rfc_form(imap: ImapWorld) -> None:
    """RFC 5465 §8: ``status-indicator = SP "STATUS"``; ``(STATUS)`` is an event group
    with an unknown filter (BAD, as Dovecot answers)."""
    watched = unique("status")
    await put_messages(imap, imap.world.alice, watched, [MESSAGE])
    client = await raw_login(imap, imap.world.alice)
    reply = await client.command("n", "notify set status (personal (MessageNew MessageExpunge))")
    assert b'* STATUS "' + watched.encode() + b'" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n' in reply
    parenthesised = await client.command(
        "b", "NOTIFY SET (STATUS) (PERSONAL (MessageNew MessageExpunge))")
    assert parenthesised[-1].startswith(b"b BAD")
    await client.close()
