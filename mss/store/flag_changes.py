"""Flag changes: STORE (RFC 3501 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3), and the
keywords a folder lists for SELECT's FLAGS (RFC 3501 §7.2.6).

Each change of an entry's flags takes one MODSEQ of the folder for the whole command
(mss.store.folder_counters; on PostgreSQL at the end of the batch, mss.store.late_counters)
and publishes a change event, delivered after commit. A
reader of a shared (ORG) mailbox writes `\\Seen` in their own `private_flags` row
(mss.store.flags).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import bindparam, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.store.events import ChangeEvent
from mss.store.flags import PRIVATE, flags_set, flags_text
from mss.store.folder_counters import BUMP_FOLDER_MODSEQ
from mss.store.late_counters import (
    COUNT_LATE,
    COUNT_NOW,
    PENDING_MODSEQ,
    LateKind,
    LateWork,
    Taken,
    add_counts,
    counts_of,
    late_counters,
    run_late_counters,
)
from mss.store.tables import Folder, FolderEntry, PrivateFlags
from mss.store.thread_reads import PreparedStatement, Reads, run_in_transaction
from mss.store.uid_sets import rows_of_uids
from mss.store.unit_of_work import UnitOfWork


class FlagMode(Enum):
    REPLACE = "replace"
    ADD = "add"
    REMOVE = "remove"


@dataclass
class FlagChange:
    """A STORE's result; on PostgreSQL its MODSEQs are written in at the end of the batch
    (mss.store.late_counters): read them after the job."""

    changed: list[tuple[int, int, frozenset[str]]] = field(default_factory=list)  # uid, modseq
    conflicts: list[int] = field(default_factory=list)  # UNCHANGEDSINCE failures (RFC 7162)


_F = Folder.__table__.c
_E = FolderEntry.__table__.c
_P = PrivateFlags.__table__.c
_UPDATE_ENTRY_FLAGS = (
    update(FolderEntry.__table__).where(_E.id == bindparam("b_entry"))
    .values(flags=bindparam("flags"), modseq=bindparam("modseq"))
)
_UPDATE_PRIVATE_FLAGS = (
    update(PrivateFlags.__table__)
    .where(_P.entry_id == bindparam("b_entry"), _P.reader == bindparam("b_reader"))
    .values(flags=bindparam("flags"), modseq=bindparam("modseq"))
)
# STORE as a plan (mss.store.thread_reads): one hop to the writing thread
_ENTRY_FLAG_ROWS = PreparedStatement(
    select(_E.id, _E.uid, _E.modseq, _E.flags)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(_E.uid))
# on PostgreSQL the entries are held from here to COMMIT: a STORE of another node on the
# same messages waits, then reads the flags this one wrote (no lost update), and an
# UNCHANGEDSINCE check holds until the change is written (RFC 7162 §3.1.3)
_ENTRY_FLAG_ROWS_HELD = PreparedStatement(
    select(_E.id, _E.uid, _E.modseq, _E.flags)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(_E.uid).with_for_update())
_PRIVATE_ROW = PreparedStatement(
    select(_P.flags, _P.modseq).where(_P.reader == bindparam("b_reader"),
                                      _P.entry_id == bindparam("b_entry")))
_SET_ENTRY_FLAGS = PreparedStatement(_UPDATE_ENTRY_FLAGS)
_SET_PRIVATE_FLAGS = PreparedStatement(_UPDATE_PRIVATE_FLAGS)
_ADD_PRIVATE_FLAGS = PreparedStatement(insert(PrivateFlags.__table__).values(
    entry_id=bindparam("b_entry"), reader=bindparam("b_reader"), flags=bindparam("flags"),
    modseq=bindparam("modseq")))
_listed_keywords = func.coalesce(_F.keywords, "")
_ADD_KEYWORD = PreparedStatement(
    update(Folder.__table__).where(
        _F.id == bindparam("b_folder"),
        ~(literal(" ") + _listed_keywords + literal(" ")).like(bindparam("b_like"), escape="/"),
    ).values(keywords=func.trim(_listed_keywords + literal(" ") + bindparam("b_keyword"))))


def _like_word(word: str) -> str:
    """A LIKE pattern (escape ``/``) for `word` between spaces."""
    escaped = word.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"% {escaped} %"


def add_keywords_plan(db: Reads, folder_id: int, keywords: list[str]) -> None:
    for keyword in keywords:
        db.rows(_ADD_KEYWORD, b_folder=folder_id, b_like=_like_word(keyword),
                b_keyword=keyword)


@dataclass(frozen=True, slots=True)
class _FlagsRequest:
    folder_id: int
    uids: Sequence[int]
    wanted: frozenset[str]
    mode: FlagMode
    reader: str | None
    unchanged_since: int | None


def _store_flags_plan(db: Reads, request: _FlagsRequest, late: bool) -> _Stored:
    """STORE in the writing transaction. With `late` (PostgreSQL) the folder row is not
    touched: the changed rows carry PENDING_MODSEQ, and the end of the batch stamps the
    command's MODSEQ on them and adds the keywords (`_Stamps`)."""
    reader, wanted, mode = request.reader, request.wanted, request.mode
    stored = _Stored(FlagChange())
    change = stored.change
    rows = rows_of_uids(db, _ENTRY_FLAG_ROWS_HELD if late else _ENTRY_FLAG_ROWS,
                        request.folder_id, request.uids)
    modseq: int | None = None
    shared_updates: list[dict[str, Any]] = []
    private_updates: list[dict[str, Any]] = []
    private_inserts: list[dict[str, Any]] = []
    for entry_id, uid, entry_modseq, entry_flags in rows:
        shared = flags_set(entry_flags)
        mine = (db.first(_PRIVATE_ROW, b_reader=reader, b_entry=entry_id)
                if reader is not None else None)
        current_modseq = max(entry_modseq, mine[1] if mine else 0)
        current = shared
        if reader is not None:
            current = (shared - PRIVATE) | flags_set(mine[0] if mine else "")
        if request.unchanged_since is not None and current_modseq > request.unchanged_since:
            change.conflicts.append(uid)
            continue
        if mode is FlagMode.REPLACE:
            new = wanted
        elif mode is FlagMode.ADD:
            new = current | wanted
        else:
            new = current - wanted
        if new == current:
            continue
        if modseq is None:
            if late:
                modseq = PENDING_MODSEQ
            else:
                modseq, stored.mailbox_id = db.first(
                    BUMP_FOLDER_MODSEQ, b_folder=request.folder_id) or (0, 0)
        if reader is not None:
            new_private, new_shared = new & PRIVATE, (new - PRIVATE) | (shared & PRIVATE)
            values = {"b_entry": entry_id, "b_reader": reader,
                      "flags": flags_text(new_private), "modseq": modseq}
            (private_updates if mine else private_inserts).append(values)
            stored.private.append(entry_id)
            if new_shared != shared:
                shared_updates.append({"b_entry": entry_id, "flags": flags_text(new_shared),
                                       "modseq": modseq})
                stored.shared.append(entry_id)
                stored.counts = add_counts(stored.counts, counts_of(shared, new_shared))
        else:
            shared_updates.append({"b_entry": entry_id, "flags": flags_text(new),
                                   "modseq": modseq})
            stored.shared.append(entry_id)
            stored.counts = add_counts(stored.counts, counts_of(shared, new))
        change.changed.append((uid, modseq, new))
    if late and shared_updates:  # counted at the end of the batch, with the MODSEQ
        db.first(COUNT_LATE)
    db.execute_many(_SET_ENTRY_FLAGS, shared_updates)
    if late and shared_updates:
        db.first(COUNT_NOW)
    db.execute_many(_SET_PRIVATE_FLAGS, private_updates)
    db.execute_many(_ADD_PRIVATE_FLAGS, private_inserts)
    if change.changed and mode is not FlagMode.REMOVE:
        stored.keywords = sorted({f for f in wanted if not f.startswith("\\")})
        if not late:
            add_keywords_plan(db, request.folder_id, stored.keywords)
    return stored


