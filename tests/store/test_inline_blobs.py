"""Small messages kept in the database (`inline_blobs`) instead of files (issue #5).

What a reader relies on: the content comes back the same whichever way it was kept,
no file is written for an inline one, it exists exactly when the transaction that
references it committed, and `mss verify` checks it like a file.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from mss.store.blobs import BlobError
from mss.store.mailboxes import INBOX
from mss.store.message_contents import MAX_INLINE_BLOB
from mss.store.tables import FolderEntry, InlineBlob, StoredMessage
from mss.store.unit_of_work import UnitOfWork
from mss.store.verify import verify_store
from tests.store.conftest import deliver, sample_message


async def deliver_inline(store, mailbox: int, raw: bytes) -> int:  # type: ignore[no-untyped-def]
    blob = await store.mail.contents.prepare_blob(mailbox, raw, inline=True)

    async def job(uow: UnitOfWork) -> int:
        return (await store.mail.delivery.deliver_to_folder(uow, INBOX, blob, raw)).uid

    return await store.write(job)


async def inline_rows(store) -> int:  # type: ignore[no-untyped-def]
    async with store.reading() as session:
        return (await session.execute(select(func.count()).select_from(InlineBlob))).scalar_one()


async def test_a_small_message_is_kept_in_the_database_and_read_back(store, mailbox) -> None:
    raw = sample_message(1, size=4000)
    await deliver_inline(store, mailbox, raw)
    async with store.reading() as session:
        [entry] = await store.mail.reads.entries(session, (await store.mail.folders.named(
            session, mailbox, INBOX)).id)
    assert not store.blobs.path_for(mailbox, entry.blob_key).exists()
    assert store.blobs.iter_keys() == []
    assert await inline_rows(store) == 1
    assert await store.mail.contents.read_raw(mailbox, entry.blob_key) == raw
    report = await verify_store(store)
    assert report.faults == [] and report.blobs_checked == 1 and report.orphan_blobs == 0


async def test_a_large_message_and_an_unflagged_caller_still_get_files(store, mailbox) -> None:
    large = sample_message(2, size=MAX_INLINE_BLOB + 1)
    small = sample_message(3, size=100)
    await deliver_inline(store, mailbox, large)
    await deliver(store, mailbox, small)  # prepare_blob without inline: a file
    assert await inline_rows(store) == 0
    assert len(store.blobs.iter_keys()) == 2


async def test_reads_mix_inline_and_file_blobs_in_order(store, mailbox) -> None:
    raws = [sample_message(10, size=300), sample_message(11, size=MAX_INLINE_BLOB + 10),
            sample_message(12, size=500)]
    await deliver_inline(store, mailbox, raws[0])
    await deliver_inline(store, mailbox, raws[1])
    await deliver_inline(store, mailbox, raws[2])
    async with store.reading() as session:
        entries = await store.mail.reads.entries(session, (await store.mail.folders.named(
            session, mailbox, INBOX)).id)
    wanted = [(e.mailbox_id, e.blob_key) for e in reversed(entries)]
    assert await store.mail.contents.read_many(wanted + wanted[:1]) == [*reversed(raws), raws[2]]


async def test_the_same_content_twice_is_kept_once(store, mailbox) -> None:
    raw = sample_message(20, size=1000)
    assert [await deliver_inline(store, mailbox, raw) for _ in range(2)] == [1, 2]
    assert await inline_rows(store) == 1


async def test_nothing_is_kept_when_the_transaction_fails(store, mailbox) -> None:
    raw = sample_message(30, size=1000)
    blob = await store.mail.contents.prepare_blob(mailbox, raw, inline=True)

    async def job(uow: UnitOfWork) -> None:
        await store.mail.delivery.deliver_to_folder(uow, INBOX, blob, raw)
        raise RuntimeError("the job fails after its delivery")

    with pytest.raises(RuntimeError):
        await store.write(job)
    assert await inline_rows(store) == 0
    with pytest.raises(BlobError):
        await store.mail.contents.read_raw(mailbox, blob.blob_key)


async def test_a_tampered_inline_blob_fails_authentication(store, mailbox) -> None:
    raw = sample_message(40, size=1000)
    await deliver_inline(store, mailbox, raw)

    async def tamper(uow: UnitOfWork) -> None:
        row = (await uow.session.execute(select(InlineBlob))).scalar_one()
        row.sealed = row.sealed[:-1] + bytes([row.sealed[-1] ^ 1])

    await store.write(tamper)
    report = await verify_store(store)
    assert len(report.faults) == 1 and "fails authentication" in report.faults[0]


async def test_verify_counts_an_inline_blob_no_message_names(store, mailbox) -> None:
    await deliver_inline(store, mailbox, sample_message(50, size=800))

    async def forget_message(uow: UnitOfWork) -> None:
        await uow.session.execute(delete(FolderEntry))
        await uow.session.execute(delete(StoredMessage))

    await store.write(forget_message)
    report = await verify_store(store)
    assert report.faults == [] and report.blobs_checked == 0 and report.orphan_blobs == 1
