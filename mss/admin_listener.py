"""The operators' listener: `/health` and `/metrics` on their own port, loopback by
default (`listeners.admin`), never on the patients' web listener.

Invariants:
- `/health` answers 200 only when the database answers a query in time; otherwise 503
  with the reason (a balancer or a supervisor then sees the node as down, while the
  protocol listeners answer 4yz and keep nothing half-done);
- `/metrics` is the Prometheus text of this node (every MX process included, see
  mss.metrics); no message content, no address, no patient data in either.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mss.config import Settings
from mss.metrics import CONTENT_TYPE
from mss.store.health_check import database_health
from mss.store.store import Store
from mss.webmail.service import EmbeddedServer


def admin_app(store: Store, render_metrics: Callable[[], bytes]) -> Starlette:
    async def health(_request: Request) -> Response:
        problem = await database_health(store)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "database": problem},
                                status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics(_request: Request) -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE)

    return Starlette(routes=[Route("/health", health), Route("/metrics", metrics)])


class AdminService:
    name = "admin"

    def __init__(self, settings: Settings, store: Store,
                 render_metrics: Callable[[], bytes]) -> None:
        self.settings = settings
        self.store = store
        self.render_metrics = render_metrics
        self.server: EmbeddedServer | None = None
        self.task: asyncio.Task[None] | None = None
        self.socket: socket.socket | None = None
        self.port = 0

    async def start(self) -> list[str]:
        listener = self.settings.listeners.admin
        if not listener.enabled:
            return []
        config = uvicorn.Config(admin_app(self.store, self.render_metrics),
                                host=listener.host, port=listener.port, log_level="warning",
                                lifespan="off", server_header=False, proxy_headers=False)
        self.server = EmbeddedServer(config)
        self.socket = socket.create_server((listener.host, listener.port))
        self.port = int(self.socket.getsockname()[1])
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]),
                                        name="mss-admin")
        return [f"Admin on {listener.host}:{self.port} (/health, /metrics)"]

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await self.task
        if self.socket is not None:
            self.socket.close()
