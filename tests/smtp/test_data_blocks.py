"""DATA read in blocks (MssSMTP) gives what aiosmtpd's line loop gives: replies and content.

Two servers on real sockets, aiosmtpd's SMTP and MssSMTP, small limits so that every
path is reached (size limit, line limit, lines past the stream limit, dot-stuffing, the
terminator cut across reads); the same bytes go to both and the transcripts and the
content the handler saw must match.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mss.smtp.data_block import DataOutcome, block_outcome, pending_terminator, unstuff
from mss.smtp.line_endings import bare_line_ending_reply, find_bare_line_ending
from mss.smtp.protocol import ConnectionCounter, MssSMTP

SIZE_LIMIT = 120
LINE_LIMIT = 40
STREAM_LIMIT = 50


class Recorder:
    def __init__(self) -> None:
        self.contents: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.original_content is not None
        self.contents.append(envelope.original_content)
        return "250 OK"


class _Server(Controller):
    """aiosmtpd's Controller on port 0, building `smtp_class` with the test's limits."""

    def __init__(self, handler: Recorder, smtp_class: type[SMTP]) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)
        self.smtp_class = smtp_class

    def factory(self) -> SMTP:
        kwargs: dict[str, Any] = {"data_size_limit": SIZE_LIMIT, "hostname": "mx.test",
                                  "ident": "test", "decode_data": False}
        if self.smtp_class is MssSMTP:
            server: SMTP = MssSMTP(self.handler, connections=ConnectionCounter(100),
                                   offer_dsn=False, errors_per_session=100, **kwargs)
        else:
            server = SMTP(self.handler, **kwargs)
        server.line_length_limit = LINE_LIMIT
        server._stream_reader._limit = STREAM_LIMIT  # type: ignore[union-attr]
        return server

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[tuple[Recorder, int], tuple[Recorder, int]]]:
    theirs, ours = Recorder(), Recorder()
    started = [_Server(theirs, SMTP), _Server(ours, MssSMTP)]
    for controller in started:
        controller.start()
    try:
        yield (theirs, started[0].port), (ours, started[1].port)
    finally:
        for controller in started:
            controller.stop()


def _transcript(port: int, data: bytes, chunk: int) -> bytes:
    """One transaction carrying `data` (terminator included), sent in `chunk`-byte
    writes, then QUIT; everything the server said."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"EHLO c\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\n")
        for start in range(0, len(data), chunk):
            sock.sendall(data[start:start + chunk])
        sock.sendall(b"QUIT\r\n")
        received = b""
        while not received.endswith(b"221 Bye\r\n"):
            more = sock.recv(65536)
            if not more:
                break
            received += more
    return received


TOO_LONG = b"500 Line too long (see RFC5321 4.5.3.1.6)\r\n"


def _expected(transcript: bytes, data: bytes) -> set[bytes]:
    """aiosmtpd's transcript, with the one deviation of MssSMTP: aiosmtpd counts lines
    between CRLFs, so bare LFs make one long line; MssSMTP answers such data with the
    smuggling rule's refusal (mss.smtp.line_endings) instead of `500 Line too long`.
    Past the size limit the data is no longer kept, so either reply may come then."""
    framed = b"\r\n" + data
    content = framed[2:framed.find(END)] if END in framed else data
    bare = find_bare_line_ending(content)
    if bare is None or TOO_LONG not in transcript:
        return {transcript}
    refused = bare_line_ending_reply(bare).render().encode() + b"\r\n"
    replaced = transcript.replace(TOO_LONG, refused, 1)
    return {replaced} if len(content) <= SIZE_LIMIT else {replaced, transcript}


def _same(servers: Any, data: bytes, chunk: int = 65536) -> None:
    (theirs, their_port), (ours, our_port) = servers
    before = len(theirs.contents), len(ours.contents)
    assert _transcript(our_port, data, chunk) in _expected(
        _transcript(their_port, data, chunk), data)
    assert ours.contents[before[1]:] == theirs.contents[before[0]:]


END = b"\r\n.\r\n"


@pytest.mark.parametrize("data", [
    b".\r\n",  # empty message
    b"Subject: x\r\n\r\nbody" + END,
    b"..dot-stuffed\r\n. space\r\n..\r\nend" + END,
    b".leading\r\nx" + END,
    b"x" * 38 + END,  # a line of exactly the line limit
    b"x" * 39 + END,  # one more
    b"x" * 60 + b"\r\nshort" + END,  # past the stream limit
    b"ab\r\n" * 30 + END,  # exactly the size limit
    b"ab\r\n" * 30 + b"c" + END,  # one byte over
    b"ab\r\n" * 40 + b"y" * 80 + END,  # over the size, then a long line
    b"y" * 45 + b"\r\n" + b"ab\r\n" * 40 + END,  # a long line, then over the size
    b"ab\r\n" * 29 + b"z" * 70 + END,  # the size limit falls in a line past the stream limit
    b"ab\r\n" * 29 + b"z" * 20 + END,  # ... in a short line
    b"bare\nlf\r\n.\n.\r\nend" + END,
    b"short\nbare\nlf\nlines\n" * 4 + END,  # longer than the line limit between CRLFs
    b"bare\rcr\r\n\r.\r\nend" + END,
    b"a\r\n.\r\nafter the end is a command" + END,
])
@pytest.mark.parametrize("chunk", [1, 3, 65536])
def test_data_is_read_as_aiosmtpd_reads_it(servers: Any, data: bytes, chunk: int) -> None:
    _same(servers, data, chunk)


PIECES = st.sampled_from([b"a", b"bc", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.",
                          b"x" * 30, b"y" * 55])


@settings(max_examples=120, deadline=None)
@given(st.lists(PIECES, max_size=30), st.sampled_from([1, 2, 5, 64, 65536]))
def test_any_data_is_read_as_aiosmtpd_reads_it(servers: Any, pieces: list[bytes],
                                               chunk: int) -> None:
    body = b"".join(pieces)
    # an earlier end would turn the rest into commands: timing-dependent replies
    assume(END not in b"\r\n" + body + b"\r\n")
    _same(servers, body + END, chunk)


def test_pending_terminator_names_the_bytes_already_read() -> None:
    assert [pending_terminator(t) for t in (b"x", b"\r", b"\r\n", b"\r\n.", b"\r\n.\r",
                                            b"a\r\n.\r", b".\r\n")] == [0, 1, 2, 3, 4, 4, 2]


def test_unstuffing_and_the_usual_message() -> None:
    assert unstuff(b"..a\r\n.b\r\nc.\r\n") == b".a\r\nb\r\nc.\r\n"
    assert block_outcome(b"a\r\n" * 10, size_limit=100, line_limit=1001,
                         stream_limit=12290) is DataOutcome.NOMINAL
