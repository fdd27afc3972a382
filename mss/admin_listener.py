"""The operators' listener: `/health` and `/metrics` on their own port, loopback by
default (`listeners.admin`), never on the patients' web listener.

Invariants:
- `/health` answers 200 only when the database answers a query in time; otherwise 503
  with the reason (a balancer or a supervisor then sees the node as down, while the
  protocol listeners answer 4yz and keep nothing half-done);
- `/metrics` is the Prometheus text of this node (its extra MX and IMAP processes summed in, see
  mss.metrics); no message content, no address, no patient data in either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mss.config import Settings
from mss.metrics import CONTENT_TYPE
from mss.store.health_check import database_health
from mss.store.store import Store
from mss.webmail.service import EmbeddedHttp


def admin_app(store: Store, render_metrics: Callable[[], Awaitable[bytes]]) -> Starlette:
    async def health(_request: Request) -> Response:
        problem = await database_health(store)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "database": problem},
                                status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics(_request: Request) -> Response:
        return Response(await render_metrics(), media_type=CONTENT_TYPE)

    return Starlette(routes=[Route("/health", health), Route("/metrics", metrics)])


class AdminService:
    name = "admin"

    def __init__(self, settings: Settings, store: Store,
                 render_metrics: Callable[[], Awaitable[bytes]]) -> None:
        self.settings = settings
        self.store = store
        self.render_metrics = render_metrics
        self.http = EmbeddedHttp()

    @property
    def port(self) -> int:
        return self.http.port

    async def start(self) -> list[str]:
        listener = self.settings.listeners.admin
        if not listener.enabled:
            return []
        port = await self.http.start(admin_app(self.store, self.render_metrics),
                                     listener.host, listener.port, name="mss-admin",
                                     backlog=64)
        return [f"Admin on {listener.host}:{port} (/health, /metrics)"]

    async def stop(self) -> None:
        await self.http.stop()
