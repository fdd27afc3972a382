"""The outbound queue worker: claim, sign, relay, record, and report (docs/architecture.md §1, §5).

Invariants:
- rows are claimed with a lease (`claim_due`: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
  several workers share the queue); an attempt's outcome is recorded in one transaction
  per message and domain; a worker that dies leaves leases that expire (at least once);
- every message is DKIM-signed (ed25519-sha256 and rsa-sha256, RFC 6376 / RFC 8463) with
  the operator's own keys, kept under the data folder and made on first start;
- retries follow mss.smtp.retry_schedule on the store's clock (docs/architecture.md §8.8):
  `run_once` does
  one pass, so tests move a ManualClock and call it instead of sleeping;
- after a permanent failure, or at expiry, the row is `failed` and one failure DSN goes to
  the sender through the pipeline; `NOTIFY=SUCCESS` gets a "relayed" DSN (our peers do
  not report delivery further, RFC 3461 §5.2.2);
- the DSN is sent after the attempt's transaction committed: a crash between both loses
  at most the notification, never the state of the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mss.background import stop_task
from mss.certs import (
    DkimAlgorithm,
    DkimKey,
    PkiPaths,
    client_context,
    ensure_dkim_key,
    load_dkim_key,
    signing_key_for_dkimpy,
)
from mss.certs.live_trust import LiveTrust
from mss.config import Settings
from mss.directory.operators import operator_endpoint
from mss.directory.trust_store import trusted_dns
from mss.event_log import event
from mss.pipeline.accept import Pipeline
from mss.pipeline.outbound_queue import DELIVERED, FAILED, QUEUED, Claim, claim_due, record_attempt
from mss.smtp.bounces import send_dsn
from mss.smtp.dkim_signatures import sign_message
from mss.smtp.dsn import DsnAction, RecipientStatus, should_send_dsn
from mss.smtp.dsn_parameters import (
    Notify,
    OriginalRecipient,
    RcptDsnParameters,
    parse_notify,
    parse_orcpt,
)
from mss.smtp.options import SmtpOptions
from mss.smtp.relay_client import Outcome, RelayRecipient, relay_message
from mss.smtp.replies import SmtpReply
from mss.smtp.retry_schedule import (
    FailureKind,
    classify_failure,
    delay_warning_due,
    next_attempt,
)
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# RFC 3463 status for a failure without an SMTP reply.
STATUS_OF_KIND: dict[FailureKind, str] = {
    FailureKind.CONNECTION_REFUSED: "4.4.1",
    FailureKind.CONNECTION_LOST: "4.4.2",
    FailureKind.TIMEOUT: "4.4.1",
    FailureKind.HOST_NOT_FOUND: "4.4.4",
    FailureKind.TLS_HANDSHAKE: "4.7.5",
    FailureKind.STARTTLS_NOT_OFFERED: "4.7.5",
    FailureKind.PEER_CERTIFICATE_REFUSED: "4.7.5",
    FailureKind.MESSAGE_TOO_BIG_FOR_PEER: "5.3.4",
    FailureKind.PROTOCOL_ERROR: "4.5.0",
}
EXPIRED_STATUS = "4.4.7"  # RFC 3463: delivery time expired


def dkim_folder(settings: Settings) -> Path:
    return settings.data_dir / "dkim"


def operator_dkim_keys_on_disk(settings: Settings, options: SmtpOptions) -> list[DkimKey]:
    """This operator's signing keys, made once under the data folder (mss.certs)."""
    folder = dkim_folder(settings)
    return [
        ensure_dkim_key(folder, options.dkim_selector, DkimAlgorithm.ED25519),
        ensure_dkim_key(folder, options.dkim_rsa_selector, DkimAlgorithm.RSA),
    ]


