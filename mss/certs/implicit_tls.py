"""Implicit TLS (SMTP 465, IMAP 993, RFC 8314 §3.3) started by MSS, so that a refused
handshake is seen and reported.

With `loop.create_server(ssl=...)` asyncio runs the handshake before the protocol
exists and drops a failure silently (a debug line at most): a client certificate the
handshake refused left no trace but the client's TLS alert (issue 16 §2, issue 17 §3).
Here the connection is accepted in clear, reading paused at once, and TLS started with
`loop.start_tls` as STARTTLS does: a failure reaches `on_failure` with the client's
address and the error (the listener logs `tls.failed` and counts it), success hands the
TLS transport to the listener's own protocol, made only then.

Invariants: no byte is read before TLS starts (reading is paused in `connection_made`,
before the transport's reader is added); the listener's protocol sees
`connection_made` only with the TLS transport; a failed or abandoned handshake closes
the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

# (client address, the error) of a handshake that failed
HandshakeFailed = Callable[[str, BaseException], None]

_HANDSHAKES: set[asyncio.Task[None]] = set()  # running: kept from the garbage collector


class ImplicitTls(asyncio.Protocol):
    """One accepted connection until its TLS handshake ends (module docstring)."""

    def __init__(self, make_protocol: Callable[[], asyncio.BaseProtocol],
                 context: ssl.SSLContext, handshake_timeout: float,
                 on_failure: HandshakeFailed) -> None:
        self._make_protocol = make_protocol
        self._context = context
        self._timeout = handshake_timeout
        self._on_failure = on_failure
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: Any) -> None:
        transport.pause_reading()  # the ClientHello waits for start_tls
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if peer else "unknown"
        task = asyncio.ensure_future(self._handshake(transport, client))
        self._task = task
        _HANDSHAKES.add(task)
        task.add_done_callback(_HANDSHAKES.discard)

    def connection_lost(self, exc: Exception | None) -> None:
        """Only before start_tls took the transport: the client left at once."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _handshake(self, transport: Any, client: str) -> None:
        loop = asyncio.get_running_loop()
        waiting = _Handshaking()
        try:
            tls = await loop.start_tls(transport, waiting, self._context, server_side=True,
                                       ssl_handshake_timeout=self._timeout)
        except asyncio.CancelledError:
            transport.abort()
            raise
        except (ssl.SSLError, OSError, TimeoutError, EOFError) as error:
            transport.abort()
            self._on_failure(client, error)
            return
        if tls is None or waiting.lost:  # the transport closed during the handshake
            transport.abort()
            return
        protocol = self._make_protocol()
        tls.set_protocol(protocol)
        protocol.connection_made(tls)
        waiting.hand_over(protocol)


class _Handshaking(asyncio.Protocol):
    """The TLS transport's protocol until the listener's takes it: what arrives in
    between (nothing, for protocols whose server speaks first) is kept and handed on,
    and a failed handshake never reaches the listener's protocol (aiosmtpd would see
    `connection_lost` without `connection_made`)."""

    def __init__(self) -> None:
        self.kept: list[bytes] = []
        self.eof = False
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.kept.append(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def hand_over(self, protocol: asyncio.BaseProtocol) -> None:
        if isinstance(protocol, asyncio.Protocol):
            for data in self.kept:
                protocol.data_received(data)
            if self.eof:
                protocol.eof_received()
        self.kept = []


def implicit_tls_factory(make_protocol: Callable[[], asyncio.BaseProtocol],
                         context: ssl.SSLContext, handshake_timeout: float,
                         on_failure: HandshakeFailed) -> Callable[[], ImplicitTls]:
    """A protocol factory for `loop.create_server` (no `ssl=`) serving implicit TLS."""
    return lambda: ImplicitTls(make_protocol, context, handshake_timeout, on_failure)
