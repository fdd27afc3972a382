"""Incremental command reader: bytes in, commands or continuation requests out.

Sans-IO (docs/architecture.md §8.1): the asyncio adapter feeds what it receives and writes what the
events ask for. Each synchronising literal gets exactly one ``+`` (RFC 3501 §7.5);
non-synchronising literals get none (RFC 7888 §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from mss.imap.commands import Command
from mss.imap.errors import ImapParseError, IncompleteCommand
from mss.imap.parser import parse_command
from mss.imap.wire_cursor import DEFAULT_MAX_LINE, DEFAULT_MAX_LITERAL


@dataclass(frozen=True)
class ContinuationRequest:
    """The client waits for ``+`` before sending `literal_size` octets (RFC 3501 §7.5)."""

    literal_size: int


ReaderEvent = Command | ContinuationRequest | ImapParseError


class CommandReader:
    """Buffers input and yields `ReaderEvent` values, one at a time.

    A bad command comes out as its `ImapParseError` (already skipped in the buffer);
    after one with `must_close` the reader yields nothing more.
    """

    def __init__(
        self, *, max_line: int = DEFAULT_MAX_LINE, max_literal: int = DEFAULT_MAX_LITERAL
    ) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self._buffer = bytearray()
        self._acknowledged_literals: set[int] = set()
        self._needed = 0
        self.closed = False
        self.utf8_names = False  # the session enabled IMAP4rev2 (RFC 9051 §5.1)

    @property
    def between_commands(self) -> bool:
        """No part of a command is buffered (nothing read since the last one ended)."""
        return not self._buffer

    def feed(self, data: bytes) -> None:
        """Add bytes received from the client."""
        self._buffer += data

    def next_event(self) -> ReaderEvent | None:
        """The next command, continuation request or error; ``None`` if more bytes are needed."""
        if self.closed or len(self._buffer) < self._needed:
            return None
        try:
            command, rest = parse_command(
                self._buffer, max_line=self.max_line, max_literal=self.max_literal,
                utf8_names=self.utf8_names,
            )
        except IncompleteCommand as incomplete:
            return self._on_incomplete(incomplete)
        except ImapParseError as error:
            self._skip(error.consumed)
            if error.must_close:
                self.closed = True
            return error
        self._skip(len(self._buffer) - len(rest))
        return command

    def read_line(self) -> bytes | None:
        """One raw line without its CRLF, for IDLE's ``DONE`` (RFC 2177) and SASL
        responses (RFC 3501 §6.2.2); ``None`` until the line is complete."""
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._buffer[:end]).removesuffix(b"\r")
        self._skip(end + 1)
        return line

    def _on_incomplete(self, incomplete: IncompleteCommand) -> ReaderEvent | None:
        if incomplete.literal_size is None:
            return None
        self._needed = incomplete.literal_offset + incomplete.literal_size
        offset = incomplete.literal_offset
        if incomplete.needs_continuation and offset not in self._acknowledged_literals:
            self._acknowledged_literals.add(offset)
            if len(self._buffer) == offset:
                return ContinuationRequest(incomplete.literal_size)
        return None

    def _skip(self, count: int) -> None:
        del self._buffer[:count]
        self._acknowledged_literals.clear()
        self._needed = 0
