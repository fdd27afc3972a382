"""Blobs in the database (`store.blob_backend = "database"`, issue 24 §3): a message read
back whole from its chunks, no file written, `mss verify` checking it, a damaged chunk
refused, a deleted blob gone; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from mss.clock import ManualClock
from mss.store.blobs import BlobError
from mss.store.db_blobs import CHUNK, DatabaseBlobStore
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import BlobChunk
from mss.store.verify import verify_store
from tests.store.conftest import deliver, make_mailbox, sample_message


@pytest.fixture
async def db_store(make_settings, clock: ManualClock) -> AsyncIterator[Store]:
    store = await Store.open(make_settings(store={"blob_backend": "database"}), clock=clock)
    try:
        yield store
    finally:
        await store.close()


async def chunks(store: Store) -> int:
    async with store.reading() as session:
        return (await session.execute(select(func.count()).select_from(BlobChunk))).scalar_one()


async def test_a_large_message_comes_back_whole_from_its_chunks(db_store: Store) -> None:
    assert isinstance(db_store.blobs, DatabaseBlobStore)
    mailbox = await make_mailbox(db_store, "bob@mss.localhost")
    raw = sample_message(1, size=int(2.5 * CHUNK))
    await deliver(db_store, mailbox, raw)
    assert await chunks(db_store) == 3
    assert not db_store.settings.blob_dir.exists() or not any(
        p.is_file() for p in db_store.settings.blob_dir.rglob("*"))
    async with db_store.reading() as session:
        folder = await db_store.mail.folders.named(session, mailbox, INBOX)
        [entry] = await db_store.mail.reads.entries(session, folder.id)
    assert await db_store.mail.contents.read_raw(mailbox, entry.blob_key) == raw
    report = await verify_store(db_store)
    assert report.faults == [] and report.orphan_blobs == 0
    # the same content again: the blob is kept, not written twice
    await deliver(db_store, mailbox, raw)
    assert await chunks(db_store) == 3


async def test_a_damaged_or_missing_chunk_is_refused_and_a_deleted_blob_is_gone(
    db_store: Store,
) -> None:
    mailbox = await make_mailbox(db_store, "bob@mss.localhost")
    raw = sample_message(2, size=2 * CHUNK)
    await deliver(db_store, mailbox, raw)
    async with db_store.reading() as session:
        folder = await db_store.mail.folders.named(session, mailbox, INBOX)
        [entry] = await db_store.mail.reads.entries(session, folder.id)
    key = entry.blob_key
    async with db_store.write_engine.begin() as connection:
        await connection.execute(update(BlobChunk).where(
            BlobChunk.blob_key == key, BlobChunk.seq == 1).values(data=b"x" * 100))
    with pytest.raises(BlobError, match="fails authentication"):
        await db_store.mail.contents.read_raw(mailbox, key)
    blobs = db_store.blobs
    assert isinstance(blobs, DatabaseBlobStore)
    blobs.delete(mailbox, key)
    await blobs.close()  # the deletion runs after the caller's commit
    assert await chunks(db_store) == 0
    with pytest.raises(BlobError, match="missing"):
        await db_store.mail.contents.read_raw(mailbox, key)
