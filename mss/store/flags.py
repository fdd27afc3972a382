"""IMAP flags as the store keeps them, and what one reader of a shared mailbox sees.

An entry's flags are one space-separated text column, system flags in their RFC 3501
§2.3.2 spelling. Members of an ORG mailbox keep `\\Seen` for themselves (RFC 4314
§5.3-style private flags, docs/architecture.md §3) in `private_flags`; every other flag
is the shared entry's. That merge is written here once for rows already read
(`reader_view`) and once as a condition the database answers (`flag_held`), so the IMAP
folder reads, SEARCH and the webmail's unread marks and counts agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BindParameter, ColumnElement, exists, func, literal, or_

from mss.store.tables import FolderEntry, PrivateFlags

SEEN = "\\Seen"
DELETED = "\\Deleted"
SYSTEM_FLAGS = frozenset({"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"})
PRIVATE = frozenset({SEEN})
"""The flags a reader of an ORG mailbox keeps for themself."""


def flags_text(flags: Iterable[str]) -> str:
    """The column's text of `flags`: each once, sorted, space-separated."""
    return " ".join(sorted(set(flags)))


def flags_set(text: str) -> frozenset[str]:
    """The flags of a column's text (empty for an empty column)."""
    return frozenset(text.split()) if text else frozenset()


_SYSTEM = {flag.casefold(): flag for flag in SYSTEM_FLAGS}
_PRIVATE = {flag.casefold() for flag in PRIVATE}
_E = FolderEntry.__table__.c
_P = PrivateFlags.__table__.c


def reader_view(shared: frozenset[str], modseq: int, private: str | None,
                private_modseq: int | None) -> tuple[frozenset[str], int]:
    """What one reader of a shared (ORG) mailbox sees of an entry: the shared flags
    without the per-reader ones, plus that reader's own (`private_flags` row, or none
    yet); the MODSEQ is the later of the two changes (RFC 7162 §3.1.1)."""
    flags = shared - PRIVATE
    if private is None:
        return flags, modseq
    return flags | frozenset(private.split()), max(modseq, private_modseq or 0)


def holds(flags_column: ColumnElement[str], flag: str) -> ColumnElement[bool]:
    """The whole flag in a space-separated list, case-insensitively (system flags are
    stored in their RFC spelling, so only keywords need lowering; SQLite's LIKE ignores
    ASCII case anyway, PostgreSQL's does not)."""
    stored: ColumnElement[str] = func.coalesce(flags_column, "")
    system = _SYSTEM.get(flag.casefold())
    if system is not None:
        flag = system
    else:
        stored, flag = func.lower(stored), flag.lower()
    return (literal(" ") + stored + literal(" ")).contains(f" {flag} ", autoescape=True)


def flag_held(flag: str, reader: str | BindParameter[str] | None) -> ColumnElement[bool]:
    """The condition "the entry (a `folder_entries` row of the query) has `flag`, as
    `reader` sees it": `reader_view` in SQL. None reads the shared flags (an own
    mailbox); a reader (a value or a bound parameter) has the per-reader flags from
    their own `private_flags` row only, the others from the shared entry or their row.
    A correlated EXISTS on the row's primary key, so a query needs no join for it."""
    shared = holds(_E.flags, flag)
    if reader is None:
        return shared
    mine = exists().where(_P.entry_id == _E.id, _P.reader == reader, holds(_P.flags, flag))
    if flag.casefold() in _PRIVATE:
        return mine
    return or_(shared, mine)
