"""The trust anchors and revocations in force in one process, kept current while it runs.

Every process that serves TLS (the main one, each MX process, each node) holds one
`LiveTrust`. It reloads the CA bundle (the trust anchors) and the CRL file:
- at once when told (`changed()`): the app calls it on a "crl" change event, which
  `mss certs revoke` publishes after writing the CRL; events reach the MX processes of a
  node through the process hub and the other nodes through PostgreSQL NOTIFY;
- otherwise when either file changes (size, mtime or inode), checked every
  `check_every` seconds: a CRL or a CA bundle dropped in by the operator or a PKI job,
  and the fallback when an event is lost (one SQLite process cannot hear another's).

So a revocation or a trust-anchor change applies everywhere within `check_every`
seconds (one second by default) at worst; the listeners ask `check` after each
handshake and before each command of an open session.

Server identity: given the server chain and key, the files are watched too (a
renewed certificate, written here by `mss certs` or brought from the database by the
node-file pass, mss.store.node_file_sync): a new pair that loads (chain and key match)
is loaded into every tracked listener context, so the next handshake presents it (the
sessions open keep theirs), and bumps `generation` (the outbound relay makes its client
context again); a pair that does not load yet (the chain written, not the key) leaves
the previous one in force and is tried again at the next look.

Anchors: a CA added to the bundle is loaded into every listener context registered with
`track` (OpenSSL can add to a context's store, not remove from it), so the next
handshake accepts its certificates; a CA removed from the bundle may still pass a
handshake in a context that loaded it, but `check` refuses any certificate whose issuer
is not signed by an anchor in force (`unknown_ca`): the next command of every session
is refused, as for a revocation.

Invariants: a reload builds the new anchors and `RevocationList` then swaps them in one
assignment (readers see the old or the new state, never a mix); a file that cannot be
read or parsed leaves the previous state in force and logs why; the first load happens
in `start`, before any listener accepts a connection; listener contexts are changed
only on the event loop's thread (handshakes run there), never from the reload thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from mss.background import stop_task
from mss.certs.chain_check import ACCEPTED, CertificateCheck, ChainProblem, load_ca_bundle
from mss.certs.revocation import RevocationCheck, RevocationList, StaleCrlPolicy, read_crls
from mss.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_CHECK_EVERY = 1.0  # seconds between two looks at the files' metadata
_ISSUER_CACHE = 4096  # leaf certificates whose issuer was checked, per state

_FileStamp = tuple[int, int, int] | None  # inode, size, mtime in ns; None: no file


def _stamp(path: Path) -> _FileStamp:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


@dataclass(frozen=True)
class _TrustState:
    """What is in force: swapped whole by a reload."""

    anchors: tuple[x509.Certificate, ...]
    revocations: RevocationList


def _leaf_issued_by_an_anchor(leaf_der: bytes, anchors: Sequence[x509.Certificate]) -> bool:
    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
    except ValueError:
        return False
    for anchor in anchors:
        if anchor.subject != leaf.issuer:
            continue
        try:
            leaf.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


class LiveTrust:
    """The current trust anchors and revocation list of this process, and the check
    listeners call."""

    def __init__(self, crl_path: Path, ca_bundle: Path, clock: Clock, *,
                 stale_policy: StaleCrlPolicy = StaleCrlPolicy.REFUSE,
                 check_every: float = DEFAULT_CHECK_EVERY,
                 server_identity: tuple[Path, Path] | None = None) -> None:
        self.crl_path = crl_path
        self.ca_bundle = ca_bundle
        self.server_identity = server_identity  # server chain, key: reloaded when changed
        self._identity_stamp: tuple[_FileStamp, _FileStamp] = (None, None)
        self._identity_loaded = True  # the tracked contexts hold the pair in force
        self.clock = clock
        self.stale_policy = stale_policy
        self.check_every = check_every
        self._state = _TrustState((), RevocationList.empty())
        self.generation = 0  # bumped by each reload that changed what is in force
        self.stale_accepted = 0  # certificates accepted while revocation was unknown
        # metrics: (listener, reason) of each refused client certificate; each stale pass
        self.on_refused: list[Callable[[str, str], None]] = []
        self.on_stale_accepted: list[Callable[[], None]] = []
        self._stale_warned = -1  # generation of the last warning about a stale CRL
        self._stamp: tuple[_FileStamp, _FileStamp] = (None, None)  # CRL, bundle
        self._issuer_ok: dict[bytes, bool] = {}  # leaf digest → issued by an anchor
        # leaf DER → (the state it passed in, until when): `check` runs before every
        # SMTP command; the trust state and the clock alone can change its answer
        self._passed: dict[bytes, tuple[_TrustState, datetime | None]] = {}
        self._contexts: list[ssl.SSLContext] = []  # listener contexts given new anchors
        self._loaded: set[bytes] = set()  # anchors (DER) already in those contexts
        self._wake = asyncio.Event()
        self._reloaded = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    # -- the check listeners call ------------------------------------------------------

    @property
    def revocations(self) -> RevocationList:
        return self._state.revocations

    @property
    def anchors(self) -> tuple[x509.Certificate, ...]:
        return self._state.anchors

    def track(self, context: ssl.SSLContext) -> ssl.SSLContext:
        """Give `context` (a listener's) every anchor in force now and each one added
        later, and each new server certificate; returns it."""
        self._contexts.append(context)
        for anchor in self._state.anchors:
            context.load_verify_locations(cadata=anchor.public_bytes(Encoding.DER))
        return context

    def check(self, certificate: bytes, listener: str = "") -> CertificateCheck:
        """The trust and revocation status of a client certificate (DER) that passed
        the handshake; a refusal is counted under `listener`."""
        state = self._state
        passed = self._passed.get(certificate)
        if passed is not None and passed[0] is state and (
                passed[1] is None or self.clock.now() <= passed[1]):
            return ACCEPTED  # the same answer as below, until a reload or the CRL's end
        if not self._issued_by_an_anchor(state, certificate):
            self.refused(listener, ChainProblem.UNKNOWN_CA)
            return CertificateCheck(False, ChainProblem.UNKNOWN_CA,
                                    "the certificate's CA is not among the trust anchors "
                                    "in force")
        outcome: RevocationCheck = state.revocations.check(
            certificate, self.clock.now(), self.stale_policy)
        if not outcome.check.ok:
            self.refused(listener, outcome.check.reason)
        elif not outcome.stale:
            if len(self._passed) >= _ISSUER_CACHE:
                self._passed.clear()
            self._passed[certificate] = (state, outcome.until)
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

    def _issued_by_an_anchor(self, state: _TrustState, certificate: bytes) -> bool:
        """Cached per leaf until the next reload (this runs before every command)."""
        if not state.anchors:  # not started (tests building a bare LiveTrust)
            return True
        digest = hashlib.sha256(certificate).digest()
        known = self._issuer_ok.get(digest)
        if known is None:
            known = _leaf_issued_by_an_anchor(certificate, state.anchors)
            if len(self._issuer_ok) >= _ISSUER_CACHE:
                self._issuer_ok.clear()
            self._issuer_ok[digest] = known
        return known

    def _load_new_anchors(self) -> None:
        """Add the anchors in force that the tracked contexts lack (on the loop's
        thread: handshakes read the contexts there)."""
        fresh = [der for der in (a.public_bytes(Encoding.DER) for a in self._state.anchors)
                 if der not in self._loaded]
        for context in self._contexts:
            for der in fresh:
                context.load_verify_locations(cadata=der)
        self._loaded.update(fresh)

    def _load_server_identity(self) -> None:
        """Load a new server chain and key into the tracked contexts (on the loop's
        thread); the next handshake of each listener presents it."""
        if self._identity_loaded or self.server_identity is None:
            return
        chain, key = self.server_identity
        try:
            for context in self._contexts:
                context.load_cert_chain(certfile=str(chain), keyfile=str(key))
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            log.error("server_certificate_reload_failed chain=%s error=%r", chain, exc)
            self._identity_stamp = (None, None)  # tried again at the next look
            return
        self._identity_loaded = True
        log.info("server_certificate_reloaded chain=%s contexts=%d", chain,
                 len(self._contexts))

    def refused(self, listener: str, reason: str) -> None:
        """Count a refused client certificate (here or in a failed handshake)."""
        for callback in self.on_refused:
            callback(listener, reason)

    # -- keeping it current ------------------------------------------------------------

    async def start(self) -> None:
        if self.server_identity is not None:  # the listeners' contexts load these files
            chain, key = self.server_identity
            self._identity_stamp = (_stamp(chain), _stamp(key))
        await asyncio.to_thread(self.reload)
        self._load_new_anchors()
        self._task = asyncio.create_task(self._watch(), name="mss-live-trust")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def changed(self, *_: object) -> None:
        """Reload now (a "crl" change event); safe to call from any callback."""
        self._wake.set()

    def reload(self, *, force: bool = False) -> bool:
        """Read the CRL file and the CA bundle again if either changed, and the server
        chain and key; True when what is in force changed."""
        identity = self._check_server_identity()
        return self._reload_trust(force) or identity

    def _check_server_identity(self) -> bool:
        """True when the server chain or key changed and the new pair loads."""
        if self.server_identity is None:
            return False
        chain, key = self.server_identity
        stamp = (_stamp(chain), _stamp(key))
        if stamp == self._identity_stamp or None in stamp:
            return False
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(chain), str(key))
        except (OSError, ValueError) as exc:
            log.warning("server_certificate_not_loaded chain=%s error=%r (previous kept, "
                        "tried again)", chain, exc)
            return False
        self._identity_stamp = stamp
        self._identity_loaded = False
        self.generation += 1
        return True

    def _reload_trust(self, force: bool) -> bool:
        stamp = (_stamp(self.crl_path), _stamp(self.ca_bundle))
        if stamp == self._stamp and not force:
            return False
        try:
            anchors = tuple(load_ca_bundle(self.ca_bundle))
            if not anchors:
                raise ValueError("the CA bundle holds no certificate")
            crls = read_crls(self.crl_path) if stamp[0] is not None else []
            revocations = RevocationList.from_crls(crls, anchors)
        except (OSError, ValueError) as exc:
            log.error("trust_reload_failed crl=%s ca_bundle=%s error=%r (previous kept)",
                      self.crl_path, self.ca_bundle, exc)
            return False
        self._stamp = stamp
        old = self._state
        if revocations.by_issuer == old.revocations.by_issuer and anchors == old.anchors:
            return False
        self._state = _TrustState(anchors, revocations)  # one swap
        self._issuer_ok = {}
        self._passed = {}
        self.generation += 1
        revoked = sum(len(entry.serials) for entry in revocations.by_issuer.values())
        log.info("trust_reloaded crl=%s ca_bundle=%s anchors=%d issuers=%d revoked=%d "
                 "generation=%d", self.crl_path, self.ca_bundle, len(anchors),
                 len(revocations.by_issuer), revoked, self.generation)
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
                self._load_new_anchors()
                self._load_server_identity()
                async with self._reloaded:
                    self._reloaded.notify_all()
