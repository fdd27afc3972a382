"""The asyncio adapter of the IMAP session: it only moves bytes (docs/architecture.md §8.1).

Invariants:
- one command runs at a time per connection and nothing more is read from the socket
  while its responses are written; every write waits for the transport to drain past
  `ImapLimits.write_buffer_high`, so a client that reads slowly cannot make the server
  buffer without bound; small responses are joined into writes of at most
  `COALESCE_BYTES`, a larger one is written alone;
- a literal over the limit is refused before any of its bytes are read (no ``+`` for
  ``{n}``; for ``{n+}`` the connection is closed after the error, RFC 7888 §4);
- after STARTTLS nothing received in clear text is kept (RFC 3501 §6.2.1, the IMAP
  analogue of RFC 3207 §6): the command reader and the stream buffer are emptied;
- bad input gets ``BAD`` and the connection lives on; no traceback reaches the client;
- autologout after `autologout_seconds` of silence (RFC 3501 §5.4), IDLE after
  `idle_seconds` (RFC 2177 §3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import zlib
from asyncio import sslproto
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial

from mss.certs import check_from_ssl_error
from mss.certs.implicit_tls import implicit_tls_factory
from mss.event_log import begin_session, event
from mss.imap.command_reader import CommandReader, ContinuationRequest
from mss.imap.compression import Deflate
from mss.imap.errors import ImapParseError
from mss.imap.limits import CommandRate, ImapLimits
from mss.imap.notify import notify_updates
from mss.imap.responses import ResponseCode, continuation, tagged, untagged_status
from mss.imap.session import CertificateChecker, Connection, ImapSession
from mss.oidc.bearer_login import BearerLogin
from mss.proxy_protocol import Peer, ProxiedServer, ProxyGate, ProxyPolicy
from mss.store.audit_actions import AuditAction
from mss.store.store import Store

log = logging.getLogger(__name__)
READ_SIZE = 64 * 1024
COALESCE_BYTES = 32 * 1024
WRITE_PIECE = 64 * 1024
HANDSHAKE_TIMEOUT = 30.0  # seconds for an implicit TLS handshake (asyncio's default: 60)
LISTEN_BACKLOG = 4096  # a burst of connections is refused at once, not after SYN-ACK retries
TLS_READ_BUFFER = 32 * 1024
"""asyncio allocates `SSLProtocol.max_size` (256 KiB) per TLS connection up front; with
thousands of IDLE connections that is most of the memory. 32 KiB holds two full TLS
records (RFC 8446 §5.1: 16 KiB plus overhead), so reads stay efficient."""


def _shrink_tls_read_buffer() -> None:
    if sslproto.SSLProtocol.max_size > TLS_READ_BUFFER:
        sslproto.SSLProtocol.max_size = TLS_READ_BUFFER


class ImapServer:
    """One listener: STARTTLS (`implicit_tls=False`) or implicit TLS."""

    def __init__(
        self, store: Store, tls_context: ssl.SSLContext, *, implicit_tls: bool,
        limits: ImapLimits | None = None, oauth: BearerLogin | None = None,
        certificate_check: CertificateChecker | None = None,
        proxy: ProxyPolicy | None = None, reuse_port: bool = False,
    ) -> None:
        self.store = store
        self.proxy = proxy  # PROXY headers from these load balancers (mss.proxy_protocol)
        self.reuse_port = reuse_port  # SO_REUSEPORT: other IMAP processes bind it too
        self.oauth = oauth  # XOAUTH2/OAUTHBEARER sign-in (mss.oidc), None: not offered
        self.certificate_check = certificate_check  # revocation after the handshake
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.limits = limits or ImapLimits()
        self._server: asyncio.Server | ProxiedServer | None = None
        self._per_address: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.peak_write_buffer = 0  # largest write buffer seen: the slow-reader bound

    async def start(self, host: str, port: int) -> tuple[str, int]:
        _shrink_tls_read_buffer()
        if self.proxy is not None:
            return await self._start_proxied(self.proxy, host, port)
        if self.implicit_tls:  # MSS starts TLS itself: a refused handshake is logged
            def streams() -> asyncio.BaseProtocol:
                return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=READ_SIZE),
                                                    self._accept)

            self._server = await asyncio.get_running_loop().create_server(
                implicit_tls_factory(streams, self.tls_context, HANDSHAKE_TIMEOUT,
                                     _handshake_failed),
                host, port, backlog=LISTEN_BACKLOG, reuse_port=self.reuse_port or None)
            address = self._server.sockets[0].getsockname()
            return address[0], address[1]
        self._server = await asyncio.start_server(
            self._accept, host, port, limit=READ_SIZE, backlog=LISTEN_BACKLOG,
            reuse_port=self.reuse_port or None,
        )
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def _start_proxied(self, policy: ProxyPolicy, host: str,
                             port: int) -> tuple[str, int]:
        """Behind a load balancer: the PROXY gate admits each connection (its header read
        before TLS on 993) and the session serves the header's client address."""
        gate = ProxyGate(policy, "imaps" if self.implicit_tls else "imap",
                         client_speaks_first=self.implicit_tls,
                         first_bytes_timeout=HANDSHAKE_TIMEOUT)

        def protocol(client: Peer) -> asyncio.Protocol:
            reader = asyncio.StreamReader(limit=READ_SIZE)
            return asyncio.StreamReaderProtocol(
                reader, partial(self._accept, client=client))

        server = ProxiedServer(protocol, gate,
                               ssl_context=self.tls_context if self.implicit_tls else None,
                               ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
                               on_handshake_failure=_handshake_failed)
        self._server = server
        return await server.start(host, port, reuse_port=self.reuse_port,
                                  backlog=LISTEN_BACKLOG)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()  # no TLS close_notify wait for clients gone quiet
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(BaseException):
                    await task
            await self._server.wait_closed()
            self._server = None

    @property
    def connections(self) -> int:
        return sum(self._per_address.values())

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                      client: Peer | None = None) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        peer = client or writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        self._per_address[address] += 1
        begin_session()  # this connection's task: every line it causes carries the id
        listener = "imaps" if self.implicit_tls else "imap"
        event(AuditAction.SESSION_OPENED, listener=listener, client=address,
              **_tls_fields(writer))
        try:
            if self._per_address[address] > self.limits.connections_per_address:
                writer.write(untagged_status("BYE", "Too many connections",
                                             ResponseCode.UNAVAILABLE))
                with contextlib.suppress(Exception):
                    await writer.drain()
                return
            await _Connection(self, reader, writer, address).run()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except zlib.error:  # RFC 4978: a compressed stream that is not deflate
            log.info("imap connection from %s closed: bad deflate stream", address)
        except asyncio.CancelledError:
            pass  # server stopping; returning keeps asyncio's stream callback quiet
        except Exception:
            log.exception("imap connection from %s failed", address)
        finally:
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)
            event(AuditAction.SESSION_CLOSED, listener=listener, client=address)


