"""Sequence sets (RFC 3501 §9 ``sequence-set``) and their evaluation (§6.4.8).

A set is kept as written: ranges whose ends are numbers or ``*`` (``None`` here), so
that the same value can be evaluated against sequence numbers or against UIDs.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STAR = None
"""The ``*`` end of a range: the largest number in use (RFC 3501 §9 ``seq-number``)."""

SequenceNumberEnd = int | None


MAX_UID = 2**63 - 1


class SequenceOutOfRange(ValueError):
    """A message sequence number beyond the mailbox (RFC 3501 §9: reply ``BAD``/``NO``)."""


@dataclass(frozen=True)
class SequenceSet:
    """``1:3,5,7:*`` as ((1, 3), (5, 5), (7, None)); ``$`` (RFC 5182 §2.1, the saved
    search result) as no ranges with `saved`, resolved by the session before use."""

    ranges: tuple[tuple[SequenceNumberEnd, SequenceNumberEnd], ...]
    saved: bool = False

    def __str__(self) -> str:
        if self.saved:
            return "$"
        return ",".join(_render_range(low, high) for low, high in self.ranges)

    def bounds(self, largest: int) -> list[tuple[int, int]]:
        """Ranges with ``*`` replaced by `largest` and each ordered low to high."""
        result = []
        for low, high in self.ranges:
            first = largest if low is None else low
            last = largest if high is None else high
            result.append((min(first, last), max(first, last)))
        return result

    def contains(self, number: int, largest: int) -> bool:
        """Whether `number` is in the set, ``*`` standing for `largest`."""
        return any(low <= number <= high for low, high in self.bounds(largest))

    def sequence_numbers(self, message_count: int) -> list[int]:
        """Message sequence numbers named by the set, ascending, without duplicates.

        RFC 3501 §9: a number above the count of messages is invalid, so it raises
        `SequenceOutOfRange` (``*`` in an empty mailbox, too).
        """
        found: set[int] = set()
        for low, high in self.bounds(message_count):
            if low < 1 or high > message_count:
                raise SequenceOutOfRange(f"no message {high} in a mailbox of {message_count}")
            found.update(range(low, high + 1))
        return sorted(found)

    def uids(self, mailbox_uids: Sequence[int]) -> list[int]:
        """UIDs of `mailbox_uids` (ascending) that the set names.

        RFC 3501 §6.4.8: UIDs that do not exist are ignored, and a range ending in ``*``
        always includes the last message, even when its start is above every UID.
        """
        if not mailbox_uids:
            return []
        found: set[int] = set()
        for low, high in self.bounds(mailbox_uids[-1]):
            start = bisect.bisect_left(mailbox_uids, low)
            stop = bisect.bisect_right(mailbox_uids, high)
            found.update(mailbox_uids[start:stop])
        return sorted(found)

    def select_uids(self, mailbox_uids: Sequence[int], by_uid: bool) -> list[int]:
        """UIDs named by the set read as UIDs (``UID FETCH``) or as sequence numbers.

        `mailbox_uids` lists the mailbox's UIDs in sequence order (RFC 3501 §2.3.1.2).
        """
        if by_uid:
            return self.uids(mailbox_uids)
        return [mailbox_uids[number - 1] for number in self.sequence_numbers(len(mailbox_uids))]


def _render_range(low: SequenceNumberEnd, high: SequenceNumberEnd) -> str:
    first = "*" if low is None else str(low)
    if low == high:
        return first
    return f"{first}:{'*' if high is None else high}"


def compact_sequence_set(numbers: Iterable[int]) -> SequenceSet:
    """The shortest set naming exactly `numbers`, in their order (for COPYUID, RFC 4315).

    Order is kept because RFC 4315 §3 pairs source and destination UIDs by position.
    """
    ranges: list[tuple[int, int]] = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1 and ranges[-1][0] <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return SequenceSet(tuple(ranges))


def uid_ranges_to_end(uid_set: SequenceSet) -> list[tuple[int, int]]:
    """A UID set as ranges where ``*`` runs past the highest UID still present: a
    client resynchronising may know expunged UIDs above it (RFC 7162 §3.2.5-6)."""
    ranges = []
    for low, high in uid_set.ranges:
        if low is None or (high is not None and low > high):
            low, high = high, low
        ranges.append((low or 1, high if high is not None else MAX_UID))
    return ranges
