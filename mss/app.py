"""One asyncio process running every service of MSS (DESIGN §7).

Invariants: the store opens before any listener starts and closes after every listener
has stopped; on SIGTERM/SIGINT listeners stop accepting first, in-flight work finishes
(the write batcher drains), then the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mss.certs import DevPki, ensure_server_pki
from mss.certs.live_trust import LiveTrust
from mss.certs.revocation import StaleCrlPolicy
from mss.clock import Clock, SystemClock
from mss.config import Settings
from mss.metrics import NodeMetrics
from mss.pipeline.accept import Pipeline
from mss.pipeline.outbound_queue import queue_depth
from mss.store.audit_actions import AuditAction
from mss.store.cluster import default_node_id, heartbeat, leave, run_heartbeats
from mss.store.events import CRL_CHANGED, ChangeEvent, EventBus
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from mss.vault.deposit import attach_vault
from mss.vault.mdn_sending import drain_acknowledgements

log = logging.getLogger(__name__)

# Each names a `build(app) -> list[Service]` (imported late: they import this module).
SERVICE_FACTORIES = (
    "mss.smtp.service",
    "mss.imap.service",
    "mss.webmail.service",
)


class Service(Protocol):
    name: str

    async def start(self) -> list[str]:
        """Start; return one line per listener for the operator ("MX on 127.0.0.1:10025")."""
        ...

    async def stop(self) -> None: ...


class App:
    """The node's main process, or (with `mx_process`) one of its extra MX processes:
    those serve only the MX listener, and leave node liveness, audit of start and stop,
    the outbound queue worker and every other listener to the main process."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 mx_process: int | None = None, bus: EventBus | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.mx_process = mx_process
        self._bus = bus
        self.node_id = default_node_id(settings.server.node_id)
        self._heartbeat: asyncio.Task[None] | None = None
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.pki: DevPki | None = None
        self.live_trust: LiveTrust | None = None  # revocations in force (every listener)
        self.services: list[Service] = []
        self.context: dict[str, Any] = {}
        self.started_at = self.clock.now()
        self.metrics = NodeMetrics(self.node_id)  # shared objects services publish for each other

    async def start(self, extra: Sequence[ServiceFactory] = ()) -> list[str]:
        main = self.mx_process is None
        self.store = await Store.open(self.settings, clock=self.clock, create=main,
                                      bus=self._bus)
        self.store.node_id = self.node_id
        lines: list[str] = []
        try:
            await self.store.start_cluster_events()
            if main:
                await self.beat()
                self._heartbeat = asyncio.create_task(run_heartbeats(self.beat))
            else:
                self.context["smtp_worker_enabled"] = False
            self.pki = await asyncio.to_thread(ensure_server_pki, self.settings)
            await self._start_live_trust(self.pki)
            self.store.batcher.audit_listeners.append(self.metrics.count_audit)
            self.pipeline = Pipeline(self.store, self.settings)
            attach_vault(self.pipeline)
            self.pipeline.after_accept.append(self.metrics.count_accept)
            await self.pipeline.ensure_spool_mailbox()
            for build in [*_factories(only_smtp=not main), *extra]:
                for service in build(self):
                    lines.extend(await service.start())
                    self.services.append(service)
        except BaseException:
            await self.stop()
            raise
        if main:
            await self.store.write(_audit_start(self.node_id))
        return lines

    async def _start_live_trust(self, pki: DevPki) -> None:
        """Revocations reach every listener while it runs (mss.certs.live_trust)."""
        assert self.store is not None
        trust = self.settings.trust
        live = LiveTrust(pki.paths.crl, pki.paths.ca_bundle, self.clock,
                         stale_policy=StaleCrlPolicy(trust.stale_crl),
                         check_every=trust.crl_check_seconds)
        live.on_refused.append(
            lambda listener, reason: self.metrics.tls_peer_refusals.labels(
                listener, reason).inc())
        live.on_stale_accepted.append(self.metrics.crl_stale_accepted.inc)
        await live.start()
        self.live_trust = live

        def on_event(event: ChangeEvent) -> None:
            if event.kind == CRL_CHANGED.kind:
                live.changed()

        self.store.bus.add_listener(on_event)

    async def beat(self) -> None:
        """Say this node is alive (`mss cluster status`)."""
        assert self.store is not None
        store, started = self.store, self.started_at

        async def job(uow: UnitOfWork) -> None:
            await heartbeat(uow.session, self.node_id, uow.now(), started)

        await store.write(job)
        async with store.reading() as session:
            depth = await queue_depth(session, store.clock.now())
        self.metrics.queue_depth.set(depth.queued)
        self.metrics.queue_oldest_seconds.set(depth.oldest_age_seconds)

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        for service in reversed(self.services):
            try:
                await service.stop()
            except Exception:
                log.exception("stopping %s failed", service.name)
        self.services.clear()
        await drain_acknowledgements()  # MDNs accepted for sending go out before closing
        if self.live_trust is not None:
            await self.live_trust.stop()
        if self.store is not None:
            if self.mx_process is None:
                with contextlib.suppress(Exception):
                    await self.store.write(_audit_stop(self.node_id))
                with contextlib.suppress(Exception):
                    await self.store.write(_leave(self.node_id))
            await self.store.close()
            self.store = None

    async def run_until_signalled(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Serve until SIGTERM or SIGINT; `on_ready` runs once the handlers are in place."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            on_ready()
            await stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("stopping")
        await self.stop()


ServiceFactory = Callable[[App], list[Service]]


def _factories(*, only_smtp: bool = False) -> list[ServiceFactory]:
    names = SERVICE_FACTORIES[:1] if only_smtp else SERVICE_FACTORIES
    return [importlib.import_module(name).build for name in names]


def _audit_start(node: str) -> Callable[[UnitOfWork], Any]:
    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.SERVER_STARTED, "system:mss", target=node)

    return job


def _leave(node: str) -> Callable[[UnitOfWork], Any]:
    async def job(uow: UnitOfWork) -> None:
        await leave(uow.session, node)

    return job


def _audit_stop(node: str) -> Callable[[UnitOfWork], Any]:
    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.SERVER_STOPPED, "system:mss", target=node)

    return job
