"""Lean folder reads: the columns a protocol session needs, in one hop.

These are Core queries that return only the columns a protocol session needs; loading
100,000 ORM rows to SELECT a folder costs seconds, these cost tens of milliseconds.
Flags of ORG mailboxes are merged with the reader's private flags exactly as
`mss.store.entry_reads.EntryReads.entries` does (RFC 4314 §5.3-style private
``\\Seen``). Who may read a mailbox, and as which reader, is decided by
`mss.directory.mail_access`.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Result, and_, bindparam, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.entry_reads import EntryInfo
from mss.store.flags import SEEN, flag_held, reader_view
from mss.store.tables import (
    ExpungedEntry,
    Folder,
    FolderEntry,
    PrivateFlags,
    StoredMessage,
)
from mss.store.thread_reads import PreparedRead, Reads, run_read
from mss.store.uid_sets import LAST_UID, SPARSE_RUNS, uid_runs
from mss.store.unseen_index import EntryUnseen

# -- lean folder reads ---------------------------------------------------------------
# Each read below is a plan (mss.store.thread_reads): statements built once at import,
# run in one hop to a read connection on SQLite, or on the caller's connection.


async def core_execute(session: AsyncSession, query: Any) -> Result[*tuple[Any, ...]]:
    """A Core query on the session's connection: plain rows, without the ORM's loading
    step, which costs more than SQLite itself on reads of thousands of rows."""
    connection = await session.connection()
    return await connection.execute(query)


@dataclass(frozen=True, slots=True)
class FolderIndex:
    """What SELECT needs (RFC 3501 §6.3.1): UIDs in order and the first unseen."""

    uids: array[int]
    first_unseen_uid: int | None


_E = FolderEntry.__table__.c
_P = PrivateFlags.__table__.c
_M = StoredMessage.__table__.c
_F = Folder.__table__.c
_FOLDER: BindParameter[int] = bindparam("b_folder")
_READER: BindParameter[str] = bindparam("b_reader")


def _with_private(query, reader: str | None):  # type: ignore[no-untyped-def]
    if reader is None:
        return query
    return query.outerjoin(
        PrivateFlags.__table__, and_(_P.entry_id == _E.id, _P.reader == _READER),
    )


def _values(folder_id: int, reader: str | None, **more: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"b_folder": folder_id, **more}
    if reader is not None:
        values["b_reader"] = reader
    return values


_numbered = select(
    _E.uid.label("uid"), (_E.uid - func.row_number().over(order_by=_E.uid)).label("run"),
).where(_E.folder_id == _FOLDER).subquery()
_UID_RUNS = PreparedRead(
    select(func.min(_numbered.c.uid), func.max(_numbered.c.uid))
    .group_by(_numbered.c.run).order_by(func.min(_numbered.c.uid))
)
"""UIDs as runs of consecutive UIDs ("gaps and islands" with a window function): a
folder is mostly long runs, so 100,000 UIDs are a few rows."""
_FIRST_UID = PreparedRead(
    select(_E.uid).where(_E.folder_id == _FOLDER).order_by(_E.uid).limit(1))
_LAST_UID_OF = PreparedRead(
    select(_E.uid).where(_E.folder_id == _FOLDER).order_by(_E.uid.desc()).limit(1))
_ALL_UIDS = PreparedRead(select(_E.uid).where(_E.folder_id == _FOLDER).order_by(_E.uid))
_GONE_BETWEEN = PreparedRead(
    select(ExpungedEntry.__table__.c.uid).where(
        ExpungedEntry.__table__.c.folder_id == _FOLDER,
        ExpungedEntry.__table__.c.uid.between(bindparam("b_low"), bindparam("b_high")),
    ).order_by(ExpungedEntry.__table__.c.uid))
_SELECT_COUNTS = PreparedRead(
    select(_F.message_count, _F.unseen_count).where(_F.id == _FOLDER))
_FIRST_UNSEEN = {
    False: PreparedRead(  # the partial index of unread entries (migration 0015)
        select(_E.uid).where(_E.folder_id == _FOLDER, EntryUnseen())
        .order_by(_E.uid).limit(1)),
    True: PreparedRead(
        select(_E.uid).where(_E.folder_id == _FOLDER, ~flag_held(SEEN, _READER))
        .order_by(_E.uid).limit(1)),
}


def _uids_of(reads: Reads, folder_id: int) -> array[int]:
    uids: array[int] = array("Q")
    for low, high in reads.rows(_UID_RUNS, b_folder=folder_id):
        uids.extend(range(low, high + 1))
    return uids


async def folder_uids(session: AsyncSession, folder_id: int) -> array[int]:
    """UIDs in order."""
    return await run_read(session, lambda reads: _uids_of(reads, folder_id))


def _flags_of(text: str | None, cache: dict[str, frozenset[str]]) -> frozenset[str]:
    text = text or ""
    flags = cache.get(text)
    if flags is None:
        flags = cache[text] = frozenset(text.split())
    return flags


_FOLDER_FLAGS = {
    private: PreparedRead(
        _with_private(
            select(_E.uid, _E.modseq, _E.flags,
                   *((_P.flags, _P.modseq) if private else ()))
            .select_from(FolderEntry.__table__), "" if private else None)
        .where(_E.folder_id == _FOLDER).order_by(_E.uid))
    for private in (False, True)
}


async def folder_flags(
    session: AsyncSession, folder_id: int, reader: str | None
) -> list[tuple[int, int, frozenset[str]]]:
    """(uid, modseq, flags) of every entry, the reader's view; no message columns."""
    def plan(reads: Reads) -> list[tuple[int, int, frozenset[str]]]:
        found = []
        cache: dict[str, frozenset[str]] = {}
        for row in reads.rows(_FOLDER_FLAGS[reader is not None], **_values(folder_id, reader)):
            flags, modseq = _flags_of(row[2], cache), row[1]
            if reader is not None:
                flags, modseq = reader_view(flags, modseq, row[3], row[4])
            found.append((row[0], modseq, flags))
        return found

    return await run_read(session, plan)


