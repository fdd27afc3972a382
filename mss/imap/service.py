"""`mss serve` wiring: the IMAP listeners (DESIGN §7): STARTTLS on `listeners.imap`,
implicit TLS on `listeners.imaps`, both with client certificates optional so that
applications can use AUTHENTICATE EXTERNAL."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from mss.certs import server_context
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from mss.oidc.bearer_login import shared_bearer_login

if TYPE_CHECKING:
    from mss.app import App, Service


class ImapService:
    name = "imap"

    def __init__(self, app: App, limits: ImapLimits | None = None) -> None:
        self.app = app
        settings = app.settings
        self.limits = limits or ImapLimits(max_literal=settings.limits.max_message_bytes)
        self.servers: list[ImapServer] = []
        self.addresses: dict[str, tuple[str, int]] = {}

    async def start(self) -> list[str]:
        app = self.app
        assert app.store is not None and app.pki is not None
        # the chain in the handshake; revocation after it (mss.certs.live_trust)
        context = server_context(app.pki.paths, client_cert="optional", check_crl=False)
        live = app.live_trust
        check = None if live is None else partial(live.check, listener="imap")
        lines = []
        oauth = shared_bearer_login(app.context, app.store)
        listeners = app.settings.listeners
        for key, implicit, label in (("imap", False, "IMAP"), ("imaps", True, "IMAPS")):
            listener = getattr(listeners, key)
            if not listener.enabled:
                continue
            server = ImapServer(app.store, context, implicit_tls=implicit, limits=self.limits,
                                oauth=oauth, certificate_check=check)
            host, port = await server.start(listener.host, listener.port)
            self.servers.append(server)
            self.addresses[key] = (host, port)
            suffix = "" if implicit else " (STARTTLS)"
            lines.append(f"{label} on {host}:{port}{suffix}")
        app.context["imap"] = self
        servers = self.servers
        app.metrics.sessions.labels("imap").set_function(
            lambda: sum(server.connections for server in servers))
        return lines

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()
        self.servers.clear()


def build(app: App) -> list[Service]:
    listeners = app.settings.listeners
    if not (listeners.imap.enabled or listeners.imaps.enabled):
        return []
    return [ImapService(app)]