class DkimSigner:
    """Signs with every key (Ed25519 first): a verifier without Ed25519 still has RSA.

    A key file replaced while the node runs (another key brought from the database by
    the node-file pass, mss.store.node_file_sync) is read again before the next
    message; one that does not load keeps the previous key (logged)."""

    def __init__(self, domain: str, keys: list[DkimKey]) -> None:
        self.domain = domain
        self._files = [(key.selector, key.private_key_path) for key in keys]
        self._stamps = self._key_stamps()
        self._keys = [_signing_entry(key) for key in keys]

    def _key_stamps(self) -> list[tuple[int, int, int] | None]:
        stamps: list[tuple[int, int, int] | None] = []
        for _, path in self._files:
            try:
                status = os.stat(path)
            except OSError:
                stamps.append(None)
                continue
            stamps.append((status.st_ino, status.st_size, status.st_mtime_ns))
        return stamps

    def _current_keys(self) -> list[tuple[str, bytes, str]]:
        stamps = self._key_stamps()
        if stamps == self._stamps:
            return self._keys
        try:
            keys = [_signing_entry(load_dkim_key(path.parent, selector))
                    for selector, path in self._files]
        except (OSError, ValueError) as exc:
            log.error("dkim_key_reload_failed error=%r (previous keys kept)", exc)
            return self._keys
        self._keys, self._stamps = keys, stamps
        log.info("dkim_keys_reloaded selectors=%s", ",".join(s for s, _ in self._files))
        return keys

    def sign(self, raw: bytes) -> bytes:
        """Each signature covers the message as it is, not the other one (RFC 6376 §5.4)."""
        fields = []
        for selector, private, algorithm in self._current_keys():
            signed = sign_message(raw, domain=self.domain, selector=selector,
                                  private_key=private, algorithm=algorithm)  # type: ignore[arg-type]
            fields.append(signed[: len(signed) - len(raw)])
        return b"".join(fields) + raw


def _signing_entry(key: DkimKey) -> tuple[str, bytes, str]:
    return (key.selector, signing_key_for_dkimpy(key),
            key.algorithm.signature_algorithm.decode("ascii"))


def relay_tls_context(paths: PkiPaths) -> ssl.SSLContext:
    """Our client certificate, the peer's chain checked against our CA and CRL; the DN
    (not the host name) identifies the peer, so the name check is off."""
    context = client_context(paths)
    context.check_hostname = False
    return context


@dataclass(frozen=True, slots=True)
class _Decision:
    claim: Claim
    outcome: Outcome
    state: str  # DELIVERED | FAILED | QUEUED
    next_at: datetime | None
    dsn_action: DsnAction | None
    status: str


