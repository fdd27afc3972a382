"""The DATA section as one block of bytes: end, limits and dot-unstuffing (sans-IO).

aiosmtpd reads DATA one line at a time (an await, a log call and two joins per line:
a tenth of the MX's CPU on 4 KB messages, docs/design-notes.md, Performance). MssSMTP reads it in
blocks up to the terminator instead; these pure functions give the same outcome as aiosmtpd 1.4.6's
line loop, which they mirror:
- the data ends at the first line that is exactly `.` CRLF (RFC 5321 §4.1.1.4), i.e.
  the first CRLF `.` CRLF counting the CRLF that ended the DATA command;
- a line (with its CRLF) longer than `line_length_limit` gives `500 Line too long`,
  as does a line longer than the stream's limit, noticed as soon as it is read;
- more than `data_size_limit` bytes (stuffing dots and CRLFs counted) gives
  `552 Too much mail data`; whichever of the two a line meets first wins;
- one leading dot is removed from every line (RFC 5321 §4.5.2).
"""

from __future__ import annotations

import enum

TERMINATOR = b"\r\n.\r\n"
COMMAND_END = b"\r\n"  # the DATA command's own line ending: data starts at a line start


class DataOutcome(enum.Enum):
    NOMINAL = "nominal"
    TOO_LONG = "too long"
    TOO_MUCH = "too much"


def pending_terminator(tail: bytes) -> int:
    """Length of the longest end of `tail` that begins the terminator (0 to 4): that many
    bytes of a terminator may already be read."""
    for size in range(min(len(tail), len(TERMINATOR) - 1), 0, -1):
        if TERMINATOR.startswith(tail[-size:]):
            return size
    return 0


def line_outcome(
    state: DataOutcome, count: int, length: int, *, size_limit: int | None,
    line_limit: int, stream_limit: int,
) -> tuple[DataOutcome, int]:
    """aiosmtpd's checks for one line of `length` bytes (CRLF included) after `count`
    bytes: (state, new count)."""
    if state is DataOutcome.NOMINAL and length - 2 > stream_limit:
        state = DataOutcome.TOO_LONG  # aiosmtpd: LimitOverrunError, before counting
    count += length
    if state is DataOutcome.NOMINAL and size_limit and count > size_limit:
        state = DataOutcome.TOO_MUCH
    if state is DataOutcome.NOMINAL and length > line_limit:
        state = DataOutcome.TOO_LONG
    return state, count


def block_outcome(
    kept: bytes, *, size_limit: int | None, line_limit: int, stream_limit: int,
    crossing_line: int | None = None,
) -> DataOutcome:
    """The outcome for a DATA section whose first bytes are `kept` (all of it, without
    the terminator's `.` CRLF, when `crossing_line` is None). When the section was
    longer than `size_limit`, `kept` goes at least that far and `crossing_line` is the
    whole length (CRLF included) of the line `kept` ends in the middle of."""
    within = crossing_line is None and (not size_limit or len(kept) <= size_limit)
    if within and stream_limit + 2 >= line_limit and (
        not kept or max(map(len, kept.split(b"\r\n"))) + 2 <= line_limit
    ):
        return DataOutcome.NOMINAL  # the usual message: no line to look at
    lines = kept.split(b"\r\n")
    partial = lines.pop()  # after the last CRLF: b"" when `kept` ends with one
    state, count = DataOutcome.NOMINAL, 0
    for line in lines:
        state, count = line_outcome(state, count, len(line) + 2, size_limit=size_limit,
                                    line_limit=line_limit, stream_limit=stream_limit)
        if state is not DataOutcome.NOMINAL:
            return state
    if crossing_line is not None and partial:
        state, count = line_outcome(state, count, crossing_line, size_limit=size_limit,
                                    line_limit=line_limit, stream_limit=stream_limit)
    return state


def unstuff(content: bytes) -> bytes:
    """RFC 5321 §4.5.2: the first `.` of every line that starts with one is removed."""
    if content.startswith(b"."):
        content = content[1:]
    return content.replace(b"\r\n.", b"\r\n")
