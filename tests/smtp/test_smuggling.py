"""SMTP smuggling guard: only CRLF line endings in DATA (RFC 5321 §2.3.8, §4.1.1.4)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import BinaryIO

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import given
from hypothesis import strategies as st

from mss.smtp.line_endings import BareLineEnding, find_bare_line_ending, refuse_bare_line_endings
from mss.smtp.replies import BARE_CR, BARE_LF, SMTP_OK, SmtpReply

SMUGGLED = b"MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<target@example.fr>\r\nDATA\r\nforged\r\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Subject: x\r\n\r\nbody\nmore\r\n", BareLineEnding("LF", 18)),
        (b"Subject: x\r\n\r\nbody\rmore\r\n", BareLineEnding("CR", 18)),
        (b"a\r\n\n.\n" + SMUGGLED, BareLineEnding("LF", 3)),  # <LF>.<LF>
        (b"a\r\n.\n" + SMUGGLED, BareLineEnding("LF", 4)),  # <CR><LF>.<LF>
        (b"a\n.\r\n" + SMUGGLED, BareLineEnding("LF", 1)),  # <LF>.<CR><LF>
        (b"a\r.\r" + SMUGGLED, BareLineEnding("CR", 1)),  # <CR>.<CR>
        (b"a\r\r\n", BareLineEnding("CR", 1)),
        (b"body ends with CR\r", BareLineEnding("CR", 17)),
        (b"\nstarts with LF\r\n", BareLineEnding("LF", 0)),
    ],
)
def test_bare_line_endings_are_found_at_their_first_offset(
    data: bytes, expected: BareLineEnding
) -> None:
    assert find_bare_line_ending(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Subject: x\r\n\r\nbody\r\n",
        b"Subject: x\r\n\r\n.leading dot after unstuffing\r\n.\r\n",
        b"no line ending at all",
    ],
)
def test_crlf_only_data_passes(data: bytes) -> None:
    assert find_bare_line_ending(data) is None
    refuse_bare_line_endings(data)


def test_bare_lf_is_refused_with_the_postfix_reply() -> None:
    with pytest.raises(SmtpReply) as caught:
        refuse_bare_line_endings(b"a\r\n\n.\n" + SMUGGLED)
    assert caught.value.render() == BARE_LF
    assert caught.value.is_permanent


def test_bare_cr_is_refused_with_its_own_reply() -> None:
    with pytest.raises(SmtpReply) as caught:
        refuse_bare_line_endings(b"a\r.\r" + SMUGGLED)
    assert caught.value.render() == BARE_CR


LINE_TEXT = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@given(st.lists(LINE_TEXT, max_size=20))
def test_any_crlf_terminated_lines_pass(lines: list[bytes]) -> None:
    assert find_bare_line_ending(b"".join(line + b"\r\n" for line in lines)) is None


@given(st.lists(LINE_TEXT, min_size=1, max_size=20), st.data(), st.sampled_from([b"\n", b"\r"]))
def test_one_lone_cr_or_lf_anywhere_is_found(
    lines: list[bytes], draw: st.DataObject, lone: bytes
) -> None:
    clean = b"".join(line + b"\r\n" for line in lines)
    # Insert between two characters that are not part of a CRLF pair.
    cut_points = [i for i in range(len(clean) + 1) if clean[i - 1 : i + 1] != b"\r\n"]
    cut = draw.draw(st.sampled_from(cut_points))
    found = find_bare_line_ending(clean[:cut] + lone + clean[cut:])
    assert found is not None


# --- over a real aiosmtpd server ---------------------------------------------------------


class GuardedHandler:
    """The smallest handler that applies the guard the way the MSS handler must."""

    def __init__(self) -> None:
        self.data_calls = 0
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        assert envelope.original_content is not None
        try:
            refuse_bare_line_endings(envelope.original_content)
        except SmtpReply as reply:
            return reply.render()
        self.accepted.append(envelope.original_content)
        return SMTP_OK


class EphemeralPortController(Controller):
    """aiosmtpd's Controller, bound to port 0: learn the port before the trigger connects."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def guarded_server() -> Iterator[tuple[GuardedHandler, int]]:
    handler = GuardedHandler()
    controller = EphemeralPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def read_reply(stream: BinaryIO) -> list[str]:
    lines = []
    while True:
        raw = stream.readline()
        if not raw:
            return lines
        lines.append(raw.decode().rstrip("\r\n"))
        if raw[3:4] != b"-":
            return lines


