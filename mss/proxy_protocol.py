"""The PROXY protocol (HAProxy's proxy-protocol.txt, v1 text and v2 binary) in front of the
SMTP, IMAP listeners: behind a load balancer, the client's address comes from the
header the balancer sends first, so limits, throttling, logs and Received stay right.

Like Dovecot's `haproxy_trusted_networks` (and Postfix's `smtpd_upstream_proxy_protocol`),
only peers in `listeners.proxy_trusted_networks` may send a header, and, with
`listeners.proxy_required` (the default), they must: a trusted peer without a valid
header is closed. A header from any other peer is refused: the connection is closed and
the attempt logged (`proxy.refused`), never believed. The header is read from the raw
socket before anything else, so the implicit-TLS listeners (465, 993) read it before
their TLS handshake, and not one byte after it is taken from the client's stream.

The parser is aiosmtpd's (`aiosmtpd.proxy_protocol.get_proxy`, a public API of a
dependency we already run): this module only feeds it from the socket and decides whom to
believe. The HTTP listener does not use this module: HAProxy in HTTP mode sends
`X-Forwarded-For`, which uvicorn reads from the same trusted networks (mss.webmail.service).

Invariants: no connection reaches a protocol before the gate has admitted it; with no
trusted network configured, listeners do not use this module at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.proxy_protocol import V2_SIGNATURE, get_proxy

from mss.config import ListenersSettings
from mss.event_log import event
from mss.store.audit_actions import AuditAction

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Peer = tuple[str, int]
V1_SIGNATURE = b"PROXY "
V1_MAX = 107  # proxy-protocol.txt §2.1: the longest v1 line, CRLF included
SNIFF = 16  # enough bytes to tell either signature from a protocol's first bytes
ACCEPT_BACKLOG = 4096


def parse_networks(text: str) -> tuple[Network, ...]:
    """`"10.0.0.0/8 192.0.2.7, ::1"` → networks (a bare address is a /32 or /128).
    Raises ValueError naming the first entry that is not one."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an address or network") from None
    return tuple(networks)


def looks_like_header(head: bytes) -> bool | None:
    """True: `head` starts a PROXY header; False: it cannot; None: too short to tell."""
    undecided = False
    for signature in (V1_SIGNATURE, V2_SIGNATURE):
        size = min(len(head), len(signature))
        if head[:size] == signature[:size]:
            if size == len(signature):
                return True
            undecided = True
    return None if undecided else False


@dataclass(frozen=True, slots=True)
class ProxyPolicy:
    """Whom a listener believes (see the module docstring)."""

    networks: tuple[Network, ...]
    required: bool = True
    timeout: float = 10.0  # seconds for a trusted peer's header

    @classmethod
    def from_settings(cls, listeners: ListenersSettings) -> ProxyPolicy | None:
        """None when no trusted network is configured: the listeners serve everyone
        as themselves, as without a load balancer."""
        networks = parse_networks(listeners.proxy_trusted_networks)
        if not networks:
            return None
        return cls(networks, listeners.proxy_required, float(listeners.proxy_timeout_seconds))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)


