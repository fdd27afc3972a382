"""Folder counters taken at the end of the batch, for every write of the batch that needs
them (docs/architecture.md §5).

On PostgreSQL a folder's row (UIDNEXT, HIGHESTMODSEQ) is locked from the UPDATE that
takes its counters until COMMIT, and must be: UIDs and MODSEQs are then increasing in
commit order across nodes (RFC 3501 §2.3.1.1, RFC 7162 §3.1). Taken inside a job, the
lock would be held while the rest of the batch runs, and another node writing the same
folder would wait on it. So a job writes what needs no counter and defers a `LateWork`
(`UnitOfWork.defer(run_late_counters, work)`); once every job of the batch has run, its
one runner locks every folder the batch touches, in id order (so two batches never wait
on each other in a cycle), takes all their counters in one UPDATE, and has each kind of
work write what needs them: pipeline deliveries (`mss.store.mail_delivery`), APPEND,
STORE (`mss.store.flag_changes`), EXPUNGE, COPY and MOVE (`mss.store.entry_moves`).
Values the caller needs (a UID for APPENDUID, a MODSEQ for STORE's reply) are written
into a holder the job returns, which its caller reads after the commit.

The folder row also keeps the folder's counts (entries, unseen, deleted, bytes), moved
by a trigger on every write of an entry (migration 0013), which would lock the row in
the job: a job's own flag UPDATEs and DELETEs are made between `COUNT_LATE` and
`COUNT_NOW`, the trigger skips them (migration 0025), and their counts travel in the
work (`LateWork.counts`) to the same UPDATE. A write of a STORE carries PENDING_MODSEQ
until the end of the batch stamps the real one.

On SQLite the one writer holds the whole database anyway: only the pipeline's
deliveries are deferred there (one hop to the database thread), the IMAP writes take
their counters in the job as they always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.store.flags import DELETED, SEEN
from mss.store.mail_errors import MailStoreError
from mss.store.sqlite_driver import SqliteConnection
from mss.store.tables import Folder
from mss.store.thread_reads import PreparedStatement
from mss.store.unit_of_work import DeferredWriteFailed, UnitOfWork

PENDING_MODSEQ = 2**62
"""The MODSEQ a changed row carries inside its transaction until the end of the batch
stamps the real one: above any MODSEQ the folder has given, so a later UNCHANGEDSINCE
of the same batch sees the row as changed (RFC 7162 §3.1.3), as it is."""


def late_counters(uow: UnitOfWork) -> bool:
    """Whether this job's writes take their folder counters at the end of the batch:
    on PostgreSQL (module docstring)."""
    return uow.connection.dialect.name == "postgresql"


@dataclass(frozen=True, slots=True)
class Taken:
    """What the end of the batch gave one piece of work: its first UID and first MODSEQ
    (it has `uids` and `modseqs` consecutive ones from there) and the folder's mailbox."""

    folder_id: int
    first_uid: int
    first_modseq: int
    mailbox_id: int


class LateKind:
    """One kind of late work, written for all of a batch's at once."""

    async def prepare(self, connection: AsyncConnection, items: Sequence[Any]) -> list[int]:
        """Before any folder row is locked: what needs no counter; the folder id of each
        item. Raises DeferredWriteFailed (position in `items`) to fail one item's job."""
        return [item.folder_id for item in items]

    async def write(self, connection: AsyncConnection, items: Sequence[Any],
                    taken: Sequence[Taken]) -> None:
        """With the folder rows locked and the counters taken: the rest."""
        raise NotImplementedError

    async def on_sqlite(self, connection: AsyncConnection, items: Sequence[Any]) -> None:
        """The whole work on SQLite, in one call to the database thread (`_finish`
        queues the COMMIT right behind it)."""
        raise NotImplementedError(f"{type(self).__name__} is not deferred on SQLite")


class LateWork:
    """A job's work needing `uids` UIDs and `modseqs` MODSEQs of one folder, and moving
    its counts (`counts`: entries, unseen, deleted, bytes) for the rows it wrote under
    `COUNT_LATE`."""

    kind: ClassVar[LateKind]
    uids: int = 0
    modseqs: int = 1
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)


COUNT_LATE = PreparedStatement(select(func.set_config("mss.folder_counts", "late", True)))
"""Said before a job's own writes of entries on PostgreSQL: the folder-counts trigger
(migration 0025) leaves their counts to the end of the batch (`LateWork.counts`), so
that it does not lock the folder's row in the job."""
COUNT_NOW = PreparedStatement(select(func.set_config("mss.folder_counts", "", True)))
"""Said after them: the trigger counts the next writes again (the batch's other jobs,
and the writes at its end)."""


def counts_of(before: frozenset[str] | None, after: frozenset[str] | None, size: int = 0
              ) -> tuple[int, int, int, int]:
    """How an entry's change moves its folder's counts, as the trigger would: flags
    `before` (None: new entry) to `after` (None: removed)."""
    def each(flags: frozenset[str] | None) -> tuple[int, int, int, int]:
        if flags is None:
            return (0, 0, 0, 0)
        return (1, int(SEEN not in flags), int(DELETED in flags), size)

    old, new = each(before), each(after)
    return (new[0] - old[0], new[1] - old[1], new[2] - old[2], new[3] - old[3])


