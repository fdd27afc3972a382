"""One aiosmtpd listener: the TCP server, its TLS mode and its per-session limits.

STARTTLS listeners (MX, 587) give aiosmtpd the TLS context; the implicit-TLS listener
(465) gives it to the TCP server instead, and tells aiosmtpd that AUTH needs no further
TLS (RFC 8314 §3.3: the whole connection is already protected).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mss.certs.implicit_tls import implicit_tls_factory
from mss.config import ListenerSettings
from mss.proxy_protocol import Peer, ProxiedServer, ProxyGate, ProxyPolicy
from mss.smtp.options import SmtpOptions
from mss.smtp.protocol import ConnectionCounter, MssSMTP

BANNER_IDENT = "ESMTP MSS"  # RFC 5321 §4.3.1: "220 <domain> ESMTP ..."


@dataclass
class ListenerSpec:
    label: str  # "MX", "Submission", "Submissions"
    description: str  # "(STARTTLS, client certificate required)"
    settings: ListenerSettings
    handler: Any
    tls_context: ssl.SSLContext
    implicit_tls: bool
    offer_dsn: bool
    proxy: ProxyPolicy | None = None  # PROXY headers from these load balancers


def _command_limits(options: SmtpOptions) -> dict[str, int]:
    """Per-verb budgets for one session (aiosmtpd answers `421 4.7.0` past them)."""
    return {
        "*": options.commands_per_session,
        "AUTH": options.auth_attempts_per_session,
        "STARTTLS": 2,
        "EHLO": 20,
        "HELO": 20,
        "NOOP": 100,
        "HELP": 10,
        "VRFY": 10,
    }


# A burst of connections (2,000 from one address) must reach `connection_made` to be
# refused at once with 421; asyncio's default backlog of 100 leaves the rest waiting on
# SYN-ACK retransmissions for up to a minute.
LISTEN_BACKLOG = 4096
HANDSHAKE_TIMEOUT = 30.0  # seconds for an implicit TLS handshake (asyncio's default: 60)


class SmtpListener:
    def __init__(self, spec: ListenerSpec, options: SmtpOptions, hostname: str, *,
                 shared_port: bool = False) -> None:
        self.spec = spec
        self.shared_port = shared_port  # SO_REUSEPORT: other MX processes bind it too
        self.options = options
        self.hostname = hostname
        self.counter = ConnectionCounter(options.connections_per_address)
        self.server: asyncio.Server | ProxiedServer | None = None
        self.sessions: weakref.WeakSet[MssSMTP] = weakref.WeakSet()
        self.port = 0

    def _protocol(self, client: Peer | None = None) -> MssSMTP:
        spec = self.spec
        session = MssSMTP(
            spec.handler,
            client=client,
            connections=self.counter,
            offer_dsn=spec.offer_dsn,
            errors_per_session=self.options.errors_per_session,
            listener=spec.label.lower(),
            data_size_limit=self.options.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.hostname,
            ident=BANNER_IDENT,
            tls_context=None if spec.implicit_tls else spec.tls_context,
            require_starttls=False,  # refused at MAIL with an enhanced code instead
            timeout=self.options.idle_timeout,
            auth_require_tls=not spec.implicit_tls,
            auth_exclude_mechanism=getattr(spec.handler, "excluded_mechanisms", ()),
            command_call_limit=_command_limits(self.options),
            loop=asyncio.get_running_loop(),
        )
        self.sessions.add(session)
        return session

    def _handshake_timeout(self) -> float:
        """A client that starts TLS and goes silent holds a slot until this runs out."""
        return min(HANDSHAKE_TIMEOUT, self.options.idle_timeout)

    async def start(self) -> str:
        if self.spec.proxy is not None:
            return await self._start_proxied(self.spec.proxy)
        loop = asyncio.get_running_loop()
        factory: Callable[[], asyncio.BaseProtocol] = self._protocol
        if self.spec.implicit_tls:  # MSS starts TLS itself: a refused handshake is logged
            handler, label = self.spec.handler, self.spec.label.lower()
            factory = implicit_tls_factory(
                self._protocol, self.spec.tls_context, self._handshake_timeout(),
                lambda client, error: handler.handshake_failed(client, error, label))
        self.server = await loop.create_server(
            factory, self.spec.settings.host, self.spec.settings.port,
            reuse_address=True, reuse_port=self.shared_port or None, backlog=LISTEN_BACKLOG,
        )
        self.port = int(self.server.sockets[0].getsockname()[1])
        return f"{self.spec.label} on {self.spec.settings.host}:{self.port} {self.spec.description}"

    async def _start_proxied(self, policy: ProxyPolicy) -> str:
        """Behind a load balancer: each connection passes the PROXY gate first, and TLS
        (465) starts only after its header (mss.proxy_protocol)."""
        spec = self.spec
        implicit = spec.implicit_tls
        gate = ProxyGate(policy, spec.label.lower(), client_speaks_first=implicit,
                         first_bytes_timeout=self._handshake_timeout())
        handler, label = spec.handler, spec.label.lower()
        server = ProxiedServer(
            self._protocol, gate, ssl_context=spec.tls_context if implicit else None,
            ssl_handshake_timeout=self._handshake_timeout(),
            on_handshake_failure=lambda client, error: handler.handshake_failed(
                client, error, label))
        self.server = server
        _, self.port = await server.start(spec.settings.host, spec.settings.port,
                                          reuse_port=self.shared_port, backlog=LISTEN_BACKLOG)
        return (f"{spec.label} on {spec.settings.host}:{self.port} {spec.description}, "
                "PROXY protocol from the trusted load balancers")

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        await self.server.wait_closed()
        self.server = None
