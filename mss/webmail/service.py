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
from typing import Any

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


class EmbeddedHttp:
    """One uvicorn server inside the node's event loop, on a socket bound at start (so a
    bind error is raised then and the real port is known; connections wait in the
    backlog until uvicorn accepts them). Shared by the web and the admin listeners."""

    def __init__(self) -> None:
        self.server: EmbeddedServer | None = None
        self.task: asyncio.Task[None] | None = None
        self.socket: socket.socket | None = None
        self.port = 0

    async def start(self, asgi: Any, host: str, port: int, *, name: str,
                    backlog: int = 512, forwarded_from: str = "") -> int:
        """`forwarded_from`: the load balancers (addresses or networks, spaces or commas)
        whose `X-Forwarded-For` names the client (uvicorn's proxy headers); empty: none,
        the peer is the client."""
        trusted = forwarded_from.replace(",", " ").split()
        config = uvicorn.Config(asgi, host=host, port=port, log_level="warning",
                                lifespan="off", server_header=False,
                                proxy_headers=bool(trusted),
                                forwarded_allow_ips=trusted or None)
        self.server = EmbeddedServer(config)
        self.socket = socket.create_server((host, port), backlog=backlog)
        self.port = int(self.socket.getsockname()[1])
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]), name=name)
        return self.port

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await self.task
        if self.socket is not None:
            self.socket.close()


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
        self.http = EmbeddedHttp()

    @property
    def port(self) -> int:
        return self.http.port

    async def start(self) -> list[str]:
        listener = self.settings.listeners.http
        if not listener.enabled:
            return []
        web = WebContext.build(self.store, self.pipeline, self.vault)
        web.oidc = self.sign_in
        asgi = create_app(web, ports=self.ports())
        # behind HAProxy in HTTP mode: X-Forwarded-For from the trusted balancers only
        port = await self.http.start(
            asgi, listener.host, listener.port, name="mss-http",
            forwarded_from=self.settings.listeners.proxy_trusted_networks)
        return [f"HTTP on {listener.host}:{port} (webmail, API, autoconfig)"]

    async def stop(self) -> None:
        await self.http.stop()
