"""The revocations in force in one process, kept current while it runs.

Every process that serves TLS (the main one, each MX process, each node) holds one
`LiveTrust`. It reloads the CRL file:
- at once when told (`changed()`): the app calls it on a "crl" change event, which
  `mss certs revoke` publishes after writing the CRL; events reach the MX processes of a
  node through the process hub and the other nodes through PostgreSQL NOTIFY;
- otherwise when the file changes (size, mtime or inode), checked every
  `check_every` seconds: a CRL dropped in by the operator or a PKI job, and the
  fallback when an event is lost (one SQLite process cannot hear another's events).

So a revocation applies everywhere within `check_every` seconds (one second by
default) at worst; the listeners ask `check` after each handshake and before each
command of an open session.

Invariants: a reload builds a new `RevocationList` then swaps it in one assignment
(readers see the old or the new list, never a mix); a CRL file that cannot be read or
parsed leaves the previous list in force and logs why; the first load happens in
`start`, before any listener accepts a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from mss.background import stop_task
from mss.certs.chain_check import CertificateCheck, load_ca_bundle
from mss.certs.revocation import RevocationCheck, RevocationList, StaleCrlPolicy, read_crls
from mss.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_CHECK_EVERY = 1.0  # seconds between two looks at the CRL file's metadata

_FileStamp = tuple[int, int, int] | None  # inode, size, mtime in ns; None: no file


def _stamp(path: Path) -> _FileStamp:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


class LiveTrust:
    """The current revocation list of this process, and the check listeners call."""

    def __init__(self, crl_path: Path, ca_bundle: Path, clock: Clock, *,
                 stale_policy: StaleCrlPolicy = StaleCrlPolicy.REFUSE,
                 check_every: float = DEFAULT_CHECK_EVERY) -> None:
        self.crl_path = crl_path
        self.ca_bundle = ca_bundle
        self.clock = clock
        self.stale_policy = stale_policy
        self.check_every = check_every
        self.revocations = RevocationList.empty()
        self.generation = 0  # bumped by each reload that changed the list in force
        self.stale_accepted = 0  # certificates accepted while revocation was unknown
        # metrics: (listener, reason) of each refused client certificate; each stale pass
        self.on_refused: list[Callable[[str, str], None]] = []
        self.on_stale_accepted: list[Callable[[], None]] = []
        self._stale_warned = -1  # generation of the last warning about a stale CRL
        self._stamp: _FileStamp = None
        self._wake = asyncio.Event()
        self._reloaded = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    # -- the check listeners call ------------------------------------------------------

    def check(self, certificate: bytes, listener: str = "") -> CertificateCheck:
        """The revocation status of a client certificate (DER) that passed the handshake;
        a refusal is counted under `listener`."""
        outcome: RevocationCheck = self.revocations.check(
            certificate, self.clock.now(), self.stale_policy)
        if not outcome.check.ok:
            self.refused(listener, outcome.check.reason)
        if outcome.stale:
            self.stale_accepted += 1
            for callback in self.on_stale_accepted:
                callback()
            if self._stale_warned != self.generation:
                self._stale_warned = self.generation
                log.warning("crl_stale policy=accept path=%s: revocation unknown, "
                            "certificates accepted until a current CRL is installed",
                            self.crl_path)
        return outcome.check

    def refused(self, listener: str, reason: str) -> None:
        """Count a refused client certificate (here or in a failed handshake)."""
        for callback in self.on_refused:
            callback(listener, reason)

    # -- keeping it current ------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.reload)
        self._task = asyncio.create_task(self._watch(), name="mss-live-trust")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def changed(self, *_: object) -> None:
        """Reload now (a "crl" change event); safe to call from any callback."""
        self._wake.set()

    def reload(self, *, force: bool = False) -> bool:
        """Read the CRL file again if it changed; True when the list in force changed."""
        stamp = _stamp(self.crl_path)
        if stamp == self._stamp and not force:
            return False
        try:
            issuers = load_ca_bundle(self.ca_bundle)
            crls = read_crls(self.crl_path) if stamp is not None else []
            revocations = RevocationList.from_crls(crls, issuers)
        except (OSError, ValueError) as exc:
            log.error("crl_reload_failed path=%s error=%r (previous list kept)",
                      self.crl_path, exc)
            return False
        self._stamp = stamp
        if revocations.by_issuer == self.revocations.by_issuer:
            return False
        self.revocations = revocations  # one swap
        self.generation += 1
        revoked = sum(len(entry.serials) for entry in revocations.by_issuer.values())
        log.info("crl_reloaded path=%s issuers=%d revoked=%d generation=%d",
                 self.crl_path, len(revocations.by_issuer), revoked, self.generation)
        return True

    async def wait_for_generation(self, generation: int) -> None:
        """Return once a reload has reached `generation` (tests, operators' tools)."""
        async with self._reloaded:
            await self._reloaded.wait_for(lambda: self.generation >= generation)

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.check_every)
            forced = self._wake.is_set()
            self._wake.clear()
            try:
                changed = await asyncio.to_thread(self.reload, force=forced)
            except Exception:
                log.exception("crl_reload_failed path=%s", self.crl_path)
                continue
            if changed:
                async with self._reloaded:
                    self._reloaded.notify_all()