class _SocketReader:
    """aiosmtpd's AsyncReader over a raw non-blocking socket, reading nothing past the
    header: `read` takes at most what is asked, `readuntil` (v1 only) one byte at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()

    async def read(self, n: int = -1) -> bytes:
        return await self.loop.sock_recv(self.sock, max(n, 1))

    async def readexactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            piece = await self.loop.sock_recv(self.sock, n - len(data))
            if not piece:
                raise asyncio.IncompleteReadError(bytes(data), n)
            data += piece
        return bytes(data)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        data = bytearray()
        while not data.endswith(separator):
            if len(data) >= V1_MAX:
                raise ValueError("PROXY v1 line too long")
            data += await self.readexactly(1)
        return bytes(data)


def _set_once(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def _peek(sock: socket.socket) -> bytes:
    """The first bytes waiting on `sock`, left there (b"": the peer closed)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return sock.recv(SNIFF, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            pass
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(sock.fileno(), _set_once, ready)
        try:
            await ready
        finally:
            loop.remove_reader(sock.fileno())


def _refused(listener: str, peer: Peer, reason: str) -> None:
    event(AuditAction.PROXY_REFUSED, logging.WARNING, listener=listener, client=peer[0],
          reason=reason)


class ProxyGate:
    """Decides, for one accepted socket, which client address the session serves."""

    def __init__(self, policy: ProxyPolicy, listener: str, *, client_speaks_first: bool,
                 first_bytes_timeout: float) -> None:
        self.policy = policy
        self.listener = listener
        self.client_speaks_first = client_speaks_first  # implicit TLS: the ClientHello
        self.first_bytes_timeout = first_bytes_timeout

    async def admit(self, sock: socket.socket, peer: Peer) -> Peer | None:
        """The client's address (the header's, or `peer` itself), or None: refused,
        logged; the caller closes the socket."""
        if not self.policy.trusts(peer[0]):
            if self.client_speaks_first:
                try:
                    head = await asyncio.wait_for(_peek(sock), self.first_bytes_timeout)
                except TimeoutError:
                    return None  # silent past the handshake timeout: as asyncio would
                if looks_like_header(head) is not False:
                    _refused(self.listener, peer, "header from an untrusted address")
                    return None
            return peer
        if not self.policy.required:
            try:
                head = await asyncio.wait_for(_peek(sock), self.policy.timeout)
            except TimeoutError:
                return peer  # a trusted peer speaking for itself (a monitor)
            if looks_like_header(head) is False:
                return peer
        return await self._read_header(sock, peer)

    async def _read_header(self, sock: socket.socket, peer: Peer) -> Peer | None:
        try:
            data = await asyncio.wait_for(get_proxy(_SocketReader(sock)), self.policy.timeout)
        except TimeoutError:
            _refused(self.listener, peer, "no header in time")
            return None
        except (asyncio.IncompleteReadError, ConnectionError):
            log.debug("%s: %s closed before its PROXY header", self.listener, peer[0])
            return None  # a balancer's bare TCP health check
        if not data:
            _refused(self.listener, peer, data.error or "not a PROXY header")
            return None
        if data.src_addr is None or data.src_port is None or isinstance(data.src_addr, bytes):
            return peer  # v2 LOCAL, v1 UNKNOWN: the balancer's own connection (a check)
        return str(data.src_addr), int(data.src_port)


class _GuardedStart(asyncio.Protocol):
    """For an untrusted peer on a listener where the server speaks first: the first
    bytes are looked at before the protocol sees them; a PROXY header closes the
    connection, anything else goes to the protocol, which then takes the transport."""

    def __init__(self, inner: asyncio.Protocol, listener: str, peer: Peer) -> None:
        self.inner = inner
        self.listener = listener
        self.peer = peer
        self.head = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.head += data
        verdict = looks_like_header(self.head)
        if verdict is None:
            return
        assert self.transport is not None
        if verdict:
            _refused(self.listener, self.peer, "header from an untrusted address")
            self.transport.abort()
            return
        self.transport.set_protocol(self.inner)
        self.inner.data_received(self.head)

    def eof_received(self) -> bool | None:
        if self.head:
            self.inner.data_received(self.head)
            self.head = b""
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


ProtocolFactory = Callable[[Peer], asyncio.Protocol]


class ProxiedServer:
    """A listening socket whose connections pass a ProxyGate before their protocol is
    made (`factory(client_address)`); TLS, when given, starts after the gate."""

    def __init__(self, factory: ProtocolFactory, gate: ProxyGate, *,
                 ssl_context: ssl.SSLContext | None = None,
                 ssl_handshake_timeout: float | None = None,
                 on_handshake_failure: Callable[[str, BaseException], None] | None = None
                 ) -> None:
        self.factory = factory
        self.gate = gate
        self.ssl_context = ssl_context
        self.ssl_handshake_timeout = ssl_handshake_timeout
        # (the header's client address, the error) of a failed implicit-TLS handshake:
        # the listener logs `tls.failed` (mss.certs.implicit_tls does it unproxied)
        self.on_handshake_failure = on_handshake_failure
        self.sockets: list[socket.socket] = []
        self._accepting: asyncio.Task[None] | None = None
        self._admitting: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int, *, reuse_port: bool = False,
                    backlog: int = ACCEPT_BACKLOG) -> Peer:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, backlog=backlog,
                                    reuse_port=reuse_port)
        sock.setblocking(False)
        self.sockets = [sock]
        self._accepting = asyncio.create_task(self._accept(sock),
                                              name=f"mss-{self.gate.listener}-accept")
        address = sock.getsockname()
        return str(address[0]), int(address[1])

    async def _accept(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, address = await loop.sock_accept(listening)
            except OSError as error:  # EMFILE and the like: the next accept may succeed
                log.warning("%s: accept failed: %s", self.gate.listener, error)
                await asyncio.sleep(0.1)  # a backoff, not a synchronisation
                continue
            sock.setblocking(False)
            task = asyncio.create_task(self._admit(sock, (str(address[0]), int(address[1]))))
            self._admitting.add(task)
            task.add_done_callback(self._admitting.discard)

    async def _admit(self, sock: socket.socket, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        try:
            client = await self.gate.admit(sock, peer)
        except (OSError, asyncio.CancelledError):
            sock.close()
            return
        if client is None:
            sock.close()
            return
        trusted = self.gate.policy.trusts(peer[0])

        def protocol() -> asyncio.Protocol:
            inner = self.factory(client)
            if trusted or self.ssl_context is not None:
                return inner  # implicit TLS: the gate has already looked (peek)
            return _GuardedStart(inner, self.gate.listener, peer)

        try:
            await loop.connect_accepted_socket(
                protocol, sock, ssl=self.ssl_context,
                ssl_handshake_timeout=self.ssl_handshake_timeout if self.ssl_context else None)
        except (OSError, ssl.SSLError, TimeoutError, asyncio.CancelledError) as error:
            log.debug("%s: connection from %s ended before its session: %s",
                      self.gate.listener, client[0], error)
            sock.close()
            if (self.ssl_context is not None and self.on_handshake_failure is not None
                    and isinstance(error, ssl.SSLError | TimeoutError)):
                self.on_handshake_failure(client[0], error)

    def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        for task in list(self._admitting):
            task.cancel()
        for sock in self.sockets:
            sock.close()

    async def wait_closed(self) -> None:
        tasks: list[Any] = [self._accepting, *self._admitting]
        for task in tasks:
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        self._accepting = None
