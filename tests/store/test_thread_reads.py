"""Hot-path reads (mss.store.thread_reads): the same answers from a read connection's
thread as from a writing transaction, one snapshot per plan, a bounded pool."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from mss.store.flag_changes import FlagMode
from mss.store.folder_reads import folder_counts, folder_entries, folder_index
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import FolderEntry
from mss.store.thread_reads import PreparedRead, run_read
from tests.conftest import engine_name
from tests.store.conftest import deliver, sample_message


async def test_reading_and_writing_sessions_read_alike(store: Store, mailbox: int) -> None:
    for n in range(1, 6):
        await deliver(store, mailbox, sample_message(n), flags=("\\Seen",) if n % 2 else ())
    async with store.reading() as db:
        inbox = await store.mail.folders.named(db, mailbox, "inbox")
        index = await folder_index(db, inbox.id, None)
        counts = await folder_counts(db, inbox.id, None)
        entries = await folder_entries(db, inbox.id, None, uids=[1, 3, 4, 5])
        every = await folder_entries(db, inbox.id, None)

    async def job(uow):  # inside a writing transaction: its own connection
        await store.mail.flags.store_flags(uow, inbox.id, [2], {"\\Deleted"}, FlagMode.ADD)
        return (await folder_counts(uow.session, inbox.id, None),
                await folder_entries(uow.session, inbox.id, None, uids=[2]),
                await store.mail.folders.named(uow.session, mailbox, INBOX))

    in_write, changed, folder_in_write = await store.write(job)
    assert list(index.uids) == [1, 2, 3, 4, 5] and index.first_unseen_uid == 2
    assert (counts.messages, counts.unseen, counts.deleted) == (5, 2, 0)
    assert counts.uidnext == 6 and counts.size == sum(e.size for e in every)
    assert [e.uid for e in entries] == [1, 3, 4, 5]
    assert entries[0].internal_date.tzinfo is not None  # the engine's own result processing
    assert changed[0].flags == frozenset({"\\Deleted"})
    # on PostgreSQL the folder row (its counts, HIGHESTMODSEQ) moves at the end of the
    # batch (mss.store.late_counters)
    moved = 0 if engine_name() == "postgresql" else 1
    assert (in_write.deleted, folder_in_write.highestmodseq) == (
        moved, inbox.highestmodseq + moved)
    async with store.reading() as db:
        after = await store.mail.folders.named(db, mailbox, INBOX)
        stored = await folder_entries(db, inbox.id, None, uids=[2])
        counted = await folder_counts(db, inbox.id, None)
    assert after.highestmodseq == inbox.highestmodseq + 1 == stored[0].modseq
    assert (counted.messages, counted.unseen, counted.deleted) == (5, 2, 1)


async def test_scattered_uids_read_by_runs_or_span(store: Store, mailbox: int) -> None:
    for n in range(1, 201):
        await deliver(store, mailbox, sample_message(n))
    async with store.reading() as db:
        inbox = await store.mail.folders.named(db, mailbox, INBOX)
        few = await folder_entries(db, inbox.id, None, uids=[3, 4, 5, 90, 150])
        many = await folder_entries(db, inbox.id, None, uids=list(range(1, 201, 2)))
        after = await folder_entries(db, inbox.id, None, uid_min=190)
    assert [e.uid for e in few] == [3, 4, 5, 90, 150]
    assert [e.uid for e in many] == list(range(1, 201, 2))
    assert [e.uid for e in after] == list(range(190, 201))


async def test_many_plans_at_once_share_the_pool(store: Store, mailbox: int) -> None:
    await deliver(store, mailbox, sample_message(1))
    count = PreparedRead(select(func.count()).select_from(FolderEntry.__table__))

    async def one() -> int:
        async with store.reading() as db:
            return int(await run_read(db, lambda reads: reads.scalar(count)))

    assert await asyncio.gather(*(one() for _ in range(20))) == [1] * 20