@dataclass(slots=True)
class _Stored:
    """What a STORE plan did: the change, the folder's mailbox (0 when `late`), the
    entry ids whose shared row and whose reader's row it wrote, the keywords it set."""

    change: FlagChange
    mailbox_id: int = 0
    shared: list[int] = field(default_factory=list)
    private: list[int] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)  # (mss.store.late_counters)


@dataclass(slots=True)
class _LateStamp(LateWork):
    """A STORE on PostgreSQL waiting for its MODSEQ (`_Stamps`)."""

    kind: ClassVar[LateKind]
    uow: UnitOfWork
    folder_id: int
    reader: str | None
    stored: _Stored
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)


_STAMP_ENTRIES = text(
    "UPDATE folder_entries AS e SET modseq = w.m"
    " FROM unnest(CAST(:b_ids AS bigint[]), CAST(:b_modseqs AS bigint[])) AS w(id, m)"
    " WHERE e.id = w.id")
_STAMP_PRIVATE = text(
    "UPDATE private_flags AS p SET modseq = w.m"
    " FROM unnest(CAST(:b_ids AS bigint[]), CAST(:b_readers AS text[]),"
    " CAST(:b_modseqs AS bigint[])) AS w(id, r, m)"
    " WHERE p.entry_id = w.id AND p.reader = w.r")


