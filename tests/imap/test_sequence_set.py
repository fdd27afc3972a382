"""Sequence sets against sequence numbers and UIDs (RFC 3501 §6.4.8, §9)."""

from __future__ import annotations

import pytest

from mss.imap.sequence_set import SequenceOutOfRange, SequenceSet, compact_sequence_set

STAR = None


def test_sequence_numbers_with_star_and_ranges() -> None:
    sequence_set = SequenceSet(((1, 2), (4, STAR)))
    assert sequence_set.sequence_numbers(6) == [1, 2, 4, 5, 6]


def test_reversed_range_is_the_same_range() -> None:
    assert SequenceSet(((STAR, 3),)).sequence_numbers(5) == [3, 4, 5]


def test_sequence_number_beyond_the_mailbox_is_an_error() -> None:
    with pytest.raises(SequenceOutOfRange):
        SequenceSet(((3, 7),)).sequence_numbers(5)


def test_star_in_an_empty_mailbox_is_an_error_for_sequence_numbers() -> None:
    with pytest.raises(SequenceOutOfRange):
        SequenceSet(((1, STAR),)).sequence_numbers(0)


def test_uids_ignore_missing_uids() -> None:
    uids = [3, 7, 9, 20]
    assert SequenceSet(((1, 8), (15, 15))).uids(uids) == [3, 7]


def test_uid_range_to_star_includes_the_last_message_even_if_above_it() -> None:
    # RFC 3501 §6.4.8: "559:*" always includes the UID of the last message.
    assert SequenceSet(((559, STAR),)).uids([10, 20, 30]) == [30]


def test_uid_star_alone_is_the_highest_uid() -> None:
    assert SequenceSet(((STAR, STAR),)).uids([4, 5, 11]) == [11]


def test_uids_in_an_empty_mailbox_are_empty() -> None:
    assert SequenceSet(((1, STAR),)).uids([]) == []


def test_contains_uses_star_as_largest() -> None:
    sequence_set = SequenceSet(((5, STAR),))
    assert sequence_set.contains(9, largest=9)
    assert not sequence_set.contains(4, largest=9)


def test_render_round_trips_the_wire_form() -> None:
    assert str(SequenceSet(((1, 3), (5, 5), (7, STAR)))) == "1:3,5,7:*"


def test_compact_keeps_order_and_merges_runs() -> None:
    assert str(compact_sequence_set([304, 319, 320, 321, 5])) == "304,319:321,5"


def test_select_uids_reads_the_set_as_sequence_numbers_or_uids() -> None:
    mailbox_uids = [10, 20, 30, 40]
    assert SequenceSet(((2, 3),)).select_uids(mailbox_uids, by_uid=False) == [20, 30]
    assert SequenceSet(((15, 35),)).select_uids(mailbox_uids, by_uid=True) == [20, 30]