class QueueWorker:
    def __init__(
        self, store: Store, settings: Settings, pipeline: Pipeline, pki_paths: PkiPaths,
        options: SmtpOptions, *, name: str = "worker", live_trust: LiveTrust | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.pipeline = pipeline
        self.options = options
        self.name = name
        self.pki_paths = pki_paths
        self.live_trust = live_trust
        self._context = relay_tls_context(pki_paths)
        self._context_generation = live_trust.generation if live_trust else 0
        self.signer = DkimSigner(settings.server.domain,
                                 operator_dkim_keys_on_disk(settings, options))
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def tls_context(self) -> ssl.SSLContext:
        """The relay's context, made again once the CRL in force changed (a context
        loads the CRL when it is made); connections already open keep theirs."""
        live = self.live_trust
        if live is not None and live.generation != self._context_generation:
            self._context = relay_tls_context(self.pki_paths)
            self._context_generation = live.generation
        return self._context

    # -- one pass -------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due now, try each message once per domain; the claimed count."""
        claims = await claim_due(self.store, self.name, limit=self.options.queue_batch)
        # one SMTP transaction per message and domain; domains in parallel, and within
        # a domain messages one after the other, oldest first (order per recipient)
        by_domain: dict[str, dict[int, list[Claim]]] = defaultdict(lambda: defaultdict(list))
        for claim in claims:
            by_domain[claim.domain][claim.message_id].append(claim)

        async def send_in_order(messages: dict[int, list[Claim]]) -> None:
            for message_id in sorted(messages):
                await self._attempt(messages[message_id])

        await asyncio.gather(*(send_in_order(m) for m in by_domain.values()))
        return len(claims)

    async def _attempt(self, group: list[Claim]) -> None:
        first = group[0]
        try:
            raw = await self.store.mail.contents.read_raw(first.mailbox_id, first.blob_key)
            outcomes = await self._relay(group, raw)
        except Exception as error:  # never leave a claim without an outcome
            log.exception("relay of message %s failed", first.message_id)
            raw = b""
            outcomes = {c.recipient: Outcome(False, f"local error: {type(error).__name__}",
                                             kind=FailureKind.PROTOCOL_ERROR) for c in group}
        now = self.store.clock.now()
        decisions = [self._decide(claim, outcomes[claim.recipient], now) for claim in group]
        await self.store.write(lambda uow: self._record(uow, decisions))
        for decision in decisions:
            _log_attempt(decision)
        if raw:
            await self._notify(decisions, raw, now)

    async def _relay(self, group: list[Claim], raw: bytes) -> dict[str, Outcome]:
        first = group[0]
        endpoint = await operator_endpoint(self.store, first.domain)
        if endpoint is None:
            return {c.recipient: Outcome(
                False, f"no endpoint configured for {first.domain}",
                kind=FailureKind.HOST_NOT_FOUND) for c in group}
        allowed = frozenset(await trusted_dns(self.store, first.domain))
        signed = await asyncio.to_thread(self.signer.sign, raw)
        host, port = endpoint
        return await relay_message(
            host=host, port=port, tls_context=self.tls_context,
            local_hostname=self.settings.server.hostname, allowed_dns=allowed,
            domain=first.domain, mail_from=first.mail_from,
            recipients=[RelayRecipient(c.recipient) for c in group], message=signed,
            timeout=self.options.relay_timeout,
        )

    def _decide(self, claim: Claim, outcome: Outcome, now: datetime) -> _Decision:
        if outcome.delivered:
            return _Decision(claim, outcome, DELIVERED, None, "relayed", "2.0.0")
        failure = classify_failure(outcome.code, outcome.enhanced, outcome.kind)
        status = outcome.enhanced or (
            f"{str(outcome.code)[0]}.0.0" if outcome.code else STATUS_OF_KIND.get(
                outcome.kind or FailureKind.PROTOCOL_ERROR, "4.0.0"))
        if failure == "temporary":
            next_at = next_attempt(
                claim.attempts + 1, claim.created_at, now, expiry=self.options.queue_expiry,
                first_delay=self.options.retry_first_delay,
                max_delay=self.options.retry_max_delay,
            )
            if next_at is not None:
                # RFC 3464: one "delayed" report once the message has waited a while
                warn = delay_warning_due(claim.created_at, now,
                                         already_warned=claim.delay_warned)
                return _Decision(claim, outcome, QUEUED, next_at,
                                 "delayed" if warn else None, status)
            if status.startswith("2"):
                status = EXPIRED_STATUS
        return _Decision(claim, outcome, FAILED, None, "failed", status)

    async def _record(self, uow: UnitOfWork, decisions: list[_Decision]) -> None:
        for decision in decisions:
            claim, outcome = decision.claim, decision.outcome
            error = "" if outcome.delivered else (outcome.reply_line or outcome.text)
            await record_attempt(uow, claim.recipient_id, outcome=decision.state,
                                 error=error, next_attempt_at=decision.next_at,
                                 delay_warned=decision.dsn_action == "delayed")
            about = (f"queue={claim.message_id} queue_id={claim.queue_id} "
                     f"attempt={claim.attempts + 1}")
            if decision.state == DELIVERED:
                uow.audit(AuditAction.MESSAGE_RELAYED, "system:mss", target=claim.recipient,
                          detail=f"{about} reply={outcome.text[:200]}")
            elif decision.state == FAILED:
                uow.audit(AuditAction.MESSAGE_BOUNCED, "system:mss", target=claim.recipient,
                          outcome=AuditOutcome.ERROR, detail=f"{about} {error[:300]}")
            else:  # each attempt is in the trail: `mss trace` lists them
                uow.audit(AuditAction.MESSAGE_DEFERRED, "system:mss", target=claim.recipient,
                          outcome=AuditOutcome.ERROR, detail=f"{about} {error[:300]}")

    async def _notify(self, decisions: list[_Decision], raw: bytes, now: datetime) -> None:
        """One DSN per message and kind of outcome, to the envelope sender (RFC 3464)."""
        by_action: dict[str, list[RecipientStatus]] = defaultdict(list)
        first = decisions[0].claim
        for decision in decisions:
            claim = decision.claim
            if decision.dsn_action is None:
                continue
            dsn = _rcpt_dsn(claim)
            if not should_send_dsn(claim.mail_from, decision.dsn_action, dsn.notify):
                continue
            outcome = decision.outcome
            diagnostic = (f"smtp; {outcome.reply_line}" if outcome.reply_line
                          else f"x-mss; {outcome.text}")
            by_action[decision.dsn_action].append(RecipientStatus(
                final_recipient=claim.recipient, action=decision.dsn_action,
                status=decision.status, diagnostic=diagnostic, original_recipient=dsn.orcpt,
                remote_mta=None, last_attempt=now,
                will_retry_until=(claim.created_at + self.options.queue_expiry
                                  if decision.dsn_action == "delayed" else None),
            ))
        for action, statuses in by_action.items():
            try:
                sent = await send_dsn(
                    self.pipeline, self.settings, original=raw, envelope_from=first.mail_from,
                    recipients=statuses, now=now, envid=first.envid, ret=first.ret,
                    arrival_date=first.created_at,
                )
            except Exception:
                log.exception("DSN for queue message %s not sent", first.message_id)
                continue
            if sent is not None:
                await self._audit_dsn(first, action, sent.queue_id, statuses)

    async def _audit_dsn(self, first: Claim, action: str, dsn_queue_id: str,
                         statuses: list[RecipientStatus]) -> None:
        """The DSN in the original message's trail (`mss trace` follows it there)."""
        recipients = ",".join(s.final_recipient for s in statuses)
        detail = f"queue_id={first.queue_id} dsn_queue_id={dsn_queue_id} action={action}"

        async def job(uow: UnitOfWork) -> None:
            uow.audit(AuditAction.DSN_SENT, "system:mss", target=first.mail_from or "<>",
                      detail=f"{detail} recipients={recipients}"[:1000])

        await self.store.write(job)
        event(AuditAction.DSN_SENT, queue_id=first.queue_id, dsn_queue_id=dsn_queue_id,
              action=action, to=first.mail_from or "<>", recipients=recipients)

    # -- the background loop ------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mss-queue-{self.name}")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        """Run passes back to back while there is work; otherwise wait to be woken
        (a message was queued) or poll once a second for rows whose time came."""
        while True:
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("queue pass failed")
                claimed = 0
            if claimed:
                continue
            self.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=1.0)


def _log_attempt(decision: _Decision) -> None:
    """`message.relayed` / `message.deferred` / `message.bounced`, with the peer's reply."""
    claim, outcome = decision.claim, decision.outcome
    action = {DELIVERED: AuditAction.MESSAGE_RELAYED, FAILED: AuditAction.MESSAGE_BOUNCED}.get(
        decision.state, AuditAction.MESSAGE_DEFERRED)
    event(action, queue_id=claim.queue_id, to=claim.recipient, attempt=claim.attempts + 1,
          status=decision.status,
          next_attempt=decision.next_at.isoformat() if decision.next_at else None,
          reply=outcome.reply_line or outcome.text)


def _rcpt_dsn(claim: Claim) -> RcptDsnParameters:
    """The NOTIFY and ORCPT stored with the row, as parsed values (RFC 3461 §4)."""
    notify: frozenset[Notify] | None = None
    orcpt: OriginalRecipient | None = None
    try:
        if claim.notify:
            notify = parse_notify(claim.notify)
        if claim.orcpt:
            orcpt = parse_orcpt(claim.orcpt)
    except SmtpReply:
        log.warning("unreadable DSN parameters on queue row %s", claim.recipient_id)
    return RcptDsnParameters(notify, orcpt)
