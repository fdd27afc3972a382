"""A set of UIDs read as runs of consecutive UIDs: a client's UID set (RFC 3501 §9,
``sequence-set``) is mostly ranges, so a read of many UIDs is a few range scans."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mss.store.thread_reads import PreparedStatement, Reads

SPARSE_RUNS = 64
"""Up to this many runs of consecutive UIDs are read one range each; more, as their span."""
LAST_UID = 2**63 - 1


def uid_runs(uids: Iterable[int]) -> list[tuple[int, int]]:
    """Distinct UIDs, ascending, as inclusive runs of consecutive UIDs."""
    runs: list[tuple[int, int]] = []
    for uid in sorted(set(uids)):
        if runs and runs[-1][1] + 1 == uid:
            runs[-1] = (runs[-1][0], uid)
        else:
            runs.append((uid, uid))
    return runs


def rows_of_uids(db: Reads, query: PreparedStatement, folder_id: int,
                 uids: Sequence[int] | None) -> list[tuple[Any, ...]]:
    """Rows of `query` (UID in `b_low`..`b_high`, UID first after the id) for `uids`
    (None: all), read as runs of UIDs, or as their span when scattered."""
    if uids is None:
        return db.rows(query, b_folder=folder_id, b_low=0, b_high=LAST_UID)
    runs = uid_runs(uids)
    if not runs:
        return []
    if len(runs) > SPARSE_RUNS:
        wanted = set(uids)
        return [row for row in db.rows(query, b_folder=folder_id, b_low=runs[0][0],
                                       b_high=runs[-1][1]) if row[1] in wanted]
    return [row for low, high in runs
            for row in db.rows(query, b_folder=folder_id, b_low=low, b_high=high)]
