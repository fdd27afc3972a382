"""Several nodes on one PostgreSQL: change events between nodes, and node heartbeats.

Change events ride on PostgreSQL NOTIFY, sent inside the writing transaction so that
they are delivered to the other nodes exactly when (and only if) it commits; each node
LISTENs and republishes what other nodes sent on its own in-process bus. On SQLite
(one process) nothing of this runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

import mss
from mss.store.events import ChangeEvent, EventBus
from mss.store.tables import ClusterNode

log = logging.getLogger(__name__)
CHANNEL = "mss_events"
NOTIFY_LIMIT = 7000  # PostgreSQL refuses payloads of 8000 bytes or more
HEARTBEAT_EVERY = timedelta(seconds=10)
ALIVE_WITHIN = timedelta(seconds=30)


def default_node_id(configured: str) -> str:
    return configured or f"{socket.gethostname()}-{os.getpid()}"


def notify_payloads(node_id: str, events: Sequence[ChangeEvent]) -> list[str]:
    """Events as JSON payloads under the NOTIFY size limit."""
    payloads: list[str] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        item = json.loads(event.to_json())
        item_size = len(json.dumps(item)) + 1
        if batch and size + item_size > NOTIFY_LIMIT:
            payloads.append(json.dumps({"node": node_id, "events": batch}))
            batch, size = [], 0
        batch.append(item)
        size += item_size
    if batch:
        payloads.append(json.dumps({"node": node_id, "events": batch}))
    return payloads


async def notify_events(session: AsyncSession, node_id: str,
                        events: Sequence[ChangeEvent]) -> None:
    """Every payload in one statement: the transaction holds its folder rows and the audit
    head by now (issue 24: no round trip more than needed before COMMIT)."""
    payloads = notify_payloads(node_id, events)
    if payloads:
        await session.execute(_NOTIFY_ALL, {"channel": CHANNEL, "payloads": payloads})


_NOTIFY_ALL = text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p")


class PgEventRelay:
    """LISTENs on PostgreSQL and republishes other nodes' events on the local bus."""

    def __init__(self, url: str, node_id: str, bus: EventBus) -> None:
        self._dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self._node_id = node_id
        self._bus = bus
        self._conn: Any = None

    async def start(self) -> None:
        import asyncpg  # the PostgreSQL driver; only loaded when running on PostgreSQL

        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(CHANNEL, self._received)

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message.get("node") == self._node_id:
                return
            for item in message.get("events", []):
                self._bus.publish(ChangeEvent.from_dict(item))
        except (ValueError, TypeError):
            log.warning("ignored a malformed cluster event payload")

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class NodeStatus:
    node_id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_seen: datetime
    alive: bool


async def heartbeat(session: AsyncSession, node_id: str, now: datetime,
                    started_at: datetime) -> None:
    row = await session.get(ClusterNode, node_id)
    if row is None:
        session.add(ClusterNode(node_id=node_id, host=socket.gethostname(), pid=os.getpid(),
                                version=mss.__version__, started_at=started_at,
                                last_seen=now))
    else:
        row.last_seen = now
    await session.flush()


async def leave(session: AsyncSession, node_id: str) -> None:
    row = await session.get(ClusterNode, node_id)
    if row is not None:
        await session.delete(row)
        await session.flush()


async def node_statuses(session: AsyncSession, now: datetime) -> list[NodeStatus]:
    rows = (await session.execute(select(ClusterNode).order_by(ClusterNode.node_id))).scalars()
    return [
        NodeStatus(r.node_id, r.host, r.pid, r.version, r.started_at, r.last_seen,
                   now - r.last_seen <= ALIVE_WITHIN)
        for r in rows
    ]


async def run_heartbeats(beat: Any, every: timedelta = HEARTBEAT_EVERY) -> None:
    """Call `beat()` forever at a fixed interval (a background task of the app)."""
    while True:
        try:
            await beat()
        except Exception:
            log.exception("heartbeat failed")
        await asyncio.sleep(every.total_seconds())
