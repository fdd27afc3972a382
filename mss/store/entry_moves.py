"""Entries joining or leaving folders: COPY (RFC 3501 §6.4.7), MOVE (RFC 6851) and
EXPUNGE (RFC 3501 §6.4.3, UID EXPUNGE of RFC 4315).

A copy keeps the entry's flags and sort keys, takes new UIDs and one MODSEQ in the
target (mss.store.folder_counters) and, into another mailbox, re-seals the content
under that mailbox's key. A removal takes one MODSEQ of the folder and remembers the
removed UIDs for QRESYNC (RFC 7162 §3.2.5). On PostgreSQL both take their counters at
the end of the batch (mss.store.late_counters). Every change publishes a change event,
delivered after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mss.store.entry_reads import EntryInfo, EntryReads
from mss.store.events import ChangeEvent
from mss.store.flag_changes import add_folder_keywords, add_keywords
from mss.store.flags import DELETED, flags_set, flags_text
from mss.store.folder_counters import BUMP_FOLDER_MODSEQ, allocate
from mss.store.late_counters import (
    COUNT_LATE,
    COUNT_NOW,
    LateKind,
    LateWork,
    Taken,
    add_counts,
    counts_of,
    late_counters,
    run_late_counters,
)
from mss.store.mail_delivery import ENTRY_SORT_KEYS
from mss.store.mail_errors import MailStoreError
from mss.store.message_contents import MessageContents
from mss.store.tables import ExpungedEntry, Folder, FolderEntry, StoredMessage
from mss.store.thread_reads import PreparedStatement, Reads, run_in_transaction
from mss.store.uid_sets import rows_of_uids
from mss.store.unit_of_work import UnitOfWork

_E = FolderEntry.__table__.c
# Removals as plans (mss.store.thread_reads): one hop to the writing thread
_DELETED_ROWS = PreparedStatement(
    select(_E.id, _E.uid, _E.flags)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")),
           _E.flags.contains(DELETED, autoescape=True))
    .order_by(_E.uid))
_DELETE_ENTRY = PreparedStatement(
    delete(FolderEntry.__table__).where(_E.id == bindparam("b_entry")))
_ADD_EXPUNGED = PreparedStatement(insert(ExpungedEntry.__table__).values(
    folder_id=bindparam("b_folder"), uid=bindparam("b_uid"), modseq=bindparam("b_modseq")))
_MOVED_ROWS = PreparedStatement(
    select(_E.id, _E.uid, _E.flags)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(_E.uid))
# with the message's size, for the folder's counts when they are moved late
_M = StoredMessage.__table__.c
_SIZED = FolderEntry.__table__.join(StoredMessage.__table__, _M.id == _E.message_id)
_DELETED_ROWS_SIZED = PreparedStatement(
    select(_E.id, _E.uid, _E.flags, _M.size).select_from(_SIZED)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")),
           _E.flags.contains(DELETED, autoescape=True))
    .order_by(_E.uid))
_MOVED_ROWS_SIZED = PreparedStatement(
    select(_E.id, _E.uid, _E.flags, _M.size).select_from(_SIZED)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(_E.uid))


Counts = tuple[int, int, int, int]
_Removed = tuple[list[int], int, int, Counts]


def _remove_plan(db: Reads, folder_id: int, rows: list[tuple[Any, ...]], late: bool
                 ) -> _Removed:
    """Remove entries ((id, uid, flags[, size]) rows) and remember their UIDs (RFC 7162
    §3.2.5): (removed UIDs, MODSEQ of the removal, mailbox id, counts moved). With
    `late` (PostgreSQL; the rows then carry their size) the folder row is not touched:
    the caller defers the rest with the counts (`_Removals`), MODSEQ and mailbox id 0."""
    if not rows:
        return [], 0, 0, (0, 0, 0, 0)
    if late:  # counted at the end of the batch, with the MODSEQ
        counts: Counts = (0, 0, 0, 0)
        for row in rows:
            counts = add_counts(counts, counts_of(flags_set(row[2]), None, row[3] or 0))
        db.first(COUNT_LATE)
        db.execute_many(_DELETE_ENTRY, [{"b_entry": row[0]} for row in rows])
        db.first(COUNT_NOW)
        return [row[1] for row in rows], 0, 0, counts
    modseq, mailbox_id = db.first(BUMP_FOLDER_MODSEQ, b_folder=folder_id) or (0, 0)
    db.execute_many(_DELETE_ENTRY, [{"b_entry": row[0]} for row in rows])
    db.execute_many(_ADD_EXPUNGED, [{"b_folder": folder_id, "b_uid": row[1], "b_modseq": modseq}
                                    for row in rows])
    return [row[1] for row in rows], modseq, mailbox_id, (0, 0, 0, 0)


def _expunge_plan(db: Reads, folder_id: int, uids: Sequence[int] | None, late: bool
                  ) -> _Removed:
    query = _DELETED_ROWS_SIZED if late else _DELETED_ROWS
    rows = [row for row in rows_of_uids(db, query, folder_id, uids)
            if DELETED in flags_set(row[2])]
    return _remove_plan(db, folder_id, rows, late)


def _published_removal(uow: UnitOfWork, folder_id: int, removed: _Removed, late: bool
                       ) -> list[int]:
    """Publish a removal (`_remove_plan`'s result), or defer it with its MODSEQ when
    `late`, and expire the session's loaded rows, which the plan changed past the ORM;
    the removed UIDs."""
    uids, modseq, mailbox_id, counts = removed
    if late:
        if uids:
            uow.defer(run_late_counters, _LateRemoval(uow, folder_id, uids, counts))
    else:
        for uid in uids:
            uow.publish(ChangeEvent("expunge", mailbox_id, folder_id, uid, modseq))
    uow.session.expire_all()
    return uids


@dataclass(slots=True)
class _LateRemoval(LateWork):
    """Entries removed by a job on PostgreSQL, waiting for the removal's MODSEQ."""

    kind: ClassVar[LateKind]
    uow: UnitOfWork
    folder_id: int
    removed: list[int]
    counts: Counts


class _Removals(LateKind):
    """The batch's removals: each its MODSEQ, its UIDs remembered for QRESYNC
    (RFC 7162 §3.2.5) and its `expunge` events."""

    async def write(self, connection: AsyncConnection, items: Sequence[Any],
                    taken: Sequence[Taken]) -> None:
        rows = []
        for item, given in zip(items, taken, strict=True):
            for uid in item.removed:
                rows.append({"b_folder": given.folder_id, "b_uid": uid,
                             "b_modseq": given.first_modseq})
                item.uow.publish(ChangeEvent("expunge", given.mailbox_id, given.folder_id,
                                             uid, given.first_modseq))
        await connection.execute(_ADD_EXPUNGED.statement, rows)


@dataclass(slots=True)
class _LateCopy(LateWork):
    """Entries a COPY or MOVE adds to a folder on PostgreSQL, waiting for their UIDs
    and MODSEQ; `pairs` is the holder the caller reads after the commit."""

    kind: ClassVar[LateKind]
    uow: UnitOfWork
    folder_id: int
    entries: list[dict[str, Any]]  # the entry rows, without folder, uid and modseq
    keywords: set[str]
    pairs: list[tuple[int, int]]
    uids: int = 0


class _Copies(LateKind):
    async def write(self, connection: AsyncConnection, items: Sequence[Any],
                    taken: Sequence[Taken]) -> None:
        rows = []
        keywords: dict[int, set[str]] = {}
        for item, given in zip(items, taken, strict=True):
            for offset, entry in enumerate(item.entries):
                uid = given.first_uid + offset
                rows.append({**entry, "folder_id": given.folder_id, "uid": uid,
                             "modseq": given.first_modseq})
                item.pairs[offset] = (item.pairs[offset][0], uid)
                item.uow.publish(ChangeEvent("exists", given.mailbox_id, given.folder_id, uid,
                                             given.first_modseq))
            keywords.setdefault(given.folder_id, set()).update(item.keywords)
        await connection.execute(_INSERT_ENTRY, rows)
        await add_folder_keywords(connection, keywords)


_LateRemoval.kind = _Removals()
_LateCopy.kind = _Copies()
_INSERT_ENTRY = insert(FolderEntry.__table__)
# what an entry without its sort keys gets (the columns' defaults)
_NO_SORT_KEYS = {"sort_date": None, "sort_arrival": None, "sort_size": 0, "sort_from": "",
                 "sort_to": "", "sort_cc": "", "sort_subject": ""}


_SORT_VALUES = [getattr(_E, key) for key in ENTRY_SORT_KEYS]


async def _sort_values_of(session: AsyncSession, folder_id: int, uids: Sequence[int]
                          ) -> dict[int, dict[str, Any]]:
    """The sort keys of the folder's entries by UID (a COPY or MOVE keeps them): the
    UID range in one query, the others left out here."""
    if not uids:
        return {}
    wanted = set(uids)
    rows = (await session.execute(
        select(_E.uid, *_SORT_VALUES).where(_E.folder_id == folder_id,
                                            _E.uid.between(min(uids), max(uids))))).all()
    return {row[0]: dict(zip(ENTRY_SORT_KEYS, row[1:], strict=True))
            for row in rows if row[0] in wanted}


class EntryMoves:
    """COPY, MOVE and EXPUNGE of a folder's entries, in the job's transaction; a copy
    reads the entries as the reader sees them (`EntryReads`) and, into another mailbox,
    the contents (`MessageContents`)."""

    def __init__(self, contents: MessageContents, reads: EntryReads) -> None:
        self.contents = contents
        self.reads = reads

    async def expunge(
        self, uow: UnitOfWork, folder_id: int, uids: Sequence[int] | None = None
    ) -> list[int]:
        """Remove `\\Deleted` entries (all, or only those UIDs: RFC 4315 UID EXPUNGE):
        one plan, which reads only the entries that carry the flag; on PostgreSQL the
        removal's MODSEQ is taken at the end of the batch (mss.store.late_counters)."""
        connection = await uow.core()
        late = late_counters(uow)
        removed = await run_in_transaction(
            connection, lambda db: _expunge_plan(db, folder_id, uids, late))
        return _published_removal(uow, folder_id, removed, late)

    async def copy(
        self, uow: UnitOfWork, source_id: int, uids: Sequence[int], target_id: int,
        *, reader: str | None = None, uids_now: bool = False,
    ) -> list[tuple[int, int]]:
        """COPY (RFC 3501 §6.4.7) keeping flags; returns (source uid, new uid) pairs.

        On PostgreSQL the new entries are written at the end of the batch, when the
        target's row is locked (mss.store.late_counters): the pairs are there at once
        but their new UIDs (0 until then) only after the job, for COPYUID (RFC 4315
        §3). `uids_now` takes them in the job instead, holding the target's row until
        COMMIT, for a caller that writes them in the same job (the trash)."""
        session = uow.session
        source = await session.get(Folder, source_id)
        target = await session.get(Folder, target_id)
        if source is None or target is None:
            raise MailStoreError("NONEXISTENT", "folder vanished")
        entries = await self.reads.entries(session, source_id, uids=uids, reader=reader)
        if not entries:
            return []
        late = late_counters(uow) and not uids_now
        if late:
            first_uid, modseq = 0, 0
        else:
            first_uid, modseq = await allocate(session, target_id, len(entries))
        keys = await _sort_values_of(session, source_id, [e.uid for e in entries])
        pairs = []
        rows = []
        for offset, entry in enumerate(entries):
            message_id = entry.message_id
            if target.mailbox_id != source.mailbox_id:
                message_id = await self._copy_message_to(uow, entry, target.mailbox_id)
            row = {"message_id": message_id, "flags": flags_text(entry.flags),
                   "saved_at": uow.now(),  # RFC 8514 §3
                   **_NO_SORT_KEYS, **keys.get(entry.uid, {})}
            if late:
                rows.append(row)
                pairs.append((entry.uid, 0))
                continue
            new_uid = first_uid + offset
            session.add(FolderEntry(folder_id=target_id, uid=new_uid, modseq=modseq, **row))
            pairs.append((entry.uid, new_uid))
            uow.publish(ChangeEvent("exists", target.mailbox_id, target_id, new_uid, modseq))
        keywords = {f for e in entries for f in e.flags if not f.startswith("\\")}
        if late:
            uow.defer(run_late_counters, _LateCopy(uow, target_id, rows, keywords, pairs,
                                                   uids=len(rows)))
            return pairs
        await session.flush()
        await add_keywords(uow, target_id, keywords)
        return pairs

    async def _copy_message_to(self, uow: UnitOfWork, entry: EntryInfo, mailbox_id: int) -> int:
        """Another mailbox has another data key: re-encrypt the content for it."""
        raw = await self.contents.read_raw(entry.mailbox_id, entry.blob_key)
        blob = await self.contents.prepare_blob(mailbox_id, raw)
        original = await uow.session.get(StoredMessage, entry.message_id)
        assert original is not None
        message = StoredMessage(
            mailbox_id=mailbox_id, blob_key=blob.blob_key, sha256=blob.sha256, size=blob.size,
            internal_date=original.internal_date, message_id=original.message_id,
            subject=original.subject, from_addr=original.from_addr,
            to_addrs=original.to_addrs, sent_date=original.sent_date,
            sealed_header=blob.sealed_header, author=original.author,
            author_principal=original.author_principal,
            sort_subject=original.sort_subject,
            sort_from=original.sort_from, sort_to=original.sort_to, sort_cc=original.sort_cc,
        )
        uow.session.add(message)
        await uow.session.flush()
        return message.id

    async def move(
        self, uow: UnitOfWork, source_id: int, uids: Sequence[int], target_id: int,
        *, reader: str | None = None, uids_now: bool = False,
    ) -> list[tuple[int, int]]:
        """MOVE (RFC 6851): copy then expunge the sources, in the same transaction
        (the new UIDs as `copy` gives them)."""
        pairs = await self.copy(uow, source_id, uids, target_id, reader=reader,
                                uids_now=uids_now)
        moved = [src for src, _ in pairs]
        connection = await uow.core()
        late = late_counters(uow)
        query = _MOVED_ROWS_SIZED if late else _MOVED_ROWS
        removed = await run_in_transaction(connection, lambda db: _remove_plan(
            db, source_id, rows_of_uids(db, query, source_id, moved), late))
        _published_removal(uow, source_id, removed, late)
        return pairs
