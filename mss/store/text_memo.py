"""Readings of header text kept by the text they read (issue 19: a correspondent's From,
To, Subject and Content-Type repeat from message to message).

Invariants: a kept reading is a pure function of its arguments and returns an immutable
value; memos are bounded in entries (least recently used dropped) and in what they hold:
arguments longer than `MEMO_VALUE_CHARS` are read each time, never kept, so crafted long
fields cannot fill memory; a reading that raises raises each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import ParamSpec, TypeVar

MEMO_VALUE_CHARS = 1000
MEMO_ENTRIES = 1024

P = ParamSpec("P")
T = TypeVar("T")


def kept_readings(reading: Callable[P, T], *, size: Callable[P, int],
                  entries: int = MEMO_ENTRIES) -> Callable[P, T]:
    """`reading`, its results kept for arguments whose `size` is `MEMO_VALUE_CHARS` or less."""
    kept = lru_cache(maxsize=entries)(reading)

    def read(*args: P.args, **kwargs: P.kwargs) -> T:
        if size(*args, **kwargs) <= MEMO_VALUE_CHARS:
            return kept(*args, **kwargs)  # type: ignore[arg-type, no-any-return]
        return reading(*args, **kwargs)

    return read


def total_length(texts: Iterable[str]) -> int:
    return sum(len(text) for text in texts)