def _handshake_failed(client: str, error: BaseException) -> None:
    """An implicit TLS (993) handshake failed: one `tls.failed` line, as for STARTTLS."""
    begin_session()
    if isinstance(error, ssl.SSLError):
        check = check_from_ssl_error(error)
        event(AuditAction.TLS_FAILED, listener="imaps", client=client, reason=check.reason,
              detail=check.detail)
    else:
        event(AuditAction.TLS_FAILED, listener="imaps", client=client, reason="handshake",
              detail=repr(error))


def _tls_fields(writer: asyncio.StreamWriter) -> dict[str, str]:
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is None:
        return {}
    cipher = ssl_object.cipher()
    return {"tls": ssl_object.version() or "TLS", "cipher": cipher[0] if cipher else ""}


def _peer_certificate(writer: asyncio.StreamWriter) -> bytes | None:
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)


class _Connection:
    def __init__(
        self, server: ImapServer, reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter, address: str,
    ) -> None:
        self.server = server
        self.limits = server.limits
        self.reader = reader
        self.writer = writer
        transport = writer.transport
        transport.set_write_buffer_limits(high=self.limits.write_buffer_high)
        connection = Connection(address, server.implicit_tls,
                                _peer_certificate(writer) if server.implicit_tls else None)
        self.session = ImapSession(server.store, connection, limits=self.limits,
                                   oauth=server.oauth,
                                   certificate_check=server.certificate_check)
        self.commands = self._new_reader()
        self.deflate: Deflate | None = None  # RFC 4978, once COMPRESS DEFLATE succeeded
        self.last_activity = time.monotonic()  # the last whole command: autologout
        self.rate = CommandRate(self.limits.commands_per_second, self.limits.command_burst,
                                time.monotonic())

    def _new_reader(self) -> CommandReader:
        return CommandReader(max_line=self.limits.max_line, max_literal=self.limits.max_literal)

    async def send(self, data: bytes) -> None:
        """Written in pieces, each drained: asyncio's TLS transport hands a whole write
        to the socket transport at once and only then pauses, so one large literal
        written whole could sit there while the next is accepted."""
        if self.deflate is not None:
            data = self.deflate.compress(data)
        view = memoryview(data)
        for start in range(0, len(data), WRITE_PIECE):
            self.writer.write(view[start : start + WRITE_PIECE])
            buffered = buffered_bytes(self.writer.transport)
            self.server.peak_write_buffer = max(self.server.peak_write_buffer, buffered)
            await self.writer.drain()

    async def send_all(self, chunks: AsyncIterator[bytes]) -> None:
        """Responses of one command written in few TLS records: joined up to
        `COALESCE_BYTES`, then drained (a slow reader still stops the command)."""
        pending: list[bytes] = []
        size = 0
        async for chunk in chunks:
            if pending and size + len(chunk) > COALESCE_BYTES:
                await self.send(b"".join(pending))  # a big literal goes out on its own
                pending, size = [], 0
            pending.append(chunk)
            size += len(chunk)
            if size >= COALESCE_BYTES:
                await self.send(b"".join(pending))
                pending, size = [], 0
        if pending:
            await self.send(b"".join(pending))

    async def receive(self, timeout: float) -> bool:
        """Read more bytes into the command reader; False when the client is gone.

        `timeout` counts from the last whole command (or literal request), not from the
        last byte: a client dribbling one byte at a time (slow-loris) is logged out like
        a silent one."""
        remaining = self.last_activity + timeout - time.monotonic()
        try:
            if self.session.notify is not None and self.commands.between_commands:
                data = await self._read_notifying(remaining)
            else:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE),
                                              max(remaining, 0.0))
        except TimeoutError:
            await self.send(untagged_status("BYE", "Autologout: idle for too long"))
            return False
        if not data:
            return False
        self.feed(data)
        return True

    async def _read_notifying(self, remaining: float) -> bytes:
        """Read the client while sending what NOTIFY watches as it changes (RFC 5465 §3:
        as soon as possible, not only in IDLE). Between commands only: the selected
        mailbox's own updates wait for the next command (RFC 3501 §7.4.1, EXPUNGE)."""
        session = self.session
        deadline = time.monotonic() + remaining
        read = asyncio.ensure_future(self.reader.read(READ_SIZE))
        try:
            while True:
                change = asyncio.ensure_future(session.next_change())
                try:
                    done, _ = await asyncio.wait(
                        {read, change}, timeout=max(deadline - time.monotonic(), 0.0),
                        return_when=asyncio.FIRST_COMPLETED)
                finally:
                    change.cancel()
                if read in done:
                    return read.result()
                if not done:
                    raise TimeoutError
                change.result()
                lines = await notify_updates(session)
                if lines:
                    await self.send(b"".join(lines))
        finally:
            read.cancel()

    def feed(self, data: bytes) -> None:
        """Bytes read, inflated first once COMPRESS is active (RFC 4978)."""
        if self.deflate is None:
            self.commands.feed(data)
            return
        for piece in self.deflate.decompress(data):
            self.commands.feed(piece)

    async def run(self) -> None:
        session = self.session
        try:
            await self.send(session.greeting())
            while not session.finished:
                if session.awaiting_sasl:
                    line = self.commands.read_line()
                    if line is not None:
                        self.last_activity = time.monotonic()
                    if line is None:
                        if not await self.receive(self.limits.autologout_seconds):
                            return
                        continue
                    await self.send_all(session.sasl_response(line))
                    continue
                event = self.commands.next_event()
                if event is not None:
                    self.last_activity = time.monotonic()
                if event is None:
                    if self.commands.closed or not await self.receive(
                        self.limits.autologout_seconds
                    ):
                        return
                    continue
                if isinstance(event, ContinuationRequest):
                    await self.send(continuation("Ready for literal data"))
                    continue
                if isinstance(event, ImapParseError):
                    session.refused(event)
                    await self.send(_parse_error(event))
                    if event.must_close:
                        await self.send(untagged_status("BYE", "Closing after a protocol error"))
                        return
                    continue
                if not self.rate.allow(time.monotonic()):
                    await self.send(tagged(event.tag, "NO", "Too many commands, slow down",
                                           ResponseCode.LIMIT))
                    continue
                await self.send_all(session.execute(event))
                self.commands.utf8_names = session.imap4rev2
                if session.start_tls_requested:
                    await self._start_tls()
                elif session.compress_requested:
                    session.compress_requested = False
                    self.deflate = Deflate()
                elif session.idling_tag is not None and not await self._idle():
                    return
                self.last_activity = time.monotonic()  # the command (an IDLE) just ended
        finally:
            await session.close()

    async def _start_tls(self) -> None:
        # RFC 3501 §6.2.1: anything pipelined after STARTTLS was sent in clear: drop it.
        self.commands = self._new_reader()
        buffered = getattr(self.reader, "_buffer", None)
        if isinstance(buffered, bytearray):
            buffered.clear()
        try:
            await self.writer.start_tls(self.server.tls_context, ssl_handshake_timeout=30)
        except ssl.SSLError as error:  # a client certificate refused: who and why
            check = check_from_ssl_error(error)
            event(AuditAction.TLS_FAILED, listener="imap",
                  client=self.session.connection.client_address, reason=check.reason,
                  detail=check.detail)
            raise
        self.session.tls_started(_peer_certificate(self.writer))
        event(AuditAction.SESSION_TLS, listener="imap",
              client=self.session.connection.client_address, **_tls_fields(self.writer))

    async def _idle(self) -> bool:
        """RFC 2177: send changes as they come until DONE; False to close."""
        session = self.session
        read = asyncio.ensure_future(self.reader.read(READ_SIZE))
        change = asyncio.ensure_future(session.next_change())
        deadline = time.monotonic() + self.limits.idle_seconds
        try:
            while session.idling_tag is not None:
                remaining = deadline - time.monotonic()
                done, _ = await asyncio.wait({read, change}, timeout=max(remaining, 0),
                                             return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    await self.send(untagged_status("BYE", "IDLE for too long"))
                    return False
                if change in done:
                    change.result()
                    await self.send_all(session.idle_updates())
                    change = asyncio.ensure_future(session.next_change())
                if read in done:
                    data = read.result()
                    if not data:
                        return False
                    self.feed(data)
                    line = self.commands.read_line()
                    if line is not None:
                        await self.send_all(session.end_idle(line))
                        return True
                    read = asyncio.ensure_future(self.reader.read(READ_SIZE))
            return True
        finally:
            for task in (read, change):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task


def _parse_error(error: ImapParseError) -> bytes:
    text = f"{error.message}"
    if error.tag is None:
        return untagged_status(error.status, text, error.code)
    return tagged(error.tag, error.status, text, error.code)


def buffered_bytes(transport: asyncio.BaseTransport) -> int:
    """Bytes waiting in user space: a TLS transport's own backlog plus the socket
    transport under it (asyncio exposes only the first; the second is what grows when
    the client does not read)."""
    size = transport.get_write_buffer_size() if isinstance(transport,
                                                          asyncio.WriteTransport) else 0
    inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    if isinstance(inner, asyncio.WriteTransport):
        size += inner.get_write_buffer_size()
    return size
