"""Patient e-mail notices: queued on each new message delivered to a patient and on
each break-glass, sent by a worker through the outside relay (docs/architecture.md §9: the patient
is told on their personal address; the notice carries no health content).

Invariants:
- a new-message notice is queued in the transaction that delivers the message (the
  pipeline's `in_delivery` hook), so both commit or neither does; a break-glass notice
  is queued after the grant's commit (the vault's `on_break_glass` callback);
- the queue is durable: a relay that is down delays notices, never loses them, and each
  failure is retried with growing delays (RETRY_DELAYS) measured on the injected clock;
- the relay is reached with TLS (STARTTLS or implicit) unless explicitly configured off;
- nothing of the message, its sender or the documents reaches the queue or the notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

import aiosmtplib

from mss.background import stop_task
from mss.clock import Clock
from mss.directory.identifiers import InvalidIdentifier
from mss.directory.patients import find_patient
from mss.event_log import event
from mss.identity import SYSTEM
from mss.notify.notice_queue import (
    add_notice,
    claim_due,
    enqueue_notice,
    notice_detail,
    record_outcome,
)
from mss.notify.notice_text import NoticeKind, notice_message
from mss.notify.preferences import wants_new_message_notice
from mss.notify.relay_settings import RelaySettings
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
IDLE_WAKE_SECONDS = 30.0


class Notifier:
    """Queues notices in every process that delivers (its `on_delivery` is a pipeline hook
    there); sends them from the main process only (the service started there).

    `wake_sender` tells the sending worker a notice was queued: by default this process's
    own worker; in an MX process, the main process's, through the process link."""

    name = "notices"

    def __init__(self, store: Store, relay: RelaySettings, *, clock: Clock | None = None,
                 wake_sender: Callable[[], None] | None = None) -> None:
        self.store = store
        self.relay = relay
        self.clock = clock or store.clock
        self.wake = asyncio.Event()
        self.wake_sender = wake_sender or self.wake.set
        self._pending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    # -- queueing (callbacks, after commit) ----------------------------------------------

    async def on_delivery(self, uow: UnitOfWork, mailbox: str, _sender: str,
                          queue_id: str = "") -> None:
        """pipeline.in_delivery: a message reached `mailbox`; if a patient's, the notice
        is queued in the same transaction, so a crash cannot lose it. The audit row
        links the notice to the message's queue id (`mss trace`), never to the
        personal address."""
        domain = self.store.settings.server.patient_domain.lower()
        local, _, host = mailbox.lower().rpartition("@")
        if host != domain or not local:
            return
        try:
            patient = await find_patient(uow.session, local.upper())
        except InvalidIdentifier:
            return
        if patient is None or not await wants_new_message_notice(
                uow, patient.ins, patient.notice_email.strip()):
            return  # her preferences: notices off, or today's digest notice already queued
        notice = await add_notice(uow, NoticeKind.NEW_MESSAGE, patient.notice_email)
        if notice is not None:
            uow.audit(AuditAction.NOTICE_QUEUED, SYSTEM, target=mailbox.lower(),
                      detail=notice_detail(notice, NoticeKind.NEW_MESSAGE)
                      + (f" queue_id={queue_id}" if queue_id else ""))
            uow.after_commit.append(self.wake_sender)

    def on_break_glass(self, notice: object) -> None:
        """VaultService.on_break_glass: the patient is told someone opened their record."""
        email = str(getattr(notice, "notice_email", ""))
        self._spawn(self._queue(NoticeKind.BREAK_GLASS, email))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _queue(self, kind: NoticeKind, email: str) -> None:
        try:
            if await enqueue_notice(self.store, kind, email) is not None:
                self.wake_sender()
        except Exception:
            log.exception("could not queue a %s notice", kind.value)

    async def drain(self) -> None:
        """Wait until every notice asked for so far is in the queue."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # -- sending ------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send what is due now; returns how many were accepted by the relay."""
        if not self.relay.enabled:
            return 0
        sent = 0
        for due in await claim_due(self.store):
            error = await self._send(due.kind, due.recipient)
            await record_outcome(self.store, due.id, error=error)
            # the patient's personal address stays out of the log: its domain only
            where = due.recipient.rpartition("@")[2]
            if error is None:
                sent += 1
                event(AuditAction.NOTICE_SENT, notice=due.id, kind=due.kind.value,
                      to_domain=where, attempt=due.attempts + 1)
            else:
                event(AuditAction.NOTICE_FAILED, notice=due.id, kind=due.kind.value,
                      to_domain=where, attempt=due.attempts + 1, error=error)
        return sent

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.relay.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    async def _send(self, kind: NoticeKind, recipient: str) -> str | None:
        relay = self.relay
        message = notice_message(kind, sender=relay.sender, recipient=recipient,
                                 webmail_url=relay.webmail_url, at=self.clock.now(),
                                 domain=self.store.settings.server.domain)
        tls = relay.tls != "none"
        try:
            await aiosmtplib.send(
                message, hostname=relay.host, port=relay.port,
                username=relay.username or None, password=relay.password or None,
                use_tls=relay.tls == "implicit", start_tls=relay.tls == "starttls",
                tls_context=self._tls_context() if tls else None,
                timeout=relay.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        return None

    async def start(self) -> list[str]:
        """Start the sending worker; one line for the operator saying where notices go."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mss-notifier")
        relay = self.relay
        if relay.enabled:
            return [f"Patient notices through {relay.host}:{relay.port} ({relay.tls})"]
        return ["Patient notices queued (no relay: set notify.relay_host)"]

    async def stop(self) -> None:
        await self.drain()
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self.wake.clear()  # before the pass: a notice queued during it wakes the next
            try:
                while await self.run_once():  # a full batch may leave more due
                    pass
            except Exception:
                log.exception("notice worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), IDLE_WAKE_SECONDS)
