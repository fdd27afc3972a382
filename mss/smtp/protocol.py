"""The aiosmtpd protocol, completed where aiosmtpd 1.4.6 stops short of what MSS needs.

Policy never lives here (docs/architecture.md §8.2): every decision is a handler hook. This subclass
only fills protocol gaps, each a limit or a parameter syntax:
- `MAIL ... SIZE=n` over the advertised limit is refused `552 5.3.4` before any data
  (RFC 1870 §6.1); aiosmtpd answers it without an enhanced code;
- the DSN parameters (RFC 3461 §4: RET, ENVID on MAIL; NOTIFY, ORCPT on RCPT) are parsed
  and stripped before aiosmtpd sees them, when the listener offers DSN (aiosmtpd answers
  555 to any parameter it does not know); the AUTH= parameter of MAIL (RFC 4954 §5) is
  accepted and ignored;
- connections per client address are counted and refused past the limit with
  `421 4.7.0` (as Postfix `smtpd_client_connection_count_limit`);
- the idle timeout answers `421 4.4.2` before closing (RFC 5321 §4.5.3.2);
- an address the stdlib parser chokes on is a malformed address (`553 5.1.3`);
- after `errors_per_session` 5yz replies the session ends with `421 4.7.0` (Postfix
  `smtpd_hard_error_limit`); any `421` reply closes the connection (RFC 5321 §3.8);
- before every command but QUIT, the handler's `trust_gate` hook may end the session
  with a reply (a client certificate revoked since the handshake, mss.certs.live_trust).

The aiosmtpd members this subclass overrides or reads (`_smtp_methods`,
`_call_handler_hook`, `_set_post_data_state`, `_original_transport`, `_reader`, `_writer`,
asyncio's `_stream_reader`) are used from this module only, and
`tests/test_library_internals.py` fails when an aiosmtpd release changes them.

Invariants:
- a refused connection never reaches the handler: no session, no banner;
- the slot of a client address is released exactly once, when the connection is lost;
- each connection is one session id (mss.event_log) on every line it causes, from
  `session.opened` (listener, client, TLS) to `session.closed`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, TLSSetupException, syntax

from mss.event_log import begin_session, event, in_session
from mss.identity import Principal
from mss.pipeline.message_log import new_queue_id
from mss.policy import ActingRights, Correspondent, PeerCertificate, Verdict
from mss.smtp.bearer_auth import AUTH_LINE_LIMIT
from mss.smtp.data_block import (
    COMMAND_END,
    TERMINATOR,
    DataOutcome,
    block_outcome,
    pending_terminator,
    unstuff,
)
from mss.smtp.dsn_parameters import (
    MailDsnParameters,
    RcptDsnParameters,
    parse_mail_dsn_parameters,
    parse_rcpt_dsn_parameters,
)
from mss.smtp.line_endings import bare_line_ending_reply, find_bare_line_ending
from mss.smtp.reader_limit import line_limit, set_line_limit
from mss.smtp.replies import IDLE_TIMEOUT, TOO_BIG, SmtpReply
from mss.smtp.tls_peer import tls_details
from mss.store.audit_actions import AuditAction

log = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections from your address, try again later"
TOO_MANY_ERRORS = "421 4.7.0 Too many errors, closing transmission channel"
_MAIL_DSN_KEYS = frozenset({"RET", "ENVID"})
_RCPT_DSN_KEYS = frozenset({"NOTIFY", "ORCPT"})
# RFC 5321 §4.5.3.1.4 (512) + RFC 1870 SIZE (26) + RFC 6531 SMTPUTF8 (10) + RFC 3461 §4
# (MAIL +110 for RET/ENVID, RCPT +500 for NOTIFY/ORCPT) + RFC 4954 §5 AUTH= (500).
MAIL_LINE_LIMIT = 512 + 26 + 10 + 110 + 500
RCPT_LINE_LIMIT = 512 + 500
# `<dot-atom@domain>` in ASCII, then blanks: what almost every MAIL and RCPT carries, and
# what the stdlib address parser gives back unchanged (see MssSMTP._getaddr).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"[ \t]*<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>[ \t]*"
)


class MssSession(Session):
    """aiosmtpd's session plus who the client is, once known."""

    def __init__(self, loop: Any) -> None:
        super().__init__(loop)
        self.principal: Principal | None = None
        self.peer_certificate: PeerCertificate | None = None
        self.client_ip: str = ""
        self.peer_verdicts: dict[str, Verdict] = {}  # MX: T1 per MAIL FROM domain

    # aiosmtpd sets this legacy field after each AUTH and warns in the log each time;
    # MSS reads `principal` instead
    @property  # type: ignore[override]
    def login_data(self) -> Any:
        return getattr(self, "_login_data", None)

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class MssEnvelope(Envelope):
    """aiosmtpd's envelope plus the DSN parameters, the declared size, and the directory
    facts read at RCPT for this transaction (reused at DATA, gone with the envelope)."""

    def __init__(self) -> None:
        super().__init__()
        self.mail_dsn = MailDsnParameters()
        self.rcpt_dsn: dict[str, RcptDsnParameters] = {}
        self.declared_size: int | None = None
        self.known_correspondents: dict[str, Correspondent] = {}
        self.known_rights: dict[str, ActingRights] = {}  # read at MAIL, reused at DATA
        # one per transaction, from MAIL on: RCPT refusals, Received, `queued as`
        self.queue_id = new_queue_id()


