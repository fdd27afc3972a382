"""Which SEARCH keys the store answers by itself (flags, UIDs, sequence numbers).

`store_filter` turns such a key tree into the directory's `FolderFilter`, or returns
None when some key needs message columns or content (then the session evaluates the
tree itself with `search_match`). Semantics are those of `search_match`: a flag key
tests the whole flag case-insensitively, RECENT is the session's recent UID ranges
(RFC 3501 §2.3.2, not a stored flag), ``*`` is the session's message count or highest UID.
"""

from __future__ import annotations

from mss.imap.search_keys import (
    AllKey,
    AndKey,
    FlagKey,
    NotKey,
    OrKey,
    RecencyKey,
    SearchKey,
    SequenceKey,
)
from mss.imap.search_match import SEEN
from mss.imap.selected import SelectedMailbox
from mss.store.folder_search import (
    AllOf,
    AnyOf,
    Everything,
    FlagIs,
    FolderFilter,
    Negation,
    UidWithin,
)

MAX_RANGES = 100
"""More ranges than this are matched in Python (SQLite limits expression depth)."""


def store_filter(key: SearchKey, selected: SelectedMailbox) -> FolderFilter | None:
    match key:
        case AllKey():
            return Everything()
        case FlagKey(flag=flag, present=present):
            return FlagIs(flag, present)
        case RecencyKey(name="RECENT"):
            return UidWithin(tuple(selected.recent))
        case RecencyKey(name="NEW"):
            return AllOf((UidWithin(tuple(selected.recent)), FlagIs(SEEN, False)))
        case RecencyKey():
            return Negation(UidWithin(tuple(selected.recent)))
        case SequenceKey(sequence_set=sequence_set, uid=by_uid):
            if len(sequence_set.ranges) > MAX_RANGES:
                return None
            if by_uid:
                return UidWithin(tuple(sequence_set.bounds(selected.last_uid)))
            return UidWithin(_uid_ranges(sequence_set.bounds(len(selected.uids)), selected))
        case NotKey(key=inner):
            found = store_filter(inner, selected)
            return None if found is None else Negation(found)
        case OrKey(left=left, right=right):
            parts = (store_filter(left, selected), store_filter(right, selected))
            return None if None in parts else AnyOf(parts)  # type: ignore[arg-type]
        case AndKey(keys=keys):
            found_parts = [store_filter(inner, selected) for inner in keys]
            if any(part is None for part in found_parts):
                return None
            return AllOf(tuple(found_parts))  # type: ignore[arg-type]
    return None


def _uid_ranges(
    bounds: list[tuple[int, int]], selected: SelectedMailbox
) -> tuple[tuple[int, int], ...]:
    """Sequence-number ranges as UID ranges of the session's view: every UID between
    two known ones is known too (new messages only come after the last one)."""
    count = len(selected.uids)
    ranges = []
    for low, high in bounds:
        low, high = max(low, 1), min(high, count)
        if low <= high:
            ranges.append((selected.uids[low - 1], selected.uids[high - 1]))
    return tuple(ranges)
