"""`mss serve` wiring: the IMAP listeners (docs/architecture.md, Processes): STARTTLS on
`listeners.imap`, implicit TLS on `listeners.imaps`, both with client certificates
optional so that applications can use AUTHENTICATE EXTERNAL."""

from __future__ import annotations

from functools import partial

from mss.certs import DevPki, server_context
from mss.certs.live_trust import LiveTrust
from mss.config import Settings, process_count
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from mss.metrics import NodeMetrics
from mss.oidc.bearer_login import BearerLogin
from mss.proxy_protocol import ProxyPolicy
from mss.store.store import Store


class ImapService:
    name = "imap"

    def __init__(self, settings: Settings, store: Store, pki: DevPki, metrics: NodeMetrics, *,
                 bearer: BearerLogin | None, live_trust: LiveTrust | None = None,
                 limits: ImapLimits | None = None) -> None:
        self.settings = settings
        self.live_trust = live_trust
        self.store = store
        self.pki = pki
        self.metrics = metrics
        self.bearer = bearer
        self.limits = limits or ImapLimits(max_literal=settings.limits.max_message_bytes)
        self.servers: list[ImapServer] = []
        self.addresses: dict[str, tuple[str, int]] = {}

    async def start(self) -> list[str]:
        # the chain in the handshake; revocation after it (mss.certs.live_trust)
        context = server_context(self.pki.paths, client_cert="optional", check_crl=False)
        live = self.live_trust
        if live is not None:  # CAs added to the bundle reach the next handshake
            live.track(context)
        check = None if live is None else partial(live.check, listener="imap")
        lines = []
        listeners = self.settings.listeners
        proxy = ProxyPolicy.from_settings(listeners)  # behind a load balancer (HAProxy)
        shared = process_count(self.settings.imap.processes) > 1  # mss.smtp.mx_processes
        for key, implicit, label in (("imap", False, "IMAP"), ("imaps", True, "IMAPS")):
            listener = getattr(listeners, key)
            if not listener.enabled:
                continue
            server = ImapServer(self.store, context, implicit_tls=implicit, limits=self.limits,
                                oauth=self.bearer, certificate_check=check, proxy=proxy,
                                reuse_port=shared)
            host, port = await server.start(listener.host, listener.port)
            self.servers.append(server)
            self.addresses[key] = (host, port)
            suffix = "" if implicit else " (STARTTLS)"
            lines.append(f"{label} on {host}:{port}{suffix}")
        servers = self.servers
        self.metrics.sessions.labels("imap").set_function(
            lambda: sum(server.connections for server in servers))
        return lines

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()
        self.servers.clear()
