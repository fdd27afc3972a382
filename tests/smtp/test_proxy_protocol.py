"""The PROXY protocol in front of the SMTP and IMAP listeners (mss.proxy_protocol).

127.0.0.1 is the trusted load balancer (`listeners.proxy_trusted_networks`); a client
bound to 127.0.0.2 is anyone else. Real sockets, real clients (smtplib, imaplib), the
headers written as HAProxy writes them (proxy-protocol.txt §2.1, §2.2).
"""

from __future__ import annotations

import asyncio
import imaplib
import ipaddress
import logging
import smtplib
import socket
import ssl
import struct
from typing import Any

import pytest

from mss.config import Settings
from mss.proxy_protocol import ProxyPolicy, looks_like_header, parse_networks
from mss.smtp.options import SmtpOptions
from tests.event_lines import Lines
from tests.smtp.conftest import DOMAIN_A, Operator, message, stored_messages

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
OUTSIDER = "127.0.0.2"  # on loopback, not in the trusted networks


def v2_header(client: str, port: int, server: str = "127.0.0.1", server_port: int = 25,
              *, local: bool = False) -> bytes:
    """A v2 header: PROXY (or LOCAL) command, TCP over IPv4 or IPv6."""
    if local:
        return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    source, target = ipaddress.ip_address(client), ipaddress.ip_address(server)
    family = 0x11 if source.version == 4 else 0x21
    body = source.packed + target.packed + struct.pack("!HH", port, server_port)
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


def v1_header(client: str, port: int) -> bytes:
    return f"PROXY TCP4 {client} 127.0.0.1 {port} 993\r\n".encode()


def behind_balancer(settings: Settings) -> None:
    settings.listeners.proxy_trusted_networks = "127.0.0.1/32, ::1"
    settings.listeners.imap.enabled, settings.listeners.imap.port = True, 0  # STARTTLS


@pytest.fixture
async def op_a(operators, session_pki) -> Operator:
    return await operators("a", DOMAIN_A, session_pki.operator_a, configure=behind_balancer,
                           with_imap=True, options=SmtpOptions(connections_per_address=1))


def connection(port: int, header: bytes = b"", source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30,
                                    source_address=(source, 0))
    sock.sendall(header)
    return sock


def answer(sock: socket.socket) -> bytes:
    """What the server says next; b"" once it has closed (a reset, when it closed with
    our bytes unread, counts as closed)."""
    try:
        return sock.recv(1024)
    except ConnectionResetError:
        return b""


class ProxiedSMTP(smtplib.SMTP):
    """smtplib behind a balancer: the header goes first on the connection."""

    def __init__(self, port: int, header: bytes) -> None:
        self.header = header
        super().__init__("127.0.0.1", port, timeout=30)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connection(port, self.header)


class ProxiedSMTPS(smtplib.SMTP_SSL):
    def __init__(self, port: int, header: bytes, context: ssl.SSLContext) -> None:
        self.header = header
        super().__init__("127.0.0.1", port, timeout=30, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        assert self.context is not None
        return self.context.wrap_socket(connection(port, self.header))


class ProxiedIMAP(imaplib.IMAP4):
    def __init__(self, port: int, header: bytes) -> None:
        self.header = header
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout: Any = None) -> socket.socket:
        return connection(self.port, self.header)


class ProxiedIMAPS(imaplib.IMAP4_SSL):
    def __init__(self, port: int, header: bytes, context: ssl.SSLContext) -> None:
        self.header = header
        super().__init__("127.0.0.1", port, ssl_context=context, timeout=30)

    def _create_socket(self, timeout: Any = None) -> socket.socket:
        return self.ssl_context.wrap_socket(connection(self.port, self.header))