def send_transaction(port: int, data: bytes) -> tuple[list[str], list[str]]:
    """Run one transaction; return the reply to the end of DATA and every reply after it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        stream = sock.makefile("rb")
        read_reply(stream)
        for command in (b"EHLO client.example.fr", b"MAIL FROM:<a@example.fr>",
                        b"RCPT TO:<b@example.fr>", b"DATA"):
            sock.sendall(command + b"\r\n")
            reply = read_reply(stream)
            assert reply[-1][0] in "23", reply
        sock.sendall(data + b".\r\n")  # the only true end of data
        data_reply = read_reply(stream)
        sock.sendall(b"QUIT\r\n")
        rest = []
        while reply := read_reply(stream):
            rest.extend(reply)
        return data_reply, rest


def test_clean_message_is_accepted_over_the_socket(
    guarded_server: tuple[GuardedHandler, int],
) -> None:
    handler, port = guarded_server
    data_reply, rest = send_transaction(port, b"Subject: ok\r\n\r\nhello\r\n")
    assert data_reply == [SMTP_OK]
    assert [line[:3] for line in rest] == ["221"]
    assert handler.accepted == [b"Subject: ok\r\n\r\nhello\r\n"]


@pytest.mark.parametrize(
    ("smuggling", "reply"),
    [
        (b"Subject: x\r\n\r\nhello\n.\n" + SMUGGLED, BARE_LF),  # <LF>.<LF>
        (b"Subject: x\r\n\r\nhello\r\n.\n" + SMUGGLED, BARE_LF),  # <CR><LF>.<LF>
        (b"Subject: x\r\n\r\nhello\n.\r\n" + SMUGGLED, BARE_LF),  # <LF>.<CR><LF>
        (b"Subject: x\r\n\r\nhello\r.\r" + SMUGGLED, BARE_CR),  # <CR>.<CR>
        (b"Subject: x\r\n\r\nhello\nworld\r\n", BARE_LF),  # plain bare LF
    ],
)
def test_smuggling_attempt_is_refused_and_no_second_message_is_accepted(
    guarded_server: tuple[GuardedHandler, int], smuggling: bytes, reply: str
) -> None:
    handler, port = guarded_server
    data_reply, rest = send_transaction(port, smuggling)
    assert data_reply == [reply]
    assert handler.data_calls == 1
    assert handler.accepted == []
    assert [line[:3] for line in rest] == ["221"]  # QUIT only: nothing smuggled ran


# --- the MSS MX: a long message with bare LFs gets the smuggling reply -------------------


async def test_a_long_bare_lf_message_gets_the_bare_lf_reply_on_the_mx(
    operators, session_pki  # type: ignore[no-untyped-def]
) -> None:
    """6 KB of 60-byte lines: aiosmtpd's CRLF-counted "line" is 6 KB long, but the reason
    to refuse the data is its bare LFs (550 5.5.2, as for short data); the same text with
    CRLF line ends is accepted."""
    from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, RawSmtp, stored_messages

    mx = await operators("b", DOMAIN_B, session_pki.operator_b)
    lines = [f"Ligne {i:04d} du compte rendu, sans rien de plus long.".encode()
             for i in range(120)]
    head = f"From: <x@{DOMAIN_A}>\nTo: <{mx.world.bruno}>\nSubject: long\n\n".encode()
    bare = head + b"\n".join(lines)  # the last line ends with the terminator's CRLF
    assert len(bare) > 6000 and max(len(line) for line in bare.split(b"\n")) < 76
    replies = []
    for data in (bare, bare.replace(b"\n", b"\r\n")):
        client = await RawSmtp.open(mx.port("mx"))
        await client.command(b"EHLO mx.mss-a.localhost\r\n")
        await client.starttls(mx.client_context(certificate=session_pki.operator_a))
        await client.command(b"EHLO mx.mss-a.localhost\r\n")
        assert (await client.command(f"MAIL FROM:<x@{DOMAIN_A}>\r\n".encode()))[:3] == "250"
        assert (await client.command(f"RCPT TO:<{mx.world.bruno}>\r\n".encode()))[:3] == "250"
        assert (await client.command(b"DATA\r\n"))[:3] == "354"
        replies.append(await client.command(data + b"\r\n.\r\n"))
        await client.command(b"QUIT\r\n")
        await client.close()
    assert replies[0] == BARE_LF
    assert replies[1].startswith("250 ")
    stored = await stored_messages(mx, mx.world.bruno)
    assert len(stored) == 1 and stored[0].endswith(bare.replace(b"\n", b"\r\n") + b"\r\n")
