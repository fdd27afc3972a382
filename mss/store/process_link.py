"""Change events and wake-ups between the processes of one node (MX processes, docs/design-notes.md,
Performance).

On PostgreSQL, change events travel between processes and nodes through NOTIFY
(mss.store.cluster). One SQLite file has no such channel, so the main process listens
on a Unix socket in the data folder and each MX process connects to it. A line of JSON
per message:
- `{"event": {...}}`: a change event published in one process (after its commit) is
  republished in every other one (IMAP IDLE, caches, the trust list's forgetting);
- `{"wake": "<name>"}`: an MX process asks the main one to run a named wake-up (the
  outbound queue worker, which runs only there);
- `{"metrics?": n}` from the hub and `{"metrics": text, "id": n}` back: the main
  process's `/metrics` asks every extra process for its Prometheus text and adds it to
  its own (mss.metrics.merge_expositions), so one scrape sees the whole node.

Invariants: a link's start returns once the hub has registered it (the hub's hello),
so an MX process hears every event published after it started; an event is relayed
once to each other process, never back to where it came from; an MX process whose
link to the main process breaks stops serving (it would otherwise miss trust-list
changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mss.background import stop_task
from mss.store.events import ChangeEvent, EventBus

log = logging.getLogger(__name__)
MAX_LINE = 4 * 1024 * 1024  # a metrics reply is the longest line; peers are our own processes
METRICS_TIMEOUT = 2.0  # seconds an extra process has to answer a metrics request
HELLO = b'{"hello":1}\n'  # the hub has registered the peer: no event is missed after it
HELLO_TIMEOUT = 30.0


def _line(kind: str, value: object) -> bytes:
    return json.dumps({kind: value}, separators=(",", ":")).encode() + b"\n"


class _Republisher:
    """Publishes events that came from elsewhere without sending them back out."""

    def __init__(self, bus: EventBus, send_events: bool) -> None:
        self.bus = bus
        self.send_events = send_events  # False on PostgreSQL: NOTIFY carries them
        self._incoming: ChangeEvent | None = None

    def republish(self, event: ChangeEvent) -> None:
        self._incoming = event
        try:
            self.bus.publish(event)
        finally:
            self._incoming = None

    def is_incoming(self, event: ChangeEvent) -> bool:
        return event is self._incoming


class ProcessHub(_Republisher):
    """The main process's end: relays events among the MX processes and itself."""

    def __init__(self, bus: EventBus, path: Path, *, send_events: bool = True) -> None:
        super().__init__(bus, send_events)
        self.path = path
        self.wakeups: dict[str, Callable[[], None]] = {}
        self._peers: set[asyncio.StreamWriter] = set()
        self._serving: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._from: asyncio.StreamWriter | None = None
        self._metrics_asked = 0
        self._metrics_waiting: dict[tuple[int, asyncio.StreamWriter], asyncio.Future[str]] = {}

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # a socket file left by a killed process
        self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_LINE)
        self.path.chmod(0o600)
        if self.send_events:
            self.bus.add_listener(self._published)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for peer in list(self._peers):
                peer.close()
            await asyncio.gather(*self._serving, return_exceptions=True)  # they see EOF
            await self._server.wait_closed()
            self._server = None
        self.path.unlink(missing_ok=True)

    def _published(self, event: ChangeEvent) -> None:
        line = _line("event", asdict(event))
        for peer in self._peers:
            if not (self.is_incoming(event) and peer is self._from):
                peer.write(line)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._peers.add(writer)
        serving = asyncio.current_task()
        assert serving is not None
        self._serving.add(serving)
        writer.write(HELLO)  # from now on this peer hears every event
        try:
            while line := await reader.readline():
                self._received(json.loads(line), writer)
        except (ConnectionError, ValueError, asyncio.LimitOverrunError):
            log.warning("an MX process sent what the hub cannot read; link closed")
        finally:
            self._peers.discard(writer)
            self._serving.discard(serving)
            writer.close()

    def _received(self, message: dict[str, object], writer: asyncio.StreamWriter) -> None:
        if "event" in message and self.send_events:
            self._from = writer
            try:
                self.republish(ChangeEvent.from_dict(message["event"]))  # type: ignore[arg-type]
            finally:
                self._from = None
        elif "wake" in message:
            wake = self.wakeups.get(str(message["wake"]))
            if wake is not None:
                wake()
        elif "metrics" in message:
            waiting = self._metrics_waiting.get((int(str(message.get("id", -1))), writer))
            if waiting is not None and not waiting.done():
                waiting.set_result(str(message["metrics"]))

    async def collect_metrics(self, timeout: float = METRICS_TIMEOUT) -> list[str]:
        """The Prometheus text of every linked process; one that does not answer within
        `timeout` is left out (the scrape must not hang on a busy process)."""
        self._metrics_asked += 1
        asked = self._metrics_asked
        loop = asyncio.get_running_loop()
        waiting: dict[tuple[int, asyncio.StreamWriter], asyncio.Future[str]] = {}
        for peer in list(self._peers):
            if not peer.is_closing():
                waiting[(asked, peer)] = loop.create_future()
                peer.write(_line("metrics?", asked))
        self._metrics_waiting.update(waiting)
        try:
            if waiting:
                await asyncio.wait(waiting.values(), timeout=timeout)
        finally:
            for key in waiting:
                self._metrics_waiting.pop(key, None)
        return [f.result() for f in waiting.values() if f.done() and not f.cancelled()]


class ProcessLink(_Republisher):
    """An MX process's end: sends its events and wake-ups, republishes the others'."""

    def __init__(self, bus: EventBus, path: Path, *, send_events: bool = True) -> None:
        super().__init__(bus, send_events)
        self.path = path
        self.lost = asyncio.Event()
        # this process's Prometheus text, for the hub's metrics requests (set at wiring)
        self.metrics_source: Callable[[], bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_unix_connection(self.path, limit=MAX_LINE)
        if await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT) != HELLO:
            self._writer.close()
            raise ConnectionError(f"{self.path}: not the main process's hub")
        self._reading = asyncio.create_task(self._read(reader), name="mss-process-link")
        if self.send_events:
            self.bus.add_listener(self._published)

    async def stop(self) -> None:
        await stop_task(self._reading)
        self._reading = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._writer = None

    def wake(self, name: str) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(_line("wake", name))

    def _published(self, event: ChangeEvent) -> None:
        if not self.is_incoming(event) and self._writer is not None:
            self._writer.write(_line("event", asdict(event)))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                message = json.loads(line)
                if "event" in message and self.send_events:
                    self.republish(ChangeEvent.from_dict(message["event"]))
                elif "metrics?" in message and self._writer is not None:
                    text = self.metrics_source().decode() if self.metrics_source else ""
                    self._writer.write(json.dumps({"metrics": text, "id": message["metrics?"]},
                                                  separators=(",", ":")).encode() + b"\n")
        except (ConnectionError, ValueError, asyncio.LimitOverrunError):
            log.warning("the link to the main process broke")
        finally:
            self.lost.set()