def _folder_index(reads: Reads, folder_id: int, reader: str | None) -> FolderIndex:
    counts = reads.first(_SELECT_COUNTS, b_folder=folder_id)
    count, unseen = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    low = reads.scalar(_FIRST_UID, b_folder=folder_id)
    if not count or low is None:
        return FolderIndex(array("Q"), None)
    high = reads.scalar(_LAST_UID_OF, b_folder=folder_id)
    uids = _uids_between(reads, folder_id, low, high, count)
    first = None
    if reader is not None or unseen:
        first = reads.scalar(_FIRST_UNSEEN[reader is not None], **_values(folder_id, reader))
    return FolderIndex(uids, first)


def _uids_between(reads: Reads, folder_id: int, low: int, high: int, count: int) -> array[int]:
    """The folder's UIDs from its first to its last: the whole range when it has no gap;
    else the range without the UIDs expunged from it (kept for QRESYNC, never reused),
    when that accounts for every entry; else read entry by entry."""
    if high - low + 1 == count:
        return array("Q", range(low, high + 1))
    gone = [row[0] for row in reads.rows(_GONE_BETWEEN, b_folder=folder_id, b_low=low,
                                         b_high=high)]
    if high - low + 1 - len(gone) == count:
        uids: array[int] = array("Q")
        start = low
        for uid in gone:
            uids.extend(range(start, uid))
            start = uid + 1
        uids.extend(range(start, high + 1))
        return uids
    return array("Q", (row[0] for row in reads.rows(_ALL_UIDS, b_folder=folder_id)))


async def folder_index(session: AsyncSession, folder_id: int, reader: str | None) -> FolderIndex:
    """UIDs and the first unseen UID, without reading the folder entry by entry: the
    count from the folder's counters (migration 0013), the bounds from the (folder, uid)
    index, the gaps from the expunged UIDs, the first unseen from the partial index of
    unread entries (migration 0015)."""
    return await run_read(session, lambda reads: _folder_index(reads, folder_id, reader))


