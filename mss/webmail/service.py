"""The HTTP service `mss serve` starts: webmail, JSON API and autoconfig under uvicorn on
`settings.listeners.http`, and the patient notice worker (mss.notify).

Invariants: the notifier is hooked to the pipeline (`in_delivery`) and to the vault
(`on_break_glass`) before the first request is served; on stop, uvicorn stops accepting
and finishes in-flight requests before the notifier drains its queueing tasks. Objects
published in `app.context`: "vault" (VaultService), "notifier" (Notifier), "webmail"
(this service, with `.port`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from mss.notify.notifier import Notifier
from mss.notify.relay_settings import relay_settings
from mss.oidc.web_sign_in import shared_web_sign_in
from mss.vault.access import VaultService
from mss.vault.break_glass_notice import physician_break_glass_notifier
from mss.vault.mdn_sending import acknowledgement_sender
from mss.webmail.app import create_app
from mss.webmail.web_context import WebContext

if TYPE_CHECKING:
    from mss.app import App


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: mss.app owns SIGTERM/SIGINT and stops
    every service in order (uvicorn would otherwise replace the app's handlers)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebmailService:
    name = "webmail"

    def __init__(self, app: App) -> None:
        self.app = app
        self.server: EmbeddedServer | None = None
        self.task: asyncio.Task[None] | None = None
        self.notifier: Notifier | None = None
        self.port = 0
        self.socket: socket.socket | None = None

    def _ports(self) -> dict[str, int]:
        ports: dict[str, int] = {}
        for name, listener in (self.app.context.get("smtp_listeners") or {}).items():
            if getattr(listener, "port", 0):
                ports[name] = int(listener.port)
        imap = self.app.context.get("imap")
        for key, address in (getattr(imap, "addresses", None) or {}).items():
            ports[str(key)] = int(address[1])
        return ports

    async def start(self) -> list[str]:
        app = self.app
        assert app.store is not None and app.pipeline is not None
        vault = app.context.setdefault("vault", VaultService(app.store))
        self.notifier = Notifier(app.store, relay_settings(app.settings))
        app.pipeline.in_delivery.append(self.notifier.on_delivery)
        vault.on_break_glass.append(self.notifier.on_break_glass)
        vault.on_break_glass.append(physician_break_glass_notifier(
            acknowledgement_sender(app.pipeline), app.settings.server.domain,
            app.store.clock.now))
        app.context["notifier"] = self.notifier
        self.notifier.start()
        lines = []
        if self.notifier.relay.enabled:
            lines.append(f"Patient notices through {self.notifier.relay.host}:"
                         f"{self.notifier.relay.port} ({self.notifier.relay.tls})")
        else:
            lines.append("Patient notices queued (no relay: set notify.relay_host)")
        listener = app.settings.listeners.http
        if not listener.enabled:
            return lines
        web = WebContext.build(app.store, app.pipeline, vault)
        web.oidc = shared_web_sign_in(app.context, app.store)
        asgi = create_app(web, ports=self._ports(), metrics=app.metrics.render)
        config = uvicorn.Config(asgi, host=listener.host, port=listener.port,
                                log_level="warning", lifespan="off", server_header=False,
                                proxy_headers=False)
        self.server = EmbeddedServer(config)
        # bound and listening here, so a bind error is raised now and the real port is
        # known; connections wait in the backlog until uvicorn accepts them
        self.socket = socket.create_server((listener.host, listener.port), backlog=512)
        self.port = int(self.socket.getsockname()[1])
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]),
                                        name="mss-http")
        app.context["webmail"] = self
        lines.append(f"HTTP on {listener.host}:{self.port} (webmail, API, autoconfig)")
        return lines

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await self.task
        if self.socket is not None:
            self.socket.close()
        if self.notifier is not None:
            await self.notifier.stop()


def build(app: Any) -> list[WebmailService]:
    return [WebmailService(app)]
