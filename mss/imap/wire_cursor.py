"""Framing and token reading for IMAP commands (RFC 3501 §4 data formats, §9 grammar).

`frame_command` finds where one command ends, literals included (RFC 3501 §7.5,
RFC 7888 LITERAL+, RFC 3516 literal8), without parsing it. `WireCursor` then reads the
framed bytes token by token; it raises `WireSyntaxError`, which the parser turns into an
`ImapParseError` carrying the tag.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from mss.imap.errors import IncompleteCommand, LineTooLong, LiteralTooLarge
from mss.imap.sequence_set import SequenceSet

DEFAULT_MAX_LINE = 64 * 1024
DEFAULT_MAX_LITERAL = 64 * 1024 * 1024

_LITERAL_AT_END = re.compile(rb"~?\{([0-9]+)(\+?)\}\r?\n\Z")
_TAG = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\+]+")
_CTL_OR_SPECIAL = frozenset(b'(){ %*"\\]' + bytes(range(0x20)) + b"\x7f")
ATOM_SPECIALS = _CTL_OR_SPECIAL
"""RFC 3501 §9 ``atom-specials`` plus ``]`` (``resp-specials``)."""
_ASTRING_SPECIALS = _CTL_OR_SPECIAL - {ord("]")}
_LIST_SPECIALS = _ASTRING_SPECIALS - {ord("%"), ord("*")}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
_DATE_TIME = re.compile(
    rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{4})"'
)
_MAX_NUMBER = 2**63 - 1
MAX_NZ_NUMBER = 2**32 - 1  # RFC 3501 §9 nz-number

_SYSTEM_FLAGS = {f.casefold(): f for f in (
    "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent"
)}


class WireSyntaxError(ValueError):
    """The command does not follow the grammar; the parser adds the tag."""


def command_tag(buf: bytes | bytearray) -> str | None:
    """The tag at the start of `buf`, if it looks like one (RFC 3501 §9 ``tag``)."""
    match = _TAG.match(buf)
    if match is None or buf[match.end() : match.end() + 1] not in (b" ", b"\r", b"\n"):
        return None
    return match.group().decode("ascii")


def frame_command(buf: bytes | bytearray, max_line: int, max_literal: int) -> int:
    """Length of the first complete command in `buf`, literals and final CRLF included.

    Raises `IncompleteCommand` while bytes are missing, `LineTooLong` and
    `LiteralTooLarge` when the limits are passed.
    """
    pos = 0
    while True:
        newline = buf.find(b"\n", pos)
        if newline < 0:
            if len(buf) - pos > max_line:
                raise LineTooLong(command_tag(buf), "command line too long", must_close=True)
            raise IncompleteCommand()
        line_end = newline + 1
        literal = _LITERAL_AT_END.search(buf, max(pos, line_end - 40), line_end)
        if newline - pos > max_line:
            # RFC 7888 §4: the bytes of a non-synchronising literal follow regardless.
            raise LineTooLong(
                command_tag(buf),
                "command line too long",
                consumed=line_end,
                must_close=literal is not None and bool(literal.group(2)),
            )
        if literal is None:
            return line_end
        digits, plus = literal.group(1), bool(literal.group(2))
        size = int(digits) if len(digits) <= 18 else max_literal + 1
        if size > max_literal:
            raise LiteralTooLarge(
                command_tag(buf),
                f"literal of {size} octets exceeds the limit of {max_literal}",
                code="TOOBIG",
                must_close=plus,
                consumed=line_end,
            )
        # A synchronising {0} still waits for "+" before the rest of the line.
        if len(buf) < line_end + size or (size == 0 and not plus and len(buf) == line_end):
            raise IncompleteCommand(size, not plus, line_end)
        pos = line_end + size


class WireCursor:
    """Reads tokens from one framed command."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    # -- position ---------------------------------------------------------------

    def peek(self, count: int = 1) -> bytes:
        return self.data[self.pos : self.pos + count]

    def at_line_end(self) -> bool:
        return self.data[self.pos : self.pos + 2] == b"\r\n" or self.peek() == b"\n"

    def at_end_of_list(self) -> bool:
        return self.peek() == b")"

    def expect(self, literal: bytes) -> None:
        if self.data[self.pos : self.pos + len(literal)].upper() != literal.upper():
            raise WireSyntaxError(f"expected {literal.decode('ascii')!r}")
        self.pos += len(literal)

    def accept(self, literal: bytes) -> bool:
        if self.data[self.pos : self.pos + len(literal)].upper() == literal.upper():
            self.pos += len(literal)
            return True
        return False

    def space(self) -> None:
        self.expect(b" ")

    def end(self) -> None:
        """The command must end here (RFC 3501 §9 ``command`` ends with CRLF)."""
        if not self.at_line_end():
            raise WireSyntaxError("unexpected characters at the end of the command")
        self.pos = len(self.data)

    # -- tokens -----------------------------------------------------------------

    def _run(self, specials: frozenset[int], what: str) -> bytes:
        start = self.pos
        data = self.data
        while self.pos < len(data) and data[self.pos] not in specials and data[self.pos] < 0x80:
            self.pos += 1
        if self.pos == start:
            raise WireSyntaxError(f"expected {what}")
        return data[start : self.pos]

    def atom(self) -> str:
        """RFC 3501 §9 ``atom``, returned upper-case (atoms are keywords here)."""
        return self._run(ATOM_SPECIALS, "an atom").decode("ascii").upper()

    def raw_atom(self) -> str:
        """An atom as written (flags and keywords keep their case)."""
        return self._run(ATOM_SPECIALS, "an atom").decode("ascii")

    def quoted(self) -> bytes:
        """RFC 3501 §9 ``quoted``: only ``\\\\`` and ``\\"`` may be escaped."""
        self.expect(b'"')
        out = bytearray()
        data = self.data
        while True:
            if self.pos >= len(data):
                raise WireSyntaxError("unterminated quoted string")
            byte = data[self.pos]
            self.pos += 1
            if byte == 0x22:
                return bytes(out)
            if byte in (0x0D, 0x0A, 0x00):
                raise WireSyntaxError("CR, LF or NUL in a quoted string")
            if byte == 0x5C:
                escaped = data[self.pos : self.pos + 1]
                if escaped not in (b"\\", b'"'):
                    raise WireSyntaxError("bad escape in a quoted string")
                out += escaped
                self.pos += 1
            else:
                out.append(byte)

    def literal(self, allow_binary: bool = False) -> tuple[bytes, bool]:
        """``{n}CRLF`` + n octets, ``{n+}`` (RFC 7888), ``~{n}`` if `allow_binary`.

        Returns the octets and whether it was a literal8 (RFC 3516 §4.2).
        """
        binary = self.accept(b"~")
        if binary and not allow_binary:
            raise WireSyntaxError("literal8 not allowed here")
        self.expect(b"{")
        size = self.number()
        self.accept(b"+")
        self.expect(b"}")
        if not self.accept(b"\r\n"):
            self.expect(b"\n")
        value = self.data[self.pos : self.pos + size]
        if len(value) != size:
            raise WireSyntaxError("truncated literal")
        if not binary and b"\x00" in value:
            raise WireSyntaxError("NUL in a literal (RFC 3501 §4.3)")
        self.pos += size
        return value, binary

    def string(self) -> bytes:
        """RFC 3501 §9 ``string``: quoted or literal."""
        if self.peek() == b'"':
            return self.quoted()
        if self.peek() == b"{":
            return self.literal()[0]
        raise WireSyntaxError("expected a string")

    def astring(self) -> bytes:
        """RFC 3501 §9 ``astring``."""
        if self.peek() in (b'"', b"{"):
            return self.string()
        return self._run(_ASTRING_SPECIALS, "a string")

    def nstring(self) -> bytes | None:
        if self.peek(3).upper() == b"NIL" and self.data[self.pos + 3 : self.pos + 4] in (
            b" ",
            b")",
            b"\r",
            b"\n",
        ):
            self.pos += 3
            return None
        return self.string()

    def list_mailbox(self) -> bytes:
        """RFC 3501 §9 ``list-mailbox``: wildcards ``%`` and ``*`` allowed unquoted."""
        if self.peek() in (b'"', b"{"):
            return self.string()
        return self._run(_LIST_SPECIALS, "a mailbox pattern")

    def number(self) -> int:
        """RFC 3501 §9 ``number``, bounded to 63 bits (RFC 7162 ``mod-sequence-value``)."""
        start = self.pos
        while self.pos < len(self.data) and 0x30 <= self.data[self.pos] <= 0x39:
            self.pos += 1
        digits = self.data[start : self.pos]
        if not digits:
            raise WireSyntaxError("expected a number")
        if len(digits) > 19 or int(digits) > _MAX_NUMBER:
            raise WireSyntaxError("number too large")
        return int(digits)

    def nz_number(self) -> int:
        value = self.number()
        if value == 0:
            raise WireSyntaxError("zero is not allowed here")
        return value

    def sequence_set(self) -> SequenceSet:
        """RFC 3501 §9 ``sequence-set``: ``1:3,5,7:*``; ``$`` (RFC 5182 §2.1)."""
        if self.accept(b"$"):
            return SequenceSet((), saved=True)
        ranges: list[tuple[int | None, int | None]] = []
        while True:
            low = self._sequence_number()
            high = self._sequence_number() if self.accept(b":") else low
            ranges.append((low, high))
            if not self.accept(b","):
                break
        if len(ranges) > 10_000:
            raise WireSyntaxError("sequence set too long")
        return SequenceSet(tuple(ranges))

    def _sequence_number(self) -> int | None:
        """RFC 3501 §9 ``seq-number``: ``*`` or an ``nz-number``, a 32-bit value
        (RFC 3501 §2.3.1.1: UIDs and sequence numbers are 32-bit); beyond is a BAD."""
        if self.accept(b"*"):
            return None
        value = self.nz_number()
        if value > MAX_NZ_NUMBER:
            raise WireSyntaxError("sequence number or UID out of range")
        return value

    def starts_sequence_set(self) -> bool:
        return self.peek() in (b"*", b"$") or self.peek().isdigit()

    def flag(self) -> str:
        """RFC 3501 §9 ``flag``: ``\\Seen``, keywords; ``\\*`` only in PERMANENTFLAGS."""
        if self.accept(b"\\"):
            name = "\\" + self.raw_atom()
            return _SYSTEM_FLAGS.get(name.casefold(), name)  # RFC 3501 §2.3.2: any case
        return self.raw_atom()

    def flag_list(self) -> tuple[str, ...]:
        """``(flag *(SP flag))``, possibly empty."""
        self.expect(b"(")
        flags: list[str] = []
        while not self.accept(b")"):
            if flags:
                self.space()
            flags.append(self.flag())
        return tuple(flags)

    def parenthesised_atoms(self) -> tuple[str, ...]:
        self.expect(b"(")
        items: list[str] = []
        while not self.accept(b")"):
            if items:
                self.space()
            items.append(self.atom())
        return tuple(items)

    def search_date(self) -> date:
        """RFC 3501 §9 ``date``: ``1-Feb-1994`` or quoted."""
        quoted = self.accept(b'"')
        match = _DATE.match(self.data, self.pos)
        if match is None:
            raise WireSyntaxError("expected a date like 1-Feb-1994")
        self.pos = match.end()
        if quoted:
            self.expect(b'"')
        return date(int(match.group(3)), _month(match.group(2)), int(match.group(1)))

    def date_time(self) -> datetime:
        """RFC 3501 §9 ``date-time``: ``"17-Jul-1996 02:44:25 -0700"``."""
        match = _DATE_TIME.match(self.data, self.pos)
        if match is None:
            raise WireSyntaxError('expected a date-time like "17-Jul-1996 02:44:25 -0700"')
        self.pos = match.end()
        day, month, year, hour, minute, second, sign, zone = match.groups()
        offset = timedelta(hours=int(zone[:2]), minutes=int(zone[2:]))
        if offset >= timedelta(days=1):
            raise WireSyntaxError("bad time zone")
        return datetime(
            int(year),
            _month(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(-offset if sign == b"-" else offset),
        )


def _month(name: bytes) -> int:
    try:
        return MONTHS.index(name.decode("ascii").capitalize()) + 1
    except ValueError as exc:
        raise WireSyntaxError("bad month name") from exc