def test_networks_and_signatures() -> None:
    assert parse_networks("10.0.0.0/8 192.0.2.7,::1") == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("::1/128"))
    with pytest.raises(ValueError, match="'nope'"):
        parse_networks("10.0.0.0/8 nope")
    policy = ProxyPolicy(parse_networks("10.0.0.0/8"))
    assert policy.trusts("10.1.2.3") and policy.trusts("::ffff:10.1.2.3")
    assert not policy.trusts("11.0.0.1") and not policy.trusts("unknown")
    assert looks_like_header(b"PROXY TCP4") is True
    assert looks_like_header(V2_SIGNATURE) is True
    assert looks_like_header(b"PRO") is None and looks_like_header(b"\r\n") is None
    assert looks_like_header(b"EHLO x") is False and looks_like_header(b"\x16\x03\x01") is False


async def test_submission_serves_the_client_the_v2_header_names(
        op_a: Operator, lines: Lines) -> None:
    world = op_a.world
    raw = message(world.alice, world.bruno, subject="Par le balancier")

    def run() -> dict[str, Any]:
        with ProxiedSMTP(op_a.port("submission"),
                         v2_header("192.0.2.10", 40000, server_port=587)) as client:
            client.starttls(context=op_a.client_context())
            client.login(world.alice, world.password)
            return client.sendmail(world.alice, [world.bruno], raw)

    assert await asyncio.to_thread(run) == {}  # every recipient accepted
    opened, = lines.events("session.opened")
    assert (opened["listener"], opened["client"]) == ("submission", "192.0.2.10")
    succeeded, = lines.events("auth.succeeded")
    assert succeeded["mailbox"] == world.alice
    stored, = await stored_messages(op_a, world.bruno)
    received = stored.split(b"\r\n\r\n", 1)[0]
    assert b"Received: from [127.0.0.1] ([192.0.2.10])" in received  # HELO name, client


async def test_implicit_tls_listeners_read_the_header_before_the_handshake(
        op_a: Operator, lines: Lines) -> None:
    world = op_a.world
    context = op_a.client_context()
    imaps_port = op_a.app.imap.addresses["imaps"][1]  # type: ignore[union-attr]

    def run() -> None:
        with ProxiedSMTPS(op_a.port("submissions"), v1_header("192.0.2.20", 41000),
                          context) as client:
            client.login(world.alice, world.password)
        imap = ProxiedIMAPS(imaps_port, v2_header("2001:db8::7", 42000, "::1", 993), context)
        imap.login(world.bruno, world.password)
        imap.logout()

    await asyncio.to_thread(run)
    clients = {(line["listener"], line["client"]) for line in lines.events("session.opened")}
    assert clients == {("submissions", "192.0.2.20"), ("imaps", "2001:db8::7")}


async def test_imap_starttls_after_the_header(op_a: Operator, lines: Lines) -> None:
    world = op_a.world
    port = op_a.app.imap.addresses["imap"][1]  # type: ignore[union-attr]

    def run() -> str:
        imap = ProxiedIMAP(port, v2_header("192.0.2.25", 44000, server_port=143))
        imap.starttls(op_a.client_context())
        status, _ = imap.login(world.bruno, world.password)
        imap.logout()
        return str(status)

    assert await asyncio.to_thread(run) == "OK"
    opened, = lines.events("session.opened")
    tls, = lines.events("session.tls")
    assert opened["client"] == tls["client"] == "192.0.2.25"


async def test_a_header_from_anyone_else_closes_the_connection(
        op_a: Operator, lines: Lines) -> None:
    imaps_port = op_a.app.imap.addresses["imaps"][1]  # type: ignore[union-attr]

    def run() -> tuple[bytes, bytes, bytes]:
        with connection(op_a.port("mx"), source=OUTSIDER) as mx:
            banner = mx.recv(1024)  # the server speaks first: the header comes after
            mx.sendall(v1_header("192.0.2.30", 43000))
            after = answer(mx)
        with connection(imaps_port, v2_header("192.0.2.31", 43001), source=OUTSIDER) as imaps:
            before_tls = answer(imaps)
        return banner, after, before_tls

    banner, after, before_tls = await asyncio.to_thread(run)
    assert banner.startswith(b"220 ") and after == b"" and before_tls == b""
    refused = [(line["listener"], line["client"]) for line in lines.events("proxy.refused")]
    assert refused == [("mx", OUTSIDER), ("imaps", OUTSIDER)]


