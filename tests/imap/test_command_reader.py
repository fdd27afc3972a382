"""Incremental reading: continuation requests, LITERAL+, errors and raw lines."""

from __future__ import annotations

from mss.imap.command_reader import CommandReader, ContinuationRequest
from mss.imap.commands import AppendCommand, Command, LoginCommand
from mss.imap.errors import ImapParseError, LiteralTooLarge


def drain(reader: CommandReader) -> list[object]:
    events = []
    while (event := reader.next_event()) is not None:
        events.append(event)
    return events


def test_commands_come_out_one_by_one_from_pieces() -> None:
    reader = CommandReader()
    reader.feed(b"a1 NO")
    assert drain(reader) == []
    reader.feed(b"OP\r\na2 CAPA")
    assert drain(reader) == [Command("a1", "NOOP")]
    reader.feed(b"BILITY\r\n")
    assert drain(reader) == [Command("a2", "CAPABILITY")]


def test_synchronising_literal_gets_one_continuation_then_the_command() -> None:
    reader = CommandReader()
    reader.feed(b"a1 LOGIN {3}\r\n")
    assert drain(reader) == [ContinuationRequest(3)]
    reader.feed(b"jo")
    assert drain(reader) == []
    reader.feed(b"e {6}\r\n")
    assert drain(reader) == [ContinuationRequest(6)]
    reader.feed(b"secret\r\n")
    assert drain(reader) == [LoginCommand("a1", "LOGIN", "joe", "secret")]


def test_non_synchronising_literal_gets_no_continuation() -> None:
    reader = CommandReader()
    reader.feed(b"a1 APPEND INBOX {5+}\r\nhel")
    assert drain(reader) == []
    reader.feed(b"lo\r\n")
    events = drain(reader)
    assert len(events) == 1
    assert isinstance(events[0], AppendCommand)
    assert events[0].message == b"hello"


def test_bad_command_is_reported_and_skipped() -> None:
    reader = CommandReader()
    reader.feed(b"a1 FROB\r\na2 NOOP\r\n")
    events = drain(reader)
    assert isinstance(events[0], ImapParseError)
    assert events[0].tag == "a1"
    assert events[1] == Command("a2", "NOOP")


def test_refused_synchronising_literal_keeps_the_connection() -> None:
    reader = CommandReader(max_literal=10)
    reader.feed(b"a1 APPEND INBOX {100}\r\na2 NOOP\r\n")
    events = drain(reader)
    assert isinstance(events[0], LiteralTooLarge)
    assert events[1] == Command("a2", "NOOP")
    assert not reader.closed


def test_refused_non_synchronising_literal_closes() -> None:
    reader = CommandReader(max_literal=10)
    reader.feed(b"a1 APPEND INBOX {100+}\r\n" + b"x" * 100 + b"\r\na2 NOOP\r\n")
    events = drain(reader)
    assert len(events) == 1
    assert isinstance(events[0], LiteralTooLarge)
    assert reader.closed


def test_read_line_serves_idle_done_and_sasl() -> None:
    reader = CommandReader()
    reader.feed(b"a1 IDLE\r\nDO")
    assert drain(reader) == [Command("a1", "IDLE")]
    assert reader.read_line() is None
    reader.feed(b"NE\r\na2 NOOP\r\n")
    assert reader.read_line() == b"DONE"
    assert drain(reader) == [Command("a2", "NOOP")]


def test_empty_synchronising_literal_still_gets_a_continuation() -> None:
    reader = CommandReader()
    reader.feed(b"a1 LOGIN joe {0}\r\n")
    assert drain(reader) == [ContinuationRequest(0)]
    reader.feed(b"\r\n")
    assert drain(reader) == [LoginCommand("a1", "LOGIN", "joe", "")]


def test_too_long_line_with_non_synchronising_literal_closes() -> None:
    reader = CommandReader(max_line=20)
    reader.feed(b"a1 LOGIN " + b"x" * 30 + b" {3+}\r\nabc\r\n")
    events = drain(reader)
    assert len(events) == 1
    assert isinstance(events[0], ImapParseError)
    assert reader.closed
