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

On SQLite the one writer holds the whole database anyway: only the pipeline's
deliveries are deferred there (one hop to the database thread), the IMAP writes take
their counters in the job as they always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.store.mail_errors import MailStoreError
from mss.store.sqlite_driver import SqliteConnection
from mss.store.tables import Folder
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
    """A job's work needing `uids` UIDs and `modseqs` MODSEQs of one folder."""

    kind: ClassVar[LateKind]
    uids: int = 0
    modseqs: int = 1


_F = Folder.__table__.c
# ORDER BY before FOR UPDATE: the rows are locked in id order, by every transaction
# (PostgreSQL SELECT, "The Locking Clause"), so two batches never wait on each other
# in a cycle
_LOCK_FOLDERS = (select(_F.id).where(_F.id.in_(bindparam("b_ids", expanding=True)))
                 .order_by(_F.id).with_for_update())
# the rows are locked already (above): one statement for every folder of the batch
_TAKE_COUNTS = text(
    "UPDATE folders AS f SET uidnext = f.uidnext + w.u,"
    " highestmodseq = f.highestmodseq + w.m"
    " FROM unnest(CAST(:b_ids AS bigint[]), CAST(:b_uids AS bigint[]),"
    " CAST(:b_modseqs AS bigint[])) AS w(id, u, m)"
    " WHERE f.id = w.id RETURNING f.id, f.uidnext, f.highestmodseq, f.mailbox_id")


async def take_counters(connection: AsyncConnection, folders: Sequence[int],
                        items: Sequence[LateWork]) -> list[Taken]:
    """Lock the folders of `items` (item i in folder `folders[i]`) in id order and take
    their counters in one UPDATE; each item gets its own, in the order of `items`."""
    uids: dict[int, int] = {}
    modseqs: dict[int, int] = {}
    for folder_id, item in zip(folders, items, strict=True):
        uids[folder_id] = uids.get(folder_id, 0) + item.uids
        modseqs[folder_id] = modseqs.get(folder_id, 0) + item.modseqs
    order = sorted(uids)
    await connection.execute(_LOCK_FOLDERS, {"b_ids": order})
    rows = (await connection.execute(_TAKE_COUNTS, {
        "b_ids": order, "b_uids": [uids[f] for f in order],
        "b_modseqs": [modseqs[f] for f in order]})).all()
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