def add_counts(a: tuple[int, int, int, int], b: tuple[int, int, int, int]
               ) -> tuple[int, int, int, int]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


_F = Folder.__table__.c
# ORDER BY before the lock: the rows are locked in id order, by every transaction
# (PostgreSQL SELECT, "The Locking Clause"), so two batches never wait on each other
# in a cycle. FOR NO KEY UPDATE, the lock the UPDATE below takes anyway (it changes no
# key): FOR UPDATE would also wait for every transaction holding FOR KEY SHARE on the
# row, which PostgreSQL takes for the foreign key of each entry a job writes into the
# folder, so a job of another node still running would hold this batch up again.
_LOCK_FOLDERS = (select(_F.id).where(_F.id.in_(bindparam("b_ids", expanding=True)))
                 .order_by(_F.id).with_for_update(key_share=True))
# the rows are locked already (above): one statement for every folder of the batch
_TAKE_COUNTS = text(
    "UPDATE folders AS f SET uidnext = f.uidnext + w.u,"
    " highestmodseq = f.highestmodseq + w.m, message_count = f.message_count + w.n,"
    " unseen_count = f.unseen_count + w.unseen, deleted_count = f.deleted_count + w.del,"
    " total_size = f.total_size + w.size"
    " FROM unnest(CAST(:b_ids AS bigint[]), CAST(:b_uids AS bigint[]),"
    " CAST(:b_modseqs AS bigint[]), CAST(:b_n AS bigint[]), CAST(:b_unseen AS bigint[]),"
    " CAST(:b_del AS bigint[]), CAST(:b_size AS bigint[]))"
    " AS w(id, u, m, n, unseen, del, size)"
    " WHERE f.id = w.id RETURNING f.id, f.uidnext, f.highestmodseq, f.mailbox_id")


async def take_counters(connection: AsyncConnection, folders: Sequence[int],
                        items: Sequence[LateWork]) -> list[Taken]:
    """Lock the folders of `items` (item i in folder `folders[i]`) in id order and take
    their counters in one UPDATE (moving their counts too); each item gets its own, in
    the order of `items`."""
    uids: dict[int, int] = {}
    modseqs: dict[int, int] = {}
    counts: dict[int, tuple[int, int, int, int]] = {}
    for folder_id, item in zip(folders, items, strict=True):
        uids[folder_id] = uids.get(folder_id, 0) + item.uids
        modseqs[folder_id] = modseqs.get(folder_id, 0) + item.modseqs
        counts[folder_id] = add_counts(counts.get(folder_id, (0, 0, 0, 0)), item.counts)
    order = sorted(uids)
    await connection.execute(_LOCK_FOLDERS, {"b_ids": order})
    rows = (await connection.execute(_TAKE_COUNTS, {
        "b_ids": order, "b_uids": [uids[f] for f in order],
        "b_modseqs": [modseqs[f] for f in order],
        **{name: [counts[f][i] for f in order]
           for i, name in enumerate(("b_n", "b_unseen", "b_del", "b_size"))}})).all()
    cursor = {f: (uidnext - uids[f], modseq - modseqs[f] + 1, mailbox_id)
              for f, uidnext, modseq, mailbox_id in rows}
    taken = []
    for position, (folder_id, item) in enumerate(zip(folders, items, strict=True)):
        if folder_id not in cursor:  # deleted since the job found it
            error = MailStoreError("NONEXISTENT", "no such folder")
            raise DeferredWriteFailed(position, error) from error
        uid, modseq, mailbox_id = cursor[folder_id]
        taken.append(Taken(folder_id, uid, modseq, mailbox_id))
        cursor[folder_id] = (uid + item.uids, modseq + item.modseqs, mailbox_id)
    return taken


async def run_late_counters(connection: AsyncConnection, items: list[LateWork]) -> None:
    """The deferred runner of every `LateWork` of a batch (module docstring)."""
    kinds: dict[LateKind, list[int]] = {}
    for position, item in enumerate(items):
        kinds.setdefault(item.kind, []).append(position)
    driver = (await connection.get_raw_connection()).driver_connection
    if isinstance(driver, SqliteConnection):
        (kind, _), = kinds.items()  # only the pipeline's deliveries are deferred there
        await kind.on_sqlite(connection, items)
        return
    folders = [0] * len(items)
    for kind, positions in kinds.items():
        found = await _named(positions, kind.prepare(connection, [items[p] for p in positions]))
        for position, folder_id in zip(positions, found, strict=True):
            folders[position] = folder_id
    taken = await take_counters(connection, folders, items)
    for kind, positions in kinds.items():
        await _named(positions, kind.write(
            connection, [items[p] for p in positions], [taken[p] for p in positions]))


async def _named(positions: list[int], step: Any) -> Any:
    """`step`'s result; its DeferredWriteFailed renamed from its kind's list to the
    batch's."""
    try:
        return await step
    except DeferredWriteFailed as failed:
        raise DeferredWriteFailed(positions[failed.position], failed.error) from failed.error
