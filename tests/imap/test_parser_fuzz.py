"""Arbitrary input never raises anything but ImapParseError or IncompleteCommand."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mss.imap.command_reader import CommandReader, ContinuationRequest
from mss.imap.commands import Command
from mss.imap.errors import ImapParseError, IncompleteCommand
from mss.imap.parser import parse_command

FRAGMENTS = [
    b"a1 ",
    b"UID ",
    b"FETCH ",
    b"SEARCH ",
    b"STORE ",
    b"APPEND ",
    b"LIST ",
    b"SELECT ",
    b"LOGIN ",
    b"1:*",
    b"(",
    b")",
    b"[",
    b"]",
    b"<0.10>",
    b"BODY",
    b".PEEK",
    b"HEADER.FIELDS",
    b"NOT ",
    b"OR ",
    b"{3}\r\n",
    b"{2+}\r\n",
    b"~{1}\r\n",
    b'"',
    b"\\",
    b"&AOk-",
    b"&",
    b"*",
    b"%",
    b" ",
    b"\r\n",
    b"\n",
    b"\x00",
    b"\xff",
    b"CHARSET ",
    b"MODSEQ ",
    b"1-Feb-2024",
    b"+FLAGS.SILENT ",
    b"(UNCHANGEDSINCE 1) ",
    b"(CHANGEDSINCE 1 VANISHED)",
]
grammar_shaped = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(b"".join)


def _parse_everything(data: bytes) -> None:
    rest = data
    for _ in range(50):
        try:
            command, rest = parse_command(rest, max_line=200, max_literal=50)
        except IncompleteCommand:
            return
        except ImapParseError as error:
            if error.must_close or error.consumed == 0:
                return
            rest = rest[error.consumed :]
            continue
        assert isinstance(command, Command)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    _parse_everything(b"a1 " + data)
    _parse_everything(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grammar_shaped)
def test_grammar_shaped_bytes(data: bytes) -> None:
    _parse_everything(data + b"\r\n")


@settings(max_examples=200, deadline=None)
@given(grammar_shaped, st.integers(min_value=1, max_value=7))
def test_reader_yields_only_events_whatever_the_chunking(data: bytes, chunk: int) -> None:
    reader = CommandReader(max_line=200, max_literal=50)
    stream = data + b"\r\n"
    for start in range(0, len(stream), chunk):
        reader.feed(stream[start : start + chunk])
        for _ in range(20):
            event = reader.next_event()
            if event is None:
                break
            assert isinstance(event, Command | ContinuationRequest | ImapParseError)
