"""SEARCH conditions the database answers by itself: flags and UIDs.

A client's ``SEARCH UNSEEN`` on a folder of 10,000 messages should not bring 10,000 rows
into Python to test one flag on each (Dovecot answers it from its index in a few
milliseconds). The IMAP session turns the keys it can into a `FolderFilter` (plain
data, no SQL outside this package); this module turns that into one query.

Flags match as the IMAP session sees them (`mss.store.flags.flag_held`, the SQL form of
`reader_view`): whole flags, case-insensitively (RFC 3501 §2.3.2 flags are atoms); on an
ORG mailbox the reader's private flags (``\\Seen``) come from their own row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import array_agg as pg_array_agg
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.db import UtcDateTime
from mss.store.flags import flag_held
from mss.store.folder_reads import core_execute
from mss.store.tables import FolderEntry, StoredMessage
from mss.store.thread_reads import PreparedRead, run_read


@dataclass(frozen=True, slots=True)
class Everything:
    pass


@dataclass(frozen=True, slots=True)
class FlagIs:
    flag: str
    present: bool


@dataclass(frozen=True, slots=True)
class UidWithin:
    """UIDs in any of the inclusive ranges."""

    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Negation:
    inner: FolderFilter


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[FolderFilter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[FolderFilter, ...]


FolderFilter = Everything | FlagIs | UidWithin | Negation | AllOf | AnyOf


def _condition(item: FolderFilter, reader: str | None) -> ColumnElement[bool]:
    match item:
        case Everything():
            return true()
        case FlagIs(flag=flag, present=present):
            found = flag_held(flag, reader)
            return found if present else not_(found)
        case UidWithin(ranges=ranges):
            if not ranges:
                return false()
            return or_(*(FolderEntry.uid.between(low, high) for low, high in ranges))
        case Negation(inner=inner):
            return not_(_condition(inner, reader))
        case AllOf(parts=parts):
            return and_(true(), *(_condition(p, reader) for p in parts))
        case AnyOf(parts=parts):
            return or_(false(), *(_condition(p, reader) for p in parts))
    raise TypeError(f"not a folder filter: {item!r}")


async def folder_search(
    session: AsyncSession, folder_id: int, reader: str | None, condition: FolderFilter
) -> list[int]:
    """UIDs of the matching entries, in UID order."""
    query = (select(FolderEntry.uid)
             .where(FolderEntry.folder_id == folder_id, _condition(condition, reader))
             .order_by(FolderEntry.uid))
    return list((await core_execute(session, query)).scalars().all())



SORT_COLUMNS = {
    "ARRIVAL": FolderEntry.sort_arrival,
    "DATE": FolderEntry.sort_date,
    "FROM": FolderEntry.sort_from,
    "TO": FolderEntry.sort_to,
    "CC": FolderEntry.sort_cc,
    "SUBJECT": FolderEntry.sort_subject,
    "SIZE": FolderEntry.sort_size,
}
"""RFC 5256 §3 sort keys over the copies each entry keeps of its message's keys
(`mss.store.sort_keys`, migration 0020): DATE is the Date field, the internal date when
it has none (RFC 5256 §2.2). DATE, ARRIVAL, FROM, SUBJECT and SIZE have an index of
(folder_id, key, uid), so a folder sorted on one of them is read in order."""


_SORTS: dict[tuple[tuple[str, bool], ...], PreparedRead] = {}


def _order_of(criteria: tuple[tuple[str, bool], ...]) -> list[ColumnElement[Any]]:
    """The ORDER BY of SORT criteria ((key, reverse) pairs), UID ties added by callers."""
    return [SORT_COLUMNS[key].desc() if reverse else SORT_COLUMNS[key].asc()
            for key, reverse in criteria]


def _sort_read(criteria: tuple[tuple[str, bool], ...]) -> PreparedRead:
    found = _SORTS.get(criteria)
    if found is None:
        order = _order_of(criteria)
        found = _SORTS[criteria] = PreparedRead(
            select(FolderEntry.uid)
            .where(FolderEntry.folder_id == bindparam("b_folder"))
            .order_by(*order, FolderEntry.uid))
    return found


async def folder_sort(
    session: AsyncSession, folder_id: int, criteria: tuple[tuple[str, bool], ...]
) -> list[int]:
    """Every UID of the folder in the order of `criteria` ((key, reverse) pairs), ties
    in UID order (RFC 5256 §3: the sequence number breaks ties), in one query (one
    prebuilt statement per list of criteria, run in a read connection's thread). On
    PostgreSQL the UIDs come back as one array (`array_agg ... ORDER BY`), which the
    driver decodes in C: 100,000 rows one by one cost more in Python than the sort."""
    if session.get_bind().dialect.name == "postgresql":
        ordered = (await session.execute(_sort_array(tuple(criteria)),
                                         {"b_folder": folder_id})).scalar()
        return list(ordered or ())
    query = _sort_read(tuple(criteria))
    rows = await run_read(session, lambda reads: reads.rows(query, b_folder=folder_id))
    return [row[0] for row in rows]


_SORT_ARRAYS: dict[tuple[tuple[str, bool], ...], Select[Any]] = {}


def _sort_array(criteria: tuple[tuple[str, bool], ...]) -> Select[Any]:
    found = _SORT_ARRAYS.get(criteria)
    if found is None:
        order = _order_of(criteria)
        found = _SORT_ARRAYS[criteria] = select(
            pg_array_agg(aggregate_order_by(FolderEntry.uid, *order, FolderEntry.uid))
        ).where(FolderEntry.folder_id == bindparam("b_folder"))
    return found


async def folder_thread_keys(
    session: AsyncSession, folder_id: int
) -> list[tuple[int, str, str, datetime]]:
    """(uid, message-id, base subject, sent date or internal date) of every entry, in
    UID order: what THREAD needs beside the References fields (RFC 5256 §3)."""
    query = (
        select(FolderEntry.uid, StoredMessage.message_id, StoredMessage.sort_subject,
               type_coerce(func.coalesce(StoredMessage.sent_date, StoredMessage.internal_date),
                           UtcDateTime()))
        .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
        .where(FolderEntry.folder_id == folder_id)
        .order_by(FolderEntry.uid)
    )
    return [(row[0], row[1] or "", row[2] or "", row[3])
            for row in (await core_execute(session, query)).all()]
