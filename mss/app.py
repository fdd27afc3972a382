"""One asyncio process of MSS: the lifecycle of the services the composition root
(mss.composition) builds (docs/architecture.md §7).

Invariants: the store opens before any listener starts and closes after every listener
has stopped; on SIGTERM/SIGINT listeners stop accepting first, in-flight work finishes
(the write batcher drains), then the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mss.admin_listener import AdminService
from mss.background import stop_task
from mss.certs import DevPki, ensure_server_pki
from mss.certs.dev_pki import LOCK_FILE as PKI_LOCK_FILE
from mss.certs.folder_lock import FolderLock
from mss.certs.live_trust import LiveTrust
from mss.certs.revocation import StaleCrlPolicy
from mss.clock import Clock, SystemClock
from mss.composition import (
    Foundation,
    ProcessServices,
    Service,
    compose_main,
    compose_mx_process,
)
from mss.config import Settings
from mss.directory.trust_list_age import trust_list_age
from mss.event_log import event, observe_events
from mss.imap.service import ImapService
from mss.metrics import NodeMetrics
from mss.notify.notifier import Notifier
from mss.pipeline.accept import Pipeline
from mss.pipeline.delivery_keys import forget_old_keys
from mss.pipeline.outbound_queue import queue_depth
from mss.smtp.options import SmtpOptions
from mss.smtp.outbound_worker import dkim_folder
from mss.smtp.service import SmtpService
from mss.store.audit_actions import AuditAction
from mss.store.audit_checkpoints import (
    AuditCheckpointer,
    Checkpoint,
    checkpoint_once,
    run_checkpoints,
)
from mss.store.cluster import default_node_id, heartbeat, leave, run_heartbeats
from mss.store.db import is_sqlite
from mss.store.events import CRL_CHANGED, ChangeEvent, EventBus
from mss.store.node_file_sync import NodeFileSync
from mss.store.process_link import ProcessLink
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from mss.vault.access import VaultService
from mss.vault.mdn_sending import drain_acknowledgements
from mss.webmail.service import WebmailService

log = logging.getLogger(__name__)

__all__ = ["App", "Service", "serve_mx_process"]


class App:
    """The node's main process, or (with `mx_process` and its `process_link`) one of its
    extra MX processes: those serve only the MX listener, and leave node liveness, audit
    of start and stop, the outbound queue worker, the patient notice worker and every
    other listener to the main process.

    `smtp_options` overrides the SMTP limits (tests, benchmarks); `queue_worker=False`
    leaves the outbound queue worker stopped (tests run its passes by hand)."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 mx_process: int | None = None, bus: EventBus | None = None,
                 process_link: ProcessLink | None = None,
                 smtp_options: SmtpOptions | None = None, queue_worker: bool = True) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.mx_process = mx_process
        self.process_link = process_link
        self.smtp_options = smtp_options
        self.queue_worker = queue_worker
        self._bus = bus
        self.node_id = default_node_id(settings.server.node_id)
        self._heartbeat: asyncio.Task[None] | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self.checkpointer: AuditCheckpointer | None = None  # main process: docs/audit.md
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.pki: DevPki | None = None
        self.live_trust: LiveTrust | None = None  # revocations in force (every listener)
        self.node_files: NodeFileSync | None = None  # several nodes: PKI/DKIM files in step
        self.parts: ProcessServices | None = None
        self.services: list[Service] = []  # started, in start order
        self.started_at = self.clock.now()
        self.metrics = NodeMetrics(self.node_id)  # shared objects services publish for each other
        self._unobserve: Callable[[], None] = lambda: None

    # -- the services, typed (after start) ------------------------------------------

    def _built(self) -> ProcessServices:
        if self.parts is None:
            raise RuntimeError("the app is not started")
        return self.parts

    @property
    def smtp(self) -> SmtpService:
        return self._built().smtp

    @property
    def imap(self) -> ImapService:
        imap = self._built().imap
        if imap is None:
            raise RuntimeError("no IMAP listener in this process")
        return imap

    @property
    def webmail(self) -> WebmailService:
        webmail = self._built().webmail
        if webmail is None:
            raise RuntimeError("no webmail in this process")
        return webmail

    @property
    def admin(self) -> AdminService:
        admin = self._built().admin
        if admin is None:
            raise RuntimeError("no admin listener in this process")
        return admin

    @property
    def vault(self) -> VaultService:
        vault = self._built().vault
        if vault is None:
            raise RuntimeError("no vault service in this process")
        return vault

    @property
    def notifier(self) -> Notifier:
        return self._built().notifier

    async def start(self) -> list[str]:
        main = self.mx_process is None
        self.store = await Store.open(self.settings, clock=self.clock, create=main,
                                      bus=self._bus)
        self.store.node_id = self.node_id
        lines: list[str] = []
        self._unobserve = observe_events(self.metrics.count_event)
        try:
            await self.store.start_cluster_events()
            if main:
                await self.beat()
                self._heartbeat = asyncio.create_task(run_heartbeats(self.beat))
            if main and self.store.clustered:
                # several nodes: the PKI and DKIM files travel through the database
                # (issue 24 §3); brought in step before the PKI is loaded or re-signed
                self.node_files = self._node_file_sync(self.store)
                written = (await self.node_files.sync_now()).rewritten
                if written:
                    lines.append(f"{len(written)} PKI/DKIM file(s) from the database")
            self.pki = await asyncio.to_thread(ensure_server_pki, self.settings)
            await self._start_live_trust(self.pki)
            base = Foundation(self.settings, self.store, self.pki, self.metrics, self.node_id,
                              self.live_trust)
            if main:
                self.parts = compose_main(base, serve_mx_process=serve_mx_process,
                                          options=self.smtp_options,
                                          queue_worker=self.queue_worker)
            else:
                assert self.process_link is not None, "an MX process needs its process link"
                self.parts = compose_mx_process(base, self.process_link,
                                                options=self.smtp_options)
            self.pipeline = self.parts.pipeline
            await self.pipeline.ensure_spool_mailbox()
            for service in self.parts.services:
                lines.extend(await service.start())
                self.services.append(service)
            if self.node_files is not None:
                await self._start_node_file_sync(self.node_files, self.store)
        except BaseException:
            await self.stop()
            raise
        if main:
            await self.store.write(_audit_start(self.node_id))
            self._start_checkpoints(self.store)
        return lines

    def _node_file_sync(self, store: Store) -> NodeFileSync:
        """The PKI folder (under its writer lock, as `mss certs` takes it) and the DKIM
        keys, kept in step with the database while the node runs."""
        pki_lock = FolderLock(self.settings.pki_dir / PKI_LOCK_FILE)
        return NodeFileSync(store, [self.settings.pki_dir, dkim_folder(self.settings)],
                            pass_seconds=self.settings.trust.node_files_seconds,
                            lock=lambda: pki_lock)

    async def _start_node_file_sync(self, sync: NodeFileSync, store: Store) -> None:
        """Seal what this start made (the first node's PKI and DKIM keys) before the node
        says it is ready, then pass periodically; files sealed or written reach the live
        trust at once (the listeners' CRL, anchors and server certificate; the
        DKIM signer reads its key files again itself); another node's change event
        starts a pass."""
        await sync.sync_now()
        live = self.live_trust
        if live is not None:
            sync.on_changed.append(live.changed)
        store.bus.add_listener(sync.on_event)
        await sync.start()

    def _start_checkpoints(self, store: Store) -> None:
        """Signed checkpoints of the audit chain head, outside the database."""
        self.checkpointer = AuditCheckpointer(self.settings.audit_checkpoint_path,
                                              store.audit_seal, self.clock, self.node_id)
        self._checkpoints = asyncio.create_task(run_checkpoints(
            self.checkpointer, store, _log_checkpoint,
            self.settings.store.audit_checkpoint_seconds))

    async def _start_live_trust(self, pki: DevPki) -> None:
        """Revocations reach every listener while it runs (mss.certs.live_trust)."""
        assert self.store is not None
        trust = self.settings.trust
        live = LiveTrust(pki.paths.crl, pki.paths.ca_bundle, self.clock,
                         stale_policy=StaleCrlPolicy(trust.stale_crl),
                         check_every=trust.crl_check_seconds,
                         server_identity=(pki.paths.server_chain, pki.paths.server_key))
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

        window = timedelta(hours=self.settings.limits.retry_window_hours)

        async def job(uow: UnitOfWork) -> None:
            await heartbeat(uow.session, self.node_id, uow.now(), started)
            await forget_old_keys(uow, window)  # retries that late are new deliveries

        await store.write(job)
        async with store.reading() as session:
            depth = await queue_depth(session, store.clock.now())
        self.metrics.queue_depth.set(depth.queued)
        self.metrics.queue_oldest_seconds.set(depth.oldest_age_seconds)
        now = store.clock.now()
        async with store.reading() as session:
            age = await trust_list_age(session, now)
        if age is not None:
            self.metrics.trust_list_age_seconds.set(age.total_seconds())
        if self.pki is not None:
            paths = self.pki.paths
            self.metrics.certificates_expire({
                "server": paths.server_chain, "intermediate_ca": paths.intermediate_cert,
                "root_ca": paths.root_cert}, now)

    async def stop(self) -> None:
        self._unobserve()
        await stop_task(self._heartbeat)
        self._heartbeat = None
        if self.node_files is not None:
            await self.node_files.stop()
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
            await stop_task(self._checkpoints)
            self._checkpoints = None
            if self.mx_process is None:
                with contextlib.suppress(Exception):
                    await self.store.write(_audit_stop(self.node_id))
                if self.checkpointer is not None:
                    try:
                        await checkpoint_once(self.checkpointer, self.store, _log_checkpoint)
                    except Exception:
                        log.exception("audit checkpoint failed")
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


async def serve_mx_process(settings: Settings, index: int, hub: Path, pipe: Connection) -> None:
    """Extra MX process `index` (mss.smtp.mx_processes spawns it): serve until SIGTERM or
    until the link to the main process's hub breaks; "ready" on `pipe` once listening."""
    bus = EventBus()
    link = ProcessLink(bus, hub, send_events=is_sqlite(settings.database_url))
    await link.start()  # before the store opens: no event of the main process is missed
    app = App(settings, mx_process=index, bus=bus, process_link=link)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        pipe.send("ready")
        pipe.close()
        waits = [asyncio.create_task(link.lost.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if not stop.is_set():
            log.error("lost the main process: stopping")
    finally:
        await app.stop()
        await link.stop()


def _log_checkpoint(point: Checkpoint) -> None:
    event(AuditAction.AUDIT_CHECKPOINT, chain=point.chain, seq=point.seq, hash=point.hash,
          node=point.node)


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
