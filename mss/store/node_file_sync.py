"""The periodic pass that keeps a node's PKI and DKIM files and the database in step
while nodes run (issue 24 §3, several nodes share nothing but the database).

Each node's main process runs one (mss.app): a pass at start, before the PKI is loaded,
then every `trust.node_files_seconds`, and at once on a "crl" or "node-files" change
event (PostgreSQL NOTIFY from another node). The rules (the newest of file and row
wins, a tie is the database's, an older file never reaches the database) are
`NodeFiles.sync`'s. A pass that sealed a changed file publishes a "node-files" event,
so the other nodes fetch it within a NOTIFY rather than a pass interval. A pass that
sealed or wrote files tells `on_changed` (the live trust reloads the CRL, the CA bundle
and the server certificate from them at once, not at its next look).

Invariant: one pass at a time in a process (`sync_now` from a test or a command waits
for the running one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from mss.background import PeriodicPass
from mss.store.events import CRL_CHANGED, NODE_FILES_CHANGED, ChangeEvent
from mss.store.node_files import FileLock, NodeFiles, SyncOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

WAKING_EVENTS = frozenset({CRL_CHANGED.kind, NODE_FILES_CHANGED.kind})


class NodeFileSync(PeriodicPass):
    """Syncs `folders` (the PKI folder, the DKIM keys) with `sealed_files`."""

    name = "node-files"

    def __init__(self, store: Store, folders: list[Path], *, pass_seconds: float,
                 lock: FileLock = contextlib.nullcontext) -> None:
        super().__init__(pass_seconds=pass_seconds)
        self.store = store
        self.folders = folders
        self.lock = lock
        self.files = NodeFiles(store.keyring)
        self.on_changed: list[Callable[[list[str]], None]] = []  # names sealed or written
        self._one_at_a_time = asyncio.Lock()

    async def one_pass(self) -> None:
        await self.sync_now()

    async def sync_now(self) -> SyncOutcome:
        """One pass now; what it sealed and what it wrote."""
        async with self._one_at_a_time:
            outcome = await self.store.sync_node_files(self.files, self.folders,
                                                       lock=self.lock)
        if outcome.published:
            await self.store.write(_announce)
        changed = outcome.published + outcome.rewritten
        if changed:
            log.info("node_files_synced published=%s rewritten=%s",
                     ",".join(outcome.published) or "-", ",".join(outcome.rewritten) or "-")
            for callback in self.on_changed:
                callback(changed)
        return outcome

    def on_event(self, event: ChangeEvent) -> None:
        """A bus listener: another node changed a node file (or revoked): pass now."""
        if event.kind in WAKING_EVENTS:
            self.wake.set()


async def _announce(uow: UnitOfWork) -> None:
    uow.publish(NODE_FILES_CHANGED)