class ConnectionCounter:
    """Open connections per client address, shared by every session of a listener."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        if self.open[address] >= self.limit:
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


def _tls_fields(transport: Any) -> dict[str, str]:
    """TLS version, cipher and the client certificate's subject, for a session line."""
    tls = tls_details(transport)
    if tls is None:
        return {}
    identity = tls.peer_identity
    fields = {"tls": tls.version, "cipher": tls.cipher}
    if identity is not None:
        fields["peer_subject"] = identity.subject_dn
    return fields


def _split_arg(arg: str, keyword: str, server: SMTP) -> tuple[str, list[str]] | None:
    """`FROM:<a@b> X=1 Y` → (`FROM:<a@b>`, [`X=1`, `Y`]); None when aiosmtpd would refuse."""
    stripped = server._strip_command_keyword(keyword, arg)
    if stripped is None:
        return None
    address, rest = server._getaddr(stripped)
    if address is None or rest is None:
        return None
    head = stripped[: len(stripped) - len(rest)] if rest else stripped
    return f"{keyword}{head}", rest.split()


class MssSMTP(SMTP):
    """One SMTP session; see the module docstring for what it adds to aiosmtpd."""

    def __init__(
        self, handler: Any, *, connections: ConnectionCounter, offer_dsn: bool,
        errors_per_session: int, listener: str = "smtp", client: tuple[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.client = client  # from a trusted PROXY header (mss.proxy_protocol); None: the peer
        self.command_size_limits = defaultdict(lambda: SMTP.command_size_limit)
        self.command_size_limits["MAIL"] = MAIL_LINE_LIMIT
        self.command_size_limits["RCPT"] = RCPT_LINE_LIMIT
        # RFC 4954 §4: AUTH lines (bearer tokens) up to 12288 octets; the stream limit
        # grows with it, DATA lines stay bounded by aiosmtpd's own line_length_limit check.
        self.command_size_limits["AUTH"] = AUTH_LINE_LIMIT
        set_line_limit(self._stream_reader, AUTH_LINE_LIMIT + 2)  # type: ignore[attr-defined]
        self.connections = connections
        self.offer_dsn = offer_dsn
        self.errors_per_session = errors_per_session
        self._errors = 0
        self._client_ip = ""
        self._refused = False
        self._released = False
        self.listener = listener
        self.session_id = ""
        gate = getattr(handler, "trust_gate", None)
        if gate is not None:
            self._smtp_methods = {name: method if name == "QUIT" else self._gated(method, gate)
                                  for name, method in self._smtp_methods.items()}

    def _gated(self, method: Callable[[str | None], Awaitable[None]],
               gate: Callable[[Any], Awaitable[str | None]]
               ) -> Callable[[str | None], Awaitable[None]]:
        """The command, run only when the handler's `trust_gate` has nothing against
        the session; otherwise its reply, and the connection closed."""

        @functools.wraps(method)  # keeps the @syntax attributes HELP reads
        async def run(arg: str | None) -> None:
            refusal = await gate(self)
            if refusal is None:
                await method(arg)
                return
            await self.push(refusal)
            if self.transport is not None:
                self.transport.close()

        return run

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's, with the client's address on a failed handshake: the handler
        logs who was refused, and why (the handshake has no session to ask)."""
        if isinstance(error, TLSSetupException):
            error.client_address = self._client_ip  # type: ignore[attr-defined]
        return await super().handle_exception(error)  # type: ignore[no-any-return]

    def _create_session(self) -> Session:
        session = MssSession(self.loop)
        session.client_ip = self._client_ip
        return session

    def _create_envelope(self) -> Envelope:
        return MssEnvelope()

    # -- connection limits -------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        first = self.transport is None and self._original_transport is None
        if first:
            peer = self.client or transport.get_extra_info("peername")
            self._client_ip = str(peer[0]) if peer else ""
            if not self.connections.acquire(self._client_ip):
                log.info("refused connection from %s: too many open", self._client_ip)
                self._refused = True
                transport.write(TOO_MANY_CONNECTIONS.encode("ascii") + b"\r\n")
                transport.close()
                return
        super().connection_made(transport)
        if first and self.client is not None and self.session is not None:
            self.session.peer = self.client  # type: ignore[assignment]  # a (host, port) pair at run time

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if not self._released:
            self._released = True
            self.connections.release(self._client_ip)
            if self.session_id:
                with in_session(self.session_id):
                    event(AuditAction.SESSION_CLOSED, listener=self.listener,
                          client=self._client_ip)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        self.session_id = begin_session()  # this task's context: every line of the session
        event(AuditAction.SESSION_OPENED, listener=self.listener, client=self._client_ip,
              **_tls_fields(self.transport))
        await super()._handle_client()

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        await super().smtp_STARTTLS(arg)
        if tls_details(self.transport) is not None:
            event(AuditAction.SESSION_TLS, listener=self.listener, client=self._client_ip,
                  **_tls_fields(self.transport))

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parser, with the stdlib parser's own bugs on hostile text
        (`MAIL FROM:<` raises IndexError) answered as a malformed address (553 5.1.3),
        not as a local error (451) the client would retry forever.

        A plain `<local@domain>` is read by a regular expression, with the same result
        as the stdlib parser (address, and the parameters after the blanks): that
        parser cost more than the rest of the command (docs/design-notes.md, Performance)."""
        plain = _PLAIN_PATH.match(arg)
        if plain is not None and not arg.startswith("(", plain.end()):
            address = plain.group(1)
            if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
                return None, None
            return address, arg[plain.end():]
        try:
            return super()._getaddr(arg)  # type: ignore[no-any-return]
        except Exception as error:
            log.info("malformed address %r: %r", arg[:100], error)
            return None, None

    def _timeout_cb(self) -> None:
        if self.transport is not None:
            self.transport.write(IDLE_TIMEOUT.encode("ascii") + b"\r\n")  # type: ignore[attr-defined]
        super()._timeout_cb()

    async def push(self, status: Any) -> None:
        if self.transport is None or self.transport.is_closing():
            return  # aiosmtpd reads on after closing (a spent verb budget): nothing to say
        await super().push(status)
        head = status[:4] if isinstance(status, bytes) else status[:4].encode()
        if head == b"421 " and self.transport is not None:
            self.transport.close()  # RFC 5321 §3.8: 421 closes the transmission channel
            return
        first = head[:1]
        if first == b"5":
            self._errors += 1
            if self._errors >= self.errors_per_session and self.transport is not None:
                await super().push(TOO_MANY_ERRORS)
                self.transport.close()

    # -- DATA in blocks (mss.smtp.data_block) --------------------------------------------

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's smtp_DATA with the line loop replaced by block reads (same replies,
        same content; see mss.smtp.data_block). The rest is aiosmtpd's, kept in step."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            state, content = await self._read_data_block()
        except asyncio.CancelledError:
            log.info("Connection lost during DATA")
            self._writer.close()
            raise
        if state is not DataOutcome.NOMINAL:
            bare = find_bare_line_ending(content) if state is DataOutcome.TOO_LONG else None
            if bare is not None:
                # aiosmtpd counts lines between CRLFs only: data with bare LFs is one
                # long "line". The smuggling rule's reply says what is wrong with it.
                await self.push(bare_line_ending_reply(bare).render())
            elif state is DataOutcome.TOO_LONG:
                await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            else:
                await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        original_content = unstuff(content)
        decoded: str | bytes = original_content
        if self._decode_data:
            if self.enable_SMTPUTF8:
                decoded = original_content.decode("utf-8", errors="surrogateescape")
            else:
                try:
                    decoded = original_content.decode("ascii", errors="strict")
                except UnicodeDecodeError:
                    await self.push("500 Error: strict ASCII mode")
                    return
        self.envelope.content = decoded
        self.envelope.original_content = original_content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data_block(self) -> tuple[DataOutcome, bytes]:
        """Read up to and including the terminator; return the outcome and the data
        before the terminator's `.` CRLF (still dot-stuffed). Past the size limit the
        data is no longer kept, only read to the end (as aiosmtpd does)."""
        reader = self._reader
        size_limit = self.data_size_limit
        stream_limit = line_limit(reader)  # aiosmtpd's line bound
        # kept up to this: what lies beyond cannot be the terminator's own bytes
        keep_limit = size_limit + len(TERMINATOR) if size_limit else None
        kept: list[bytes] = []
        kept_size = 0
        dropped = False  # past keep_limit: reading to the end, keeping nothing
        crossing = 0  # whole length of the line the size limit fell in, once known
        crossing_open = False
        tail = COMMAND_END  # the last bytes read (the DATA command's CRLF at first)
        while True:
            before = tail
            pending = pending_terminator(before)
            final = False
            if pending:
                # a terminator may have begun in what was read: read just its rest
                piece = await reader.readexactly(len(TERMINATOR) - pending)
                final = before[-pending:] + piece == TERMINATOR
            else:
                try:
                    piece = await reader.readuntil(TERMINATOR)
                    final = True
                except asyncio.LimitOverrunError as error:
                    # leaves the last 4 bytes unread: no terminator is cut in two
                    piece = await reader.read(error.consumed)
            tail = (before + piece)[-4:]
            if not dropped:
                kept.append(piece)
                kept_size += len(piece)
                if keep_limit and kept_size > keep_limit and not final:
                    dropped = True
                    block = b"".join(kept)
                    kept[:] = [block]
                    start = block.rfind(b"\r\n")
                    crossing = len(block) - (0 if start < 0 else start + 2)
                    crossing_open = True
            elif crossing_open:
                carried = b"\r" if before.endswith(b"\r") else b""
                end = (carried + piece).find(b"\r\n")
                if end < 0:
                    crossing += len(piece)
                else:
                    crossing += end + 2 - len(carried)
                    crossing_open = False
            if final:
                break
        block = b"".join(kept)
        if dropped:
            return block_outcome(block, size_limit=size_limit, line_limit=self.line_length_limit,
                                 stream_limit=stream_limit, crossing_line=crossing), b""
        content = (COMMAND_END + block)[2:-3]  # the terminator's CRLF ends the last line
        return block_outcome(content, size_limit=size_limit, line_limit=self.line_length_limit,
                             stream_limit=stream_limit), content

    # -- parameters aiosmtpd does not know ----------------------------------------------

    async def smtp_MAIL(self, arg: str | None) -> None:
        assert self.session is not None and isinstance(self.envelope, MssEnvelope)
        if arg is None or not self.session.extended_smtp or self.envelope.mail_from:
            await super().smtp_MAIL(arg)
            return
        split = _split_arg(arg, "FROM:", self)
        if split is None:
            await super().smtp_MAIL(arg)
            return
        head, params = split
        kept: list[str] = []
        dsn: list[str] = []
        declared = None
        for param in params:
            key, _, value = param.partition("=")
            key = key.upper()
            if key == "SIZE" and value.isdigit():
                declared = int(value)
            if key == "AUTH":
                continue  # RFC 4954 §5: MSS does not relay the submitter's identity
            if self.offer_dsn and key in _MAIL_DSN_KEYS:
                dsn.append(param)
            else:
                kept.append(param)
        # RFC 1870 §6.1: refuse a declared size over the limit before any data.
        if declared is not None and self.data_size_limit and declared > self.data_size_limit:
            await self.push(SmtpReply.parse(TOO_BIG).render())
            return
        try:
            mail_dsn = parse_mail_dsn_parameters(dsn)
        except SmtpReply as reply:
            await self.push(reply.render())
            return
        self.envelope.mail_dsn = mail_dsn
        self.envelope.declared_size = declared
        await super().smtp_MAIL(" ".join([head, *kept]))

    async def smtp_RCPT(self, arg: str | None) -> None:
        assert self.session is not None and isinstance(self.envelope, MssEnvelope)
        if arg is None or not self.offer_dsn or not self.envelope.mail_from:
            await super().smtp_RCPT(arg)
            return
        split = _split_arg(arg, "TO:", self)
        if split is None:
            await super().smtp_RCPT(arg)
            return
        head, params = split
        kept: list[str] = []
        dsn: list[str] = []
        for param in params:
            key = param.partition("=")[0].upper()
            (dsn if key in _RCPT_DSN_KEYS else kept).append(param)
        try:
            rcpt_dsn = parse_rcpt_dsn_parameters(dsn)
        except SmtpReply as reply:
            await self.push(reply.render())
            return
        count = len(self.envelope.rcpt_tos)
        await super().smtp_RCPT(" ".join([head, *kept]))
        if len(self.envelope.rcpt_tos) > count:
            self.envelope.rcpt_dsn[self.envelope.rcpt_tos[-1]] = rcpt_dsn
