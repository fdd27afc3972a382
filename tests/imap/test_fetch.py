"""FETCH over the corpus stored through the store API, read by imapclient and imaplib
(RFC 3501 §6.4.5, §7.4.2; RFC 3516 BINARY; RFC 7162 MODSEQ/CHANGEDSINCE)."""

from __future__ import annotations

import imaplib
from typing import Any

import pytest

from mss.store.audit import events_for_subject
from tests.imap.conftest import (
    ImapWorld,
    imapclient_for,
    put_messages,
    raw_login,
    run,
    unique,
)
from tests.imap.corpus import (
    BAD_BOUNDARY,
    FORWARDED,
    GARBAGE_TYPE,
    INNER_BODY,
    MALFORMED,
    NESTED,
    NO_HEADER_END,
    NON_ASCII,
    NON_ASCII_SUBJECT_ENCODED,
    PDF_BASE64,
    PDF_BYTES,
    PLAIN_QP,
    SIMPLE,
    SIMPLE_BODY,
    XDM,
    XDM_BASE64,
    XDM_ZIP,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
ORDER = [SIMPLE, NESTED, FORWARDED, XDM, NON_ASCII, MALFORMED, NO_HEADER_END, GARBAGE_TYPE,
         BAD_BOUNDARY]


@pytest.fixture(scope="module")
def folder() -> str:
    return unique("corpus")


async def corpus_client(imap: ImapWorld, folder: str) -> tuple[object, list[int]]:
    async with imap.store.reading() as session:
        from mss.store.folder_reads import folder_id_of
        from mss.store.mailboxes import find_mailbox

        mailbox = await find_mailbox(session, imap.world.alice)
        assert mailbox is not None
        exists = await folder_id_of(session, mailbox.id, folder)
    if exists is None:
        await put_messages(imap, imap.world.alice, folder, ORDER)
    client = await run(imapclient_for, imap, imap.world.alice)
    await run(client.select_folder, folder)
    uids = await run(client.search, "ALL")
    return client, uids


async def test_bodystructure_of_nested_multipart(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    data = await run(client.fetch, [uids[1]], ["BODYSTRUCTURE"])
    structure = data[uids[1]][b"BODYSTRUCTURE"]
    assert structure.is_multipart
    parts, subtype = structure[0], structure[1]
    assert subtype == b"MIXED"
    alternative, pdf = parts
    assert alternative[1] == b"ALTERNATIVE"
    assert [p[1] for p in alternative[0]] == [b"PLAIN", b"HTML"]
    assert pdf[0:2] == (b"APPLICATION", b"PDF") and pdf[5] == b"BASE64"
    assert pdf[6] == len(PDF_BASE64)
    assert pdf[8][0] == b"ATTACHMENT"
    await run(client.logout)


async def test_sections_of_nested_multipart_and_binary(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    uid = uids[1]
    data = await run(client.fetch, [uid], ["BODY.PEEK[1.1]", "BODY.PEEK[2]", "BINARY.PEEK[2]",
                                           "BINARY.SIZE[2]"])
    item = data[uid]
    assert item[b"BODY[1.1]"] == PLAIN_QP
    assert item[b"BODY[2]"] == PDF_BASE64
    assert item[b"BINARY[2]"] == PDF_BYTES
    assert item[b"BINARY.SIZE[2]"] == len(PDF_BYTES)
    await run(client.logout)


async def test_forwarded_message_rfc822_part(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    uid = uids[2]
    data = await run(client.fetch, [uid], ["BODYSTRUCTURE", "BODY.PEEK[2.TEXT]",
                                           "BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]"])
    item = data[uid]
    inner = item[b"BODYSTRUCTURE"][0][1]
    assert inner[0:2] == (b"MESSAGE", b"RFC822")
    assert inner[7][1] == b"Sortie du patient"  # the envelope of the attached message
    assert item[b"BODY[2.TEXT]"] == INNER_BODY
    assert item[b"BODY[2.HEADER.FIELDS (SUBJECT)]"] == b"Subject: Sortie du patient\r\n\r\n"
    await run(client.logout)


async def test_xdm_attachment_decoded_by_binary(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    await run(client.logout)
    raw = await raw_login(imap, imap.world.alice)
    await raw.command("s", f"SELECT {folder}")
    reply = await raw.command("f", f"UID FETCH {uids[3]} (BODY.PEEK[2] BINARY.PEEK[2])")
    line = reply[0]
    # RFC 3516 §4.2: content holding NUL goes as a literal8
    assert b"BINARY[2] ~{%d}\r\n" % len(XDM_ZIP) + XDM_ZIP in line
    assert b"BODY[2] {%d}\r\n" % len(XDM_BASE64) + XDM_BASE64 in line
    await raw.close()


async def test_envelope_size_and_header_fields(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    data = await run(client.fetch, uids, ["ENVELOPE", "RFC822.SIZE", "INTERNALDATE",
                                          "BODY.PEEK[HEADER.FIELDS.NOT (DATE FROM TO CC)]"])
    assert [data[u][b"RFC822.SIZE"] for u in uids] == [len(raw) for raw in ORDER]
    assert data[uids[4]][b"ENVELOPE"].subject == NON_ASCII_SUBJECT_ENCODED
    assert data[uids[0]][b"ENVELOPE"].subject == b"Compte rendu consultation"
    rest = data[uids[0]][b"BODY[HEADER.FIELDS.NOT (DATE FROM TO CC)]"]
    assert rest.startswith(b"Subject: Compte rendu consultation\r\n") and b"From:" not in rest
    await run(client.logout)


async def test_malformed_messages_fetch_without_error(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    data = await run(client.fetch, uids[5:], ["BODYSTRUCTURE", "BODY.PEEK[]", "BODY.PEEK[1]",
                                              "BODY.PEEK[TEXT]"])
    for uid, raw in zip(uids[5:], ORDER[5:], strict=True):
        assert data[uid][b"BODY[]"] == raw
    await run(client.logout)


async def test_partial_fetch_and_peek_versus_seen(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    uid = uids[0]
    await run(client.remove_flags, [uid], [b"\\Seen"])
    data = await run(client.fetch, [uid], ["BODY.PEEK[TEXT]<0.7>", "FLAGS"])
    assert data[uid][b"BODY[TEXT]<0>"] == SIMPLE_BODY[:7]
    assert b"\\Seen" not in data[uid][b"FLAGS"]
    data = await run(client.fetch, [uid], ["BODY[]"])
    assert data[uid][b"BODY[]"] == SIMPLE
    assert b"\\Seen" in data[uid][b"FLAGS"]  # RFC 3501 §6.4.5: FLAGS sent with the change
    data = await run(client.fetch, [uid], ["FLAGS"])
    assert b"\\Seen" in data[uid][b"FLAGS"]
    await run(client.logout)


async def test_examine_never_sets_seen(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    await run(client.remove_flags, [uids[2]], [b"\\Seen"])
    await run(client.select_folder, folder, True)
    await run(client.fetch, [uids[2]], ["BODY[]"])
    data = await run(client.fetch, [uids[2]], ["FLAGS"])
    assert b"\\Seen" not in data[uids[2]][b"FLAGS"]
    await run(client.logout)


async def test_modseq_and_changedsince(imap: ImapWorld, folder: str) -> None:
    client, uids = await corpus_client(imap, folder)
    before = await run(client.fetch, uids, ["MODSEQ"])
    highest = max(item[b"MODSEQ"][0] for item in before.values())
    await run(client.add_flags, [uids[3]], [b"$Important"])
    changed = await run(client.fetch, uids, ["FLAGS"], [f"CHANGEDSINCE {highest}"])
    assert list(changed) == [uids[3]]
    assert changed[uids[3]][b"MODSEQ"][0] > highest
    await run(client.logout)


async def test_rfc822_items_with_imaplib(imap: ImapWorld, folder: str) -> None:
    await corpus_client(imap, folder)
    client = await imap.login(imap.world.alice)
    await run(client.select, folder)
    typ, data = await run(client.fetch, "1", "(RFC822.HEADER RFC822.TEXT)")
    assert typ == "OK"
    literals = [part[1] for part in data if isinstance(part, tuple)]
    assert literals[0] == SIMPLE[: SIMPLE.index(b"\r\n\r\n") + 4]
    assert literals[1] == SIMPLE_BODY
    with pytest.raises(imaplib.IMAP4.error, match="out of range"):
        await run(client.fetch, "99", "(FLAGS)")  # RFC 3501 §9: past the end is invalid
    await run(client.logout)


async def test_reading_a_patient_message_is_audited_once_per_command(imap: ImapWorld) -> None:
    world = imap.world
    subject = unique("patient")
    await imap.deliver([world.jeanne, world.alice], subject=subject)
    client = await run(imapclient_for, imap, world.alice)
    await run(client.select_folder, "INBOX")
    uids = await run(client.search, ["SUBJECT", subject])
    async with imap.store.reading() as session:
        before = len(await events_for_subject(session, world.jeanne_ins, limit=1000))
    await run(client.fetch, uids, ["FLAGS", "RFC822.SIZE"])  # no content: no read
    await run(client.fetch, uids, ["BODY.PEEK[]"])
    async with imap.store.reading() as session:
        events = await events_for_subject(session, world.jeanne_ins, limit=1000)
    reads = [e for e in events[: len(events) - before] if e.action == "message.read"]
    assert len(reads) == 1
    assert reads[0].principal == f"professional:{world.alice_rpps}"
    await run(client.logout)


async def test_envelope_and_bodystructure_same_from_the_cache_and_after_eviction(
        imap: ImapWorld, folder: str) -> None:
    """A message whose BODYSTRUCTURE is cached is read only as its header (no blob
    read); the response is the same bytes as the first (cold) one, and again once the
    cache forgot it."""
    from mss.imap.fetch_render import STRUCTURES

    client, _ = await corpus_client(imap, folder)
    await run(client.logout)
    raw = await raw_login(imap, imap.world.alice)
    await raw.command("s", f"SELECT {folder}")
    items = "(UID ENVELOPE BODY BODYSTRUCTURE)"
    mail = imap.store.mail.contents
    blobs_read: list[int] = []
    read_many = mail.read_many

    async def counted(blobs: Any) -> list[bytes]:
        blobs_read.append(len(blobs))
        return await read_many(blobs)

    mail.read_many = counted  # type: ignore[method-assign]
    try:
        STRUCTURES.clear()
        cold = await raw.command("f1", f"FETCH 1:* {items}")
        assert sum(blobs_read) == len(ORDER) and len(STRUCTURES) == 2 * len(ORDER)
        warm = await raw.command("f2", f"FETCH 1:* {items}")
        assert sum(blobs_read) == len(ORDER)  # the header kept beside each row sufficed
        STRUCTURES.clear()
        evicted = await raw.command("f3", f"FETCH 1:* {items}")
        assert sum(blobs_read) == 2 * len(ORDER)
    finally:
        del mail.read_many
    assert cold[-1].startswith(b"f1 OK") and len(cold) - 1 == len(ORDER)
    assert cold[:-1] == warm[:-1] == evicted[:-1]
    await raw.close()


async def test_cached_structures_still_audit_a_patient_read(imap: ImapWorld) -> None:
    """ENVELOPE and BODYSTRUCTURE served from the cache (header read only) still find the
    patient named in the header: one message.read per command (docs/architecture.md §5)."""
    world = imap.world
    subject = unique("patient-cached")
    await imap.deliver([world.jeanne, world.alice], subject=subject)
    client = await run(imapclient_for, imap, world.alice)
    await run(client.select_folder, "INBOX")
    uids = await run(client.search, ["SUBJECT", subject])
    await run(client.fetch, uids, ["ENVELOPE", "BODYSTRUCTURE"])  # now cached
    async with imap.store.reading() as session:
        before = len(await events_for_subject(session, world.jeanne_ins, limit=1000))
    await run(client.fetch, uids, ["ENVELOPE", "BODYSTRUCTURE"])
    async with imap.store.reading() as session:
        events = await events_for_subject(session, world.jeanne_ins, limit=1000)
    reads = [e for e in events[: len(events) - before] if e.action == "message.read"]
    assert len(reads) == 1
    await run(client.logout)
