"""The HTTP service `mss serve` starts: webmail, JSON API and autoconfig under uvicorn on
`settings.listeners.http`. The composition root (mss.composition) gives it the pipeline,
the vault service (whose break-glass notices it already hooked to the patient notifier)
and the ports of the other listeners for autoconfig.

Invariant: on stop, uvicorn stops accepting and finishes in-flight requests (the
notifier, stopped after it, then drains its queueing tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator

import uvicorn

from mss.config import Settings
from mss.oidc.web_sign_in import WebSignIn
from mss.pipeline.accept import Pipeline
from mss.store.store import Store
from mss.vault.access import VaultService
from mss.webmail.app import create_app
from mss.webmail.web_context import WebContext


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: mss.app owns SIGTERM/SIGINT and stops
    every service in order (uvicorn would otherwise replace the app's handlers)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebmailService:
    name = "webmail"

    def __init__(self, settings: Settings, store: Store, pipeline: Pipeline,
                 vault: VaultService, *, sign_in: WebSignIn | None,
                 ports: Callable[[], dict[str, int]]) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.vault = vault
        self.sign_in = sign_in
        self.ports = ports  # the other listeners' (autoconfig), read once they are bound
        self.server: EmbeddedServer | None = None
        self.task: asyncio.Task[None] | None = None
        self.port = 0
        self.socket: socket.socket | None = None

    async def start(self) -> list[str]:
        listener = self.settings.listeners.http
        if not listener.enabled:
            return []
        web = WebContext.build(self.store, self.pipeline, self.vault)
        web.oidc = self.sign_in
        asgi = create_app(web, ports=self.ports())
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
        return [f"HTTP on {listener.host}:{self.port} (webmail, API, autoconfig)"]

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await self.task
        if self.socket is not None:
            self.socket.close()
