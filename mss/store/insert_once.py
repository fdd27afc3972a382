"""INSERT that leaves a row with the same unique key alone: the one race-free way for two
processes (or nodes) to create the same row, on SQLite and PostgreSQL alike.

A read-then-insert lets both writers see "missing" and the later one fail on the unique
constraint (a 451 to a sender, a NO [SERVERBUG] to a client); `ON CONFLICT DO NOTHING`
makes the later one wait for the first's commit on PostgreSQL, then do nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect


def insert_once(dialect: Dialect, table: Table | Any,
                keys: Sequence[str] | None = None) -> Any:
    """`INSERT ... ON CONFLICT (keys) DO NOTHING` for `table` (a Table or a mapped class);
    no `keys`: any unique constraint. Add `.returning(...)` to learn whether it wrote."""
    insert = sqlite_insert if dialect.name == "sqlite" else pg_insert
    return insert(table).on_conflict_do_nothing(index_elements=keys)
