"""The condition of the partial index of unread entries (migration 0015), as SQL.

The planner uses a partial index only for a query whose WHERE holds the index's own
condition, literally (a bound parameter in its place would not match): this element
renders exactly that condition, per dialect.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement


class EntryUnseen(ColumnElement[bool]):
    """``folder_entries.flags`` holds no ``\\Seen`` (NULL flags: unknown, as LIKE)."""

    type = Boolean()
    inherit_cache = True


@compiles(EntryUnseen)
def _postgresql(element: EntryUnseen, compiler: Any, **kw: Any) -> str:
    return "strpos(folder_entries.flags, '\\Seen') = 0"


@compiles(EntryUnseen, "sqlite")
def _sqlite(element: EntryUnseen, compiler: Any, **kw: Any) -> str:
    return "instr(folder_entries.flags, '\\Seen') = 0"
