"""Delivering, reading back and listing messages; blobs reveal nothing."""

from __future__ import annotations

import asyncio

import pytest

from mss.store.mailboxes import INBOX
from tests.store.conftest import deliver, make_mailbox, sample_message


async def test_delivered_message_reads_back_identical(store, mailbox) -> None:
    raw = sample_message(1, size=5000)
    done = await deliver(store, mailbox, raw)
    assert done.uid == 1
    async with store.reading() as session:
        folder = await store.mail.folders.named(session, mailbox, INBOX)
        entries = await store.mail.reads.entries(session, folder.id)
        back = await store.mail.contents.read_raw(mailbox, entries[0].blob_key)
    assert back == raw
    assert entries[0].subject == "Compte rendu 1"
    assert entries[0].from_addr == "alice.martin@mss.localhost"
    assert folder.uidnext == 2


async def test_blob_on_disk_reveals_nothing_of_the_message(store, mailbox) -> None:
    raw = sample_message(7, subject="Resultats biologie Dupont")
    await deliver(store, mailbox, raw)
    files = [p for p in store.blobs.root.rglob("*") if p.is_file()]
    assert len(files) == 1
    on_disk = files[0].read_bytes()
    assert b"Dupont" not in on_disk and b"biologie" not in on_disk
    import hashlib

    assert hashlib.sha256(raw).hexdigest() not in str(files[0])


async def test_the_header_section_is_kept_sealed_beside_the_row(store, mailbox) -> None:
    """Header fetches (ENVELOPE, BODY[HEADER.FIELDS ...]) read it without the blob; the
    row holds it encrypted with the mailbox key, like the blob."""
    from mss.store.blobs import BlobError
    from mss.store.folder_reads import folder_entries

    raw = sample_message(8, size=3000, subject="Resultats biologie Dupont")
    await deliver(store, mailbox, raw)
    async with store.reading() as session:
        folder = await store.mail.folders.named(session, mailbox, INBOX)
        entry = (await folder_entries(session, folder.id, None, with_header=True))[0]
    assert entry.sealed_header is not None and b"Dupont" not in entry.sealed_header
    assert await store.mail.contents.open_header(entry) == raw[: raw.index(b"\r\n\r\n") + 4]
    tampered = entry.sealed_header[:-1] + bytes([entry.sealed_header[-1] ^ 1])
    import dataclasses

    with pytest.raises(BlobError):
        await store.mail.contents.open_header(dataclasses.replace(entry, sealed_header=tampered))


async def test_a_huge_header_section_is_left_in_the_blob(store, mailbox) -> None:
    from mss.store.folder_reads import folder_entries
    from mss.store.message_contents import MAX_SEALED_HEADER

    no_separator = b"Subject: x\r\n" + b"X-Filler: " + b"a" * MAX_SEALED_HEADER + b"\r\n"
    await deliver(store, mailbox, no_separator)
    async with store.reading() as session:
        folder = await store.mail.folders.named(session, mailbox, INBOX)
        entry = (await folder_entries(session, folder.id, None, with_header=True))[0]
    assert entry.sealed_header is None and await store.mail.contents.open_header(entry) is None


async def test_uids_increase_and_never_repeat_under_concurrency(store, mailbox) -> None:
    results = await asyncio.gather(*(deliver(store, mailbox, sample_message(i)) for i in range(60)))
    uids = sorted(r.uid for r in results)
    assert uids == list(range(1, 61))
    modseqs = {r.modseq for r in results}
    assert len(modseqs) == 60


async def test_same_content_for_two_mailboxes_uses_distinct_blobs(store, mailbox) -> None:
    other = await make_mailbox(store, "carol@mss.localhost")
    raw = sample_message(3)
    await deliver(store, mailbox, raw)
    await deliver(store, other, raw)
    keys = store.blobs.iter_keys()
    assert len(keys) == 2
    assert keys[0][1] != keys[1][1]


async def test_events_are_published_after_commit(store, mailbox) -> None:
    async with store.bus.subscribe(mailbox) as queue:
        done = await deliver(store, mailbox, sample_message(1))
        event = queue.get_nowait()
    assert (event.kind, event.uid, event.folder_id) == ("exists", done.uid, done.folder_id)
