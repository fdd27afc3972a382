"""Flag changes: STORE (RFC 3501 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3), and the
keywords a folder lists for SELECT's FLAGS (RFC 3501 §7.2.6).

Each change of an entry's flags takes one MODSEQ of the folder for the whole command
(mss.store.folder_counters) and publishes a change event, delivered after commit. A
reader of a shared (ORG) mailbox writes `\\Seen` in their own `private_flags` row
(mss.store.flags).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, select, update

from mss.store.events import ChangeEvent
from mss.store.flags import PRIVATE, flags_set, flags_text
from mss.store.folder_counters import BUMP_FOLDER_MODSEQ
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


def _store_flags_plan(db: Reads, request: _FlagsRequest) -> tuple[FlagChange, int]:
    """STORE in the writing transaction: (the change, the mailbox id)."""
    reader, wanted, mode = request.reader, request.wanted, request.mode
    change = FlagChange()
    rows = rows_of_uids(db, _ENTRY_FLAG_ROWS, request.folder_id, request.uids)
    modseq: int | None = None
    mailbox_id = 0
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
            modseq, mailbox_id = db.first(BUMP_FOLDER_MODSEQ, b_folder=request.folder_id
                                          ) or (0, 0)
        if reader is not None:
            new_private, new_shared = new & PRIVATE, (new - PRIVATE) | (shared & PRIVATE)
            values = {"b_entry": entry_id, "b_reader": reader,
                      "flags": flags_text(new_private), "modseq": modseq}
            (private_updates if mine else private_inserts).append(values)
            if new_shared != shared:
                shared_updates.append({"b_entry": entry_id, "flags": flags_text(new_shared),
                                       "modseq": modseq})
        else:
            shared_updates.append({"b_entry": entry_id, "flags": flags_text(new),
                                   "modseq": modseq})
        change.changed.append((uid, modseq, new))
    db.execute_many(_SET_ENTRY_FLAGS, shared_updates)
    db.execute_many(_SET_PRIVATE_FLAGS, private_updates)
    db.execute_many(_ADD_PRIVATE_FLAGS, private_inserts)
    if change.changed and mode is not FlagMode.REMOVE:
        add_keywords_plan(db, request.folder_id,
                           sorted({f for f in wanted if not f.startswith("\\")}))
    return change, mailbox_id


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
        change, mailbox_id = await run_in_transaction(
            connection, lambda db: _store_flags_plan(db, request))
        for uid, modseq, new in change.changed:
            uow.publish(ChangeEvent("flags", mailbox_id, folder_id, uid, modseq,
                                    tuple(sorted(new)), reader))
        uow.session.expire_all()
        return change