async def test_the_balancer_must_send_its_header(op_a: Operator, lines: Lines) -> None:
    def run() -> bytes:
        with connection(op_a.port("mx"), b"EHLO balancer.example\r\n") as mx:
            return answer(mx)

    assert await asyncio.to_thread(run) == b""  # no banner: closed
    refused, = lines.events("proxy.refused")
    assert refused["client"] == "127.0.0.1" and refused["listener"] == "mx"


async def test_anyone_else_without_a_header_is_served_as_itself(
        op_a: Operator, lines: Lines) -> None:
    def run() -> int:
        with smtplib.SMTP("127.0.0.1", op_a.port("mx"), timeout=30,
                          source_address=(OUTSIDER, 0)) as client:
            return client.ehlo("peer.example")[0]

    assert await asyncio.to_thread(run) == 250
    opened, = lines.events("session.opened")
    assert opened["client"] == OUTSIDER


async def test_connection_limits_count_the_header_client(op_a: Operator) -> None:
    """One connection per address (the options of `op_a`): two clients behind the one
    balancer are two addresses; the same client twice is refused the second time."""

    def run() -> tuple[bytes, bytes, bytes]:
        port = op_a.port("mx")
        with connection(port, v2_header("192.0.2.41", 1)) as first, \
                connection(port, v2_header("192.0.2.42", 2)) as other:
            first_banner, other_banner = first.recv(1024), other.recv(1024)
            with connection(port, v2_header("192.0.2.41", 3)) as again:
                refused = again.recv(1024)
        return first_banner + other_banner, refused, b""

    banners, refused, _ = await asyncio.to_thread(run)
    assert banners.count(b"220 ") == 2
    assert refused.startswith(b"421 4.7.0")


async def test_a_balancer_health_check_is_served_as_the_balancer(
        op_a: Operator, lines: Lines) -> None:
    """v2 LOCAL (HAProxy's checks): the connection is the balancer's own."""

    def run() -> int:
        with ProxiedSMTP(op_a.port("mx"), v2_header("", 0, local=True)) as client:
            return client.noop()[0]

    assert await asyncio.to_thread(run) == 250
    opened, = lines.events("session.opened")
    assert opened["client"] == "127.0.0.1"


async def test_a_refused_handshake_behind_the_balancer_names_the_header_client(
        op_a: Operator, lines: Lines) -> None:
    """465 and 993 behind a balancer: a refused client certificate is a `tls.failed`
    line naming the client the header gave (mss.certs.implicit_tls without a balancer)."""
    foreign = op_a.client_context(certificate=op_a.pki.foreign_operator)
    imaps_port = op_a.app.imap.addresses["imaps"][1]  # type: ignore[union-attr]

    def run() -> None:
        with pytest.raises((ssl.SSLError, smtplib.SMTPException, ConnectionError)), \
                ProxiedSMTPS(op_a.port("submissions"), v1_header("192.0.2.30", 41000),
                             foreign) as client:
            client.noop()
        with pytest.raises((ssl.SSLError, imaplib.IMAP4.error, OSError)):
            ProxiedIMAPS(imaps_port, v1_header("192.0.2.31", 42000), foreign).noop()

    loop = asyncio.get_running_loop()
    both = asyncio.Event()

    class TwoRefusals(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "mss_event", None) == "tls.failed" and len(
                    lines.events("tls.failed")) >= 2:
                loop.call_soon_threadsafe(both.set)

    watch = TwoRefusals()
    logging.getLogger().addHandler(watch)
    try:
        await asyncio.to_thread(run)
        await both.wait()
    finally:
        logging.getLogger().removeHandler(watch)
    failed = {(e["listener"], e["client"], e["reason"]) for e in lines.events("tls.failed")}
    assert failed == {("submissions", "192.0.2.30", "unknown_ca"),
                      ("imaps", "192.0.2.31", "unknown_ca")}