@dataclass(frozen=True, slots=True)
class FolderCounts:
    """STATUS items (RFC 3501 §6.3.10, RFC 7162, RFC 8438)."""

    messages: int
    unseen: int
    deleted: int
    size: int
    uidnext: int
    uidvalidity: int
    highestmodseq: int
    recent: int = 0


_FOLDER_ROW = PreparedRead(
    select(_F.uidnext, _F.uidvalidity, _F.highestmodseq, _F.recent_uid, _F.message_count,
           _F.unseen_count, _F.deleted_count, _F.total_size)
    .where(_F.id == _FOLDER))
_UNSEEN_PRIVATE = PreparedRead(
    select(func.count()).select_from(FolderEntry.__table__)
    .where(_E.folder_id == _FOLDER, ~flag_held(SEEN, _READER)))
_RECENT = PreparedRead(
    select(func.count()).select_from(FolderEntry.__table__)
    .where(_E.folder_id == _FOLDER, _E.uid >= bindparam("b_recent")))


def _folder_counts(reads: Reads, folder_id: int, reader: str | None) -> FolderCounts:
    """The counters the database keeps on the folder row (migration 0013); a reader of
    an ORG mailbox has \\Seen of their own, so their unseen entries are counted."""
    folder = reads.first(_FOLDER_ROW, b_folder=folder_id)
    if folder is None:
        return FolderCounts(0, 0, 0, 0, 1, 0, 0)
    uidnext, uidvalidity, highestmodseq, recent_uid, messages, unseen, deleted, size = folder
    if reader is not None:
        unseen = reads.scalar(_UNSEEN_PRIVATE, b_folder=folder_id, b_reader=reader)
    # RFC 3501 §6.3.10: not yet claimed by a session's SELECT (an index range)
    recent = reads.scalar(_RECENT, b_folder=folder_id, b_recent=recent_uid)
    return FolderCounts(int(messages), int(unseen), int(deleted), int(size), uidnext,
                        uidvalidity, highestmodseq, int(recent))


async def folder_counts(session: AsyncSession, folder_id: int, reader: str | None) -> FolderCounts:
    return await run_read(session, lambda reads: _folder_counts(reads, folder_id, reader))


_ENTRY_READS: dict[tuple[bool, bool, bool], PreparedRead] = {}


def _entry_read(private: bool, with_header: bool, changed: bool) -> PreparedRead:
    """Entries of a UID range (`b_low`..`b_high`), optionally changed after `b_since`."""
    key = (private, with_header, changed)
    found = _ENTRY_READS.get(key)
    if found is None:
        columns = [
            _E.uid, _E.modseq, _E.flags, _M.id, _M.mailbox_id, _M.blob_key, _M.size,
            _M.internal_date, _M.subject,
            func.coalesce(_M.author, _M.from_addr),  # docs/sender-truth.md
            _M.sealed_header if with_header else literal(None),
        ]
        if private:
            columns += [_P.flags, _P.modseq]
        query = _with_private(
            select(*columns).select_from(
                FolderEntry.__table__.join(StoredMessage.__table__, _M.id == _E.message_id)),
            "" if private else None,
        ).where(_E.folder_id == _FOLDER, _E.uid.between(bindparam("b_low"), bindparam("b_high")))
        if changed:  # RFC 7162 CHANGEDSINCE: the (folder, modseq) index
            since: BindParameter[int] = bindparam("b_since")
            query = query.where(_E.modseq > since if not private
                                else or_(_E.modseq > since, _P.modseq > since))
        found = _ENTRY_READS[key] = PreparedRead(query.order_by(_E.uid))
    return found