class _Stamps(LateKind):
    """The batch's STOREs get their MODSEQs (one per command, RFC 7162 §3.1), in the
    order of the batch: the rows a later STORE of the batch changed again keep its."""

    async def write(self, connection: AsyncConnection, items: Sequence[Any],
                    taken: Sequence[Taken]) -> None:
        shared: dict[int, int] = {}
        private: dict[tuple[int, str], int] = {}
        keywords: dict[int, set[str]] = {}
        for item, given in zip(items, taken, strict=True):
            modseq, stored = given.first_modseq, item.stored
            shared.update((entry_id, modseq) for entry_id in stored.shared)
            private.update(((entry_id, item.reader), modseq) for entry_id in stored.private)
            keywords.setdefault(given.folder_id, set()).update(stored.keywords)
            changed = stored.change.changed
            changed[:] = [(uid, modseq, new) for uid, _, new in changed]  # the holder
            for uid, _, new in changed:
                item.uow.publish(ChangeEvent("flags", given.mailbox_id, given.folder_id, uid,
                                             modseq, tuple(sorted(new)), item.reader))
        if shared:
            await connection.execute(_STAMP_ENTRIES, {
                "b_ids": list(shared), "b_modseqs": list(shared.values())})
        if private:
            await connection.execute(_STAMP_PRIVATE, {
                "b_ids": [e for e, _ in private], "b_readers": [r for _, r in private],
                "b_modseqs": list(private.values())})
        await add_folder_keywords(connection, keywords)


_LateStamp.kind = _Stamps()


async def add_folder_keywords(connection: AsyncConnection,
                              keywords: dict[int, set[str]]) -> None:
    """`add_keywords` for several folders (folder id -> keywords), in the writing
    transaction of `connection`."""
    wanted = [(folder_id, sorted(words)) for folder_id, words in sorted(keywords.items())
              if words]
    def plan(db: Reads) -> None:
        for folder_id, words in wanted:
            add_keywords_plan(db, folder_id, words)

    if wanted:
        await run_in_transaction(connection, plan)


async def add_keywords(uow: UnitOfWork, folder_id: int, flags: Iterable[str]) -> None:
    """Remember keywords stored in the folder, for SELECT's FLAGS (RFC 3501 §7.2.6);
    one atomic UPDATE per keyword the folder does not list yet."""
    keywords = sorted({f for f in flags if not f.startswith("\\")})
    if not keywords:
        return
    connection = await uow.core()
    await run_in_transaction(connection,
                             lambda db: add_keywords_plan(db, folder_id, keywords))


class FlagChanges:
    """STORE on a folder's entries, in the job's transaction."""

    async def store_flags(
        self, uow: UnitOfWork, folder_id: int, uids: Sequence[int], flags: Iterable[str],
        mode: FlagMode, *, reader: str | None = None, unchanged_since: int | None = None,
    ) -> FlagChange:
        """STORE (RFC 3501 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3).

        One plan on the transaction's connection (a client marking messages read is the
        commonest write after delivery: on SQLite one hop to the writing thread); the
        session is flushed before and its loaded rows expired after, so ORM work in the
        same transaction stays right."""
        connection = await uow.core()
        request = _FlagsRequest(folder_id, uids, frozenset(flags), mode, reader,
                                unchanged_since)
        late = late_counters(uow)
        stored = await run_in_transaction(
            connection, lambda db: _store_flags_plan(db, request, late))
        change = stored.change
        uow.session.expire_all()
        if late:
            if change.changed:  # its MODSEQs, events and keywords at the end of the batch
                uow.defer(run_late_counters, _LateStamp(uow, folder_id, reader, stored,
                                                        stored.counts))
            return change
        for uid, modseq, new in change.changed:
            uow.publish(ChangeEvent("flags", stored.mailbox_id, folder_id, uid, modseq,
                                    tuple(sorted(new)), reader))
        return change