def _entries(
    reads: Reads, folder_id: int, reader: str | None, uids: Sequence[int] | None,
    uid_min: int | None, changed_since: int | None, with_header: bool,
) -> list[EntryInfo]:
    query = _entry_read(reader is not None, with_header, changed_since is not None)
    wanted: set[int] | None = None
    if uids is None:
        ranges = [(uid_min or 0, LAST_UID)]
    else:
        ranges = uid_runs(uids)
        if len(ranges) > SPARSE_RUNS:  # scattered: the whole span, filtered here
            wanted = set(uids)
            ranges = [(ranges[0][0], ranges[-1][1])]
        if uid_min is not None:
            ranges = [(max(low, uid_min), high) for low, high in ranges if high >= uid_min]
    values = _values(folder_id, reader)
    if changed_since is not None:
        values["b_since"] = changed_since
    result: list[EntryInfo] = []
    cache: dict[str, frozenset[str]] = {}
    for low, high in ranges:
        for row in reads.rows(query, b_low=low, b_high=high, **values):
            if wanted is not None and row[0] not in wanted:
                continue
            flags = _flags_of(row[2], cache)
            modseq = row[1]
            if reader is not None:
                flags, modseq = reader_view(flags, modseq, row[11], row[12])
            if changed_since is not None and modseq <= changed_since:
                continue
            result.append(EntryInfo(
                uid=row[0], modseq=modseq, flags=flags, message_id=row[3], mailbox_id=row[4],
                blob_key=row[5], size=row[6], internal_date=row[7], subject=row[8] or "",
                from_addr=row[9] or "", sealed_header=row[10],
            ))
    return result


async def folder_entries(
    session: AsyncSession, folder_id: int, reader: str | None, *,
    uids: Sequence[int] | None = None, uid_min: int | None = None,
    changed_since: int | None = None, with_header: bool = False,
) -> list[EntryInfo]:
    """Entries in UID order with the reader's view of the flags, in one hop.

    The UIDs asked for are read as runs of consecutive UIDs (one indexed range each);
    more than SPARSE_RUNS runs are read as their whole span and filtered here, so a set
    of 10,000 UIDs is never 10,000 bound parameters. `with_header` adds each message's
    sealed header section (for header-only FETCH).
    """
    if uids is not None and not uids:
        return []
    return await run_read(session, lambda reads: _entries(
        reads, folder_id, reader, uids, uid_min, changed_since, with_header))


_EXPUNGED = PreparedRead(
    select(ExpungedEntry.__table__.c.uid).where(
        ExpungedEntry.__table__.c.folder_id == _FOLDER,
        ExpungedEntry.__table__.c.modseq > bindparam("b_since"),
    ).order_by(ExpungedEntry.__table__.c.uid))


async def expunged_since(
    session: AsyncSession, folder_id: int, modseq: int,
    within: Sequence[tuple[int, int]] | None = None,
) -> list[int]:
    """UIDs removed from the folder after `modseq`, optionally only those in the UID
    ranges `within` (RFC 7162 §3.2.5 VANISHED (EARLIER)), ascending."""
    found = [row[0] for row in await run_read(session, lambda reads: reads.rows(
        _EXPUNGED, b_folder=folder_id, b_since=modseq))]
    if within is None:
        return found
    return [uid for uid in found if any(low <= uid <= high for low, high in within)]


_FOLDER_ID = PreparedRead(
    select(_F.id).where(_F.mailbox_id == bindparam("b_mailbox"), _F.name == bindparam("b_name")))
_HIGHEST_MODSEQ = PreparedRead(select(_F.highestmodseq).where(_F.id == _FOLDER))


async def folder_id_of(session: AsyncSession, mailbox_id: int, name: str) -> int | None:
    """The id of a folder, or None (no exception: callers answer NONEXISTENT)."""
    found = await run_read(session, lambda reads: reads.scalar(
        _FOLDER_ID, b_mailbox=mailbox_id, b_name=name))
    return None if found is None else int(found)


async def folder_highest_modseq(session: AsyncSession, folder_id: int) -> int:
    """The folder's HIGHESTMODSEQ (RFC 7162 §3.1.2), 0 once it is gone."""
    found = await run_read(session, lambda reads: reads.scalar(
        _HIGHEST_MODSEQ, b_folder=folder_id))
    return int(found or 0)
