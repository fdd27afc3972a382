"""The one pipeline every message goes through (docs/architecture.md §1).

Invariants:
- the policy decides on facts gathered before the transaction; the transaction then
  stores blobs' rows, local deliveries, conversation transitions, vault deposits, queue
  rows and audit events together: all or nothing;
- blobs are written and fsynced before that transaction (store invariant);
- a recipient's result says "accepted" only after the commit: an adapter may answer 250;
- a refused recipient is never dropped silently: its verdict comes back to the adapter
  and an audit row records it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Protocol, TypeVar

from mss.config import Settings
from mss.identity import SYSTEM, MailboxKind, Principal, PrincipalKind
from mss.pipeline.author_fields import author_fields
from mss.pipeline.conversations import apply_conversation_transitions, patient_subject
from mss.pipeline.delivery_keys import (
    DeliveryKeyTaken,
    accepted_before,
    claim_delivery_key,
    delivery_key,
    record_acceptance,
)
from mss.pipeline.directory_facts import DirectoryFacts
from mss.pipeline.message_facts import ParsedMessage, parse_message
from mss.pipeline.message_log import log_accepted, new_queue_id
from mss.pipeline.outbound_queue import QueuedRecipient, enqueue
from mss.policy import (
    ActingRights,
    AuthorCompletion,
    Channel,
    Content,
    Conversation,
    Correspondent,
    Decision,
    Envelope,
    OperatorFacts,
    PeerCertificate,
    Verdict,
    decide,
    decide_author,
    decide_peer,
    decide_peer_author,
    decide_recipient,
    decide_sender,
)
from mss.policy.addresses import canonical_address, is_patient_address
from mss.policy.codes import Cause
from mss.policy.refusals import accepted_at_mail, refusal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.flags import SEEN
from mss.store.mail_delivery import MessageAuthor
from mss.store.mailboxes import INBOX, create_mailbox, find_mailbox
from mss.store.message_contents import MAX_INLINE_BLOB, PreparedBlob
from mss.store.store import Store
from mss.store.thread_reads import PreparedStatement, Reads
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
SENT = "Sent"
PARSE_INLINE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class RecipientDsn:
    """RFC 3461 parameters given at RCPT, kept for the outbound queue."""

    notify: str | None = None
    orcpt: str | None = None


@dataclass
class Submission:
    """A message entering MSS, whatever the adapter (docs/architecture.md §1)."""

    mail_from: str
    recipients: Sequence[str]
    raw: bytes
    channel: Channel
    principal: Principal
    peer: PeerCertificate | None = None  # inbound MX only
    save_to_sent: bool = True
    envid: str | None = None
    ret: str | None = None
    recipient_dsn: dict[str, RecipientDsn] = field(default_factory=dict)
    via: str = "smtp"
    # the adapter already had T2 decided at MAIL FROM for this principal and address
    # (SMTP); otherwise the pipeline decides it (webmail, API, system messages)
    sender_checked: bool = False
    # directory facts read for this same transaction moments before (SMTP RCPT, see
    # Pipeline.check_recipient), by canonical address: not read again
    known_correspondents: Mapping[str, Correspondent] = field(default_factory=dict)
    # the principal's acting rights read at MAIL FROM of this same transaction (SMTP,
    # Pipeline.check_sender), by principal label: T4 reuses them (issue 24: read twice,
    # they were a third of what submission costs more than the MX)
    known_rights: Mapping[str, ActingRights] = field(default_factory=dict)
    # the id given to the client (`250 ... queued as`), in logs and stored with the
    # message; empty: the pipeline makes one
    queue_id: str = ""


@dataclass(frozen=True, slots=True)
class RecipientResult:
    address: str
    verdict: Verdict
    delivered_to: str | None = None  # local mailbox that received it
    queued: bool = False

    @property
    def accepted(self) -> bool:
        return self.verdict.accepted


@dataclass(frozen=True, slots=True)
class AcceptResult:
    results: tuple[RecipientResult, ...]
    message_id: str
    queue_id: str = ""
    size: int = 0
    kept_in_sent: bool = False

    @property
    def accepted(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.results if r.accepted)

    @property
    def refused(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.results if not r.accepted)


class VaultStep(Protocol):
    """The vault's part, for each local patient recipient of a professional-side message:
    `prepare` runs before the transaction (extraction, sealed blobs: slow work that must
    not hold the shared write transaction), `commit` inside it (rows, audit)."""

    async def prepare(self, parsed: ParsedMessage, patient_mailbox: str) -> object: ...

    async def commit(
        self, uow: UnitOfWork, prepared: object, parsed: ParsedMessage, patient_mailbox: str,
        sender: Correspondent, message_ref: str,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the transaction must do, decided before it starts."""

    local: dict[str, str]  # recipient → mailbox address that receives it
    remote: list[str]
    decisions: dict[str, Decision]
    patients: frozenset[str]  # local receiving mailboxes that are patients'

    sender: Correspondent
    parsed: ParsedMessage
    raw: bytes  # as stored: with the From/Sender fields T4 added


class Pipeline:
    def __init__(self, store: Store, settings: Settings, *,
                 vault: VaultStep | None = None) -> None:
        self.store = store
        self.settings = settings
        self.facts = DirectoryFacts(settings)
        store.bus.add_listener(self.facts.forget_trust_list)
        self.vault = vault
        # steps of the vault's shape for the same patient recipients (the agenda)
        self.patient_steps: list[VaultStep] = []
        # called inside the delivering transaction with (uow, receiving mailbox, sender):
        # patient notices plug in here, so they commit with the delivery
        # (uow, mailbox, sender, queue id): runs inside the delivery's transaction
        self.in_delivery: list[Callable[[UnitOfWork, str, str, str], Awaitable[None]]] = []
        # called with each result and the seconds it took: metrics plug in here
        self.after_accept: list[Callable[[AcceptResult, float], None]] = []

    # -- decisions before DATA (SMTP MAIL and RCPT) -----------------------------------

    async def check_peer(self, peer: PeerCertificate, mail_from: str) -> Verdict:
        """MSS policy T1, at MAIL FROM on the inbound MX."""
        return await self._read_facts(lambda reads: decide_peer(
            peer, mail_from, self.facts.operator_in(reads).trust_list))

    async def check_sender(
        self, principal: Principal, mail_from: str,
        known_rights: MutableMapping[str, ActingRights] | None = None,
    ) -> Verdict:
        """MSS policy T2, at MAIL FROM on submission (and for webmail/API sends); the
        rights read are kept in `known_rights` (one SMTP transaction's) for its DATA."""
        rights = await self.acting_rights(principal)
        if known_rights is not None:
            known_rights[principal.label()] = rights
        return decide_sender(rights, mail_from)

    async def check_recipient(
        self, channel: Channel, mail_from: str, rcpt: str,
        known: MutableMapping[str, Correspondent] | None = None,
    ) -> Verdict:
        """T3, R1-R3, P1, P2 at RCPT TO, so SMTP refuses before the body is sent.

        `known` (one SMTP transaction's) keeps the sender's and recipients' directory
        facts: later RCPTs and the DATA (`Submission.known_correspondents`) reuse them
        instead of reading the directory again milliseconds later (docs/design-notes.md,
        Performance)."""
        known = {} if known is None else known
        now = self.store.clock.now()

        def plan(reads: Reads) -> Verdict:
            operator = self.facts.operator_in(reads)
            envelope = self._envelope_in(reads, channel, mail_from, known, now)
            recipient = self._correspondent_in(reads, rcpt, known)
            return decide_recipient(operator, envelope, recipient)

        return await self._read_facts(plan)

    async def acting_rights(self, principal: Principal) -> ActingRights:
        return await self.store.read(lambda reads: self.facts.acting_rights_in(reads, principal))

    async def _read_facts(self, plan: Callable[[Reads], T]) -> T:
        """`plan` decided on what is known already (the cached operator facts, the SMTP
        transaction's correspondents) when it needs no statement; else run in one hop
        to the database (`Store.read`): one snapshot for all the facts of a command."""
        try:
            return plan(_KNOWN_ONLY)
        except _MustRead:
            return await self.store.read(plan)

    def _correspondent_in(
        self, reads: Reads, address: str, known: MutableMapping[str, Correspondent]
    ) -> Correspondent:
        canonical = canonical_address(address)
        found = known.get(canonical)
        if found is None:
            found = known[canonical] = self.facts.correspondent_in(reads, canonical)
        return found

    def _envelope_in(
        self, reads: Reads, channel: Channel, mail_from: str,
        known: MutableMapping[str, Correspondent], now: datetime,
    ) -> Envelope:
        sender = self._correspondent_in(reads, mail_from, known)
        relations = None
        if sender.is_patient:
            relations = self.facts.patient_relations_in(reads, sender.address, now)
        return Envelope(channel, sender, now, relations)

    # -- the whole message ------------------------------------------------------------

    async def accept(self, submission: Submission) -> AcceptResult:
        started = time.perf_counter()
        submission.queue_id = submission.queue_id or new_queue_id()
        audited: list[dict[str, object]] = []
        result = await self._accept(submission, audited)
        log_accepted(submission, result, audited)
        for callback in self.after_accept:
            callback(result, time.perf_counter() - started)
        return result

    async def _accept(self, submission: Submission,
                      audited: list[dict[str, object]]) -> AcceptResult:
        raw = self._complete_headers(submission)
        if len(raw) > self.settings.limits.max_message_bytes:
            too_big = refusal(Cause.TOO_LARGE, limit=self.settings.limits.max_message_bytes)
            return await self._all_refused(submission, too_big, len(raw))
        plan = await self._decide(submission, raw)
        raw = plan.raw
        blobs = await self._prepare_blobs(submission, plan, raw)
        deposits = await self._prepare_deposits(plan)

        key = self._delivery_key(submission, plan)
        queue_id = [submission.queue_id]
        seen_before = [False]  # the key was taken: an earlier attempt may have been accepted

        async def job(uow: UnitOfWork) -> list[RecipientResult]:
            audited[:] = []  # a rerun of the batch starts this job's rows afresh
            uow.audited = audited
            if key is None:
                return await self._commit(uow, submission, plan, blobs, deposits, raw)
            if seen_before[0]:
                return await self._commit_once(uow, key, submission, plan, blobs, deposits,
                                               raw, queue_id)
            results = await self._commit(uow, submission, plan, blobs, deposits, raw)
            accepted = {r.address for r in results if r.accepted}
            if accepted:
                claim_delivery_key(uow, key, queue_id[0], accepted)
            return results

        try:
            results = await self.store.write(job)
        except DeliveryKeyTaken:  # a retry, or the same message again: look at the key
            seen_before[0] = True
            results = await self.store.write(job)
        return AcceptResult(tuple(results), plan.parsed.message_id, queue_id[0],
                            len(raw), plan.sender.address in blobs and submission.save_to_sent)

    def _delivery_key(self, submission: Submission, plan: _Plan) -> str | None:
        """The message's delivery key, when its sender wrote a Message-ID (mss/pipeline/
        delivery_keys.py: a retry after a lost 250 is not delivered twice)."""
        head, _, body = submission.raw.partition(b"\r\n\r\n")
        if not plan.parsed.message_id or b"\nmessage-id:" not in b"\n" + head.lower():
            return None
        peer = submission.peer.subject_dn if submission.peer else ""
        # the body: the header section differs between attempts (each has its Received)
        return delivery_key(sender=f"{submission.principal.label()}|{peer or ''}",
                            mail_from=submission.mail_from,
                            message_id=plan.parsed.message_id, body=body)

    async def _commit_once(
        self, uow: UnitOfWork, key: str, submission: Submission, plan: _Plan,
        blobs: dict[str, PreparedBlob], deposits: dict[str, list[tuple[VaultStep, object]]],
        raw: bytes, queue_id: list[str],
    ) -> list[RecipientResult]:
        """`_commit` for the recipients not yet accepted under `key`; the others are
        answered as accepted again (audited `message.retried`), not delivered again."""
        window = timedelta(hours=self.settings.limits.retry_window_hours)
        earlier = await accepted_before(uow, key, window)
        done = earlier.recipients if earlier is not None else frozenset()
        if not done:
            results = await self._commit(uow, submission, plan, blobs, deposits, raw)
        else:
            queue_id[0] = earlier.queue_id if earlier is not None else queue_id[0]
            rest = replace(plan, local={r: m for r, m in plan.local.items() if r not in done},
                           remote=[r for r in plan.remote if r not in done],
                           decisions={r: d for r, d in plan.decisions.items() if r not in done})
            results = await self._commit(uow, replace(submission, save_to_sent=False), rest,
                                         blobs, deposits, raw)
            for rcpt in (r for r in plan.decisions if r in done):
                verdict = plan.decisions[rcpt].verdict
                uow.audit(AuditAction.MESSAGE_RETRIED, submission.principal, target=rcpt,
                          detail=f"message={plan.parsed.message_id} queue_id={queue_id[0]} "
                                 f"retry_queue_id={submission.queue_id}")
                results.append(RecipientResult(
                    rcpt, verdict if verdict.accepted else accepted_at_mail(),
                    delivered_to=plan.local.get(rcpt), queued=rcpt in plan.remote))
        accepted = {r.address for r in results if r.accepted}
        if accepted - done:
            await record_acceptance(uow, key, queue_id[0], earlier, accepted)
        return results

    def _complete_headers(self, submission: Submission) -> bytes:
        """RFC 5322 §3.6: a submission without Message-ID or Date gets them (RFC 6409 §8)."""
        raw = submission.raw
        if submission.channel is not Channel.SUBMISSION:
            return raw
        head = raw[: raw.find(b"\r\n\r\n") + 2] if b"\r\n\r\n" in raw else raw
        extra = b""
        if b"\nmessage-id:" not in b"\n" + head.lower():
            domain = self.settings.server.domain
            extra += f"Message-ID: {make_msgid(domain=domain)}\r\n".encode()
        if b"\ndate:" not in b"\n" + head.lower():
            extra += f"Date: {format_datetime(self.store.clock.now())}\r\n".encode()
        return extra + raw

    async def _decide(self, submission: Submission, raw: bytes) -> _Plan:
        # a large or many-part message takes long to parse: off the event loop then
        parsed = (parse_message(raw) if len(raw) < PARSE_INLINE_BYTES
                  else await asyncio.to_thread(parse_message, raw))
        operator, at_mail = await self._read_facts(
            lambda reads: self._mail_from_verdict_in(reads, submission))
        author = await self._author(submission, operator, raw, at_mail)
        if author.verdict.refused:  # T1 / T2 / T4: every recipient, for one reason
            refused = {canonical_address(r): Decision(author.verdict)
                       for r in submission.recipients}
            sender = Correspondent(canonical_address(submission.mail_from))
            return _Plan({}, [], refused, frozenset(), sender, parsed, raw)
        if author.add_from or author.add_sender:
            raw = self._author_lines(submission, author) + raw
            parsed = parse_message(raw)
        known = dict(submission.known_correspondents)
        now = self.store.clock.now()
        reply_to_addresses = parsed.reply_to

        def facts(reads: Reads) -> tuple[Envelope, tuple[Correspondent, ...], list[
                tuple[str, Correspondent, Conversation | None]]]:
            envelope = self._envelope_in(reads, submission.channel, submission.mail_from,
                                         known, now)
            reply_to = tuple(self._correspondent_in(reads, a, known) for a in reply_to_addresses)
            recipients = []
            for rcpt in dict.fromkeys(canonical_address(r) for r in submission.recipients):
                recipient = self._correspondent_in(reads, rcpt, known)
                conversation = None
                if recipient.is_patient and not envelope.sender.is_patient:
                    conversation = self.facts.conversation_in(
                        reads, envelope.sender.address, recipient.address)
                recipients.append((rcpt, recipient, conversation))
            return envelope, reply_to, recipients

        envelope, reply_to, recipients = await self._read_facts(facts)
        content = Content(
            size=len(raw), subject=parsed.subject, x_mss_mes=parsed.x_mss_mes,
            reply_to=reply_to, attachments=parsed.attachments,
        )
        local: dict[str, str] = {}
        remote: list[str] = []
        decisions: dict[str, Decision] = {}
        patients: set[str] = set()
        for rcpt, recipient, conversation in recipients:
            decision = decide(operator, envelope, content, recipient, conversation)
            decisions[rcpt] = decision
            if decision.verdict.refused:
                continue
            if self.facts.is_local(rcpt):
                local[rcpt] = decision.verdict.redirect_to or rcpt
                if recipient.is_patient and decision.verdict.redirect_to is None:
                    patients.add(rcpt)
            else:
                remote.append(rcpt)
        return _Plan(local, remote, decisions, frozenset(patients), envelope.sender, parsed,
                     raw)

    def _mail_from_verdict_in(
        self, reads: Reads, submission: Submission
    ) -> tuple[OperatorFacts, Verdict]:
        """T1 for mail from a peer operator, T2 for a submission: decided here too, so
        that no adapter can forget them (docs/architecture.md §1: adapters never decide policy)."""
        operator = self.facts.operator_in(reads)
        if submission.channel is Channel.INBOUND:
            peer = submission.peer or PeerCertificate(None, False)
            return operator, decide_peer(peer, submission.mail_from, operator.trust_list)
        if submission.sender_checked:
            return operator, accepted_at_mail()
        rights = self.facts.acting_rights_in(reads, submission.principal)
        return operator, decide_sender(rights, submission.mail_from)

    async def _author(
        self, submission: Submission, operator: OperatorFacts, raw: bytes, at_mail: Verdict,
    ) -> AuthorCompletion:
        """MSS policy T4 once T1/T2 passed: the From and Sender fields name the one who
        sent the message (docs/sender-truth.md)."""
        if at_mail.refused:
            return AuthorCompletion(at_mail)
        fields = author_fields(raw)
        if submission.channel is Channel.INBOUND:
            peer = submission.peer or PeerCertificate(None, False)
            return AuthorCompletion(decide_peer_author(
                peer.subject_dn, fields, submission.mail_from, operator.trust_list))
        if submission.principal.kind is PrincipalKind.SYSTEM:
            return AuthorCompletion(at_mail)
        rights = submission.known_rights.get(submission.principal.label())
        if rights is None:
            rights = await self.acting_rights(submission.principal)
        return decide_author(rights, fields, submission.mail_from)

    @staticmethod
    def _author_lines(submission: Submission, author: AuthorCompletion) -> bytes:
        """The From (RFC 6409 §8.1) and Sender (RFC 5322 §3.6.2) fields T4 adds."""
        principal = submission.principal
        lines = ""
        for name, address in (("From", author.add_from), ("Sender", author.add_sender)):
            if address:
                own = canonical_address(principal.mailbox or "") == address or name == "Sender"
                label = principal.display_name if own else ""
                value = formataddr((label, address)) if label else address
                lines += f"{name}: {value}\r\n"
        return lines.encode("utf-8")

    async def _prepare_blobs(
        self, submission: Submission, plan: _Plan, raw: bytes
    ) -> dict[str, PreparedBlob]:
        """One sealed blob per receiving mailbox (each has its own key), before commit;
        small ones are written by the commit itself (inline)."""
        owners = set(plan.local.values())
        sender_local = self.facts.is_local(plan.sender.address) and (
            submission.save_to_sent or plan.remote
        )
        if sender_local:
            owners.add(plan.sender.address)
        if plan.remote and not sender_local:
            owners.add(self.spool_address)
        ids = {address: await self.store.mail.mailboxes.id_of(address) for address in owners}
        known = [(address, mailbox_id) for address, mailbox_id in ids.items() if mailbox_id]
        prepare = self.store.mail.contents.prepare_blob
        if len(raw) <= MAX_INLINE_BLOB or len(known) == 1:  # only sealed: no task each
            sealed = [await prepare(mailbox_id, raw, inline=True) for _, mailbox_id in known]
        else:  # large ones written and fsynced side by side
            sealed = list(await asyncio.gather(
                *(prepare(mailbox_id, raw, inline=True) for _, mailbox_id in known)))
        return {address: blob for (address, _), blob in zip(known, sealed, strict=True)}

    async def _prepare_deposits(self, plan: _Plan) -> dict[str, list[tuple[VaultStep, object]]]:
        """What each patient step (the vault, then `patient_steps`) prepared for each
        patient recipient of a professional-side message, before the transaction."""
        steps = ([self.vault] if self.vault is not None else []) + self.patient_steps
        if not steps or plan.sender.is_patient:
            return {}
        return {
            patient: [(step, await step.prepare(plan.parsed, patient)) for step in steps]
            for patient in plan.patients
        }

    @property
    def spool_address(self) -> str:
        return f"mailer-daemon@{self.settings.server.domain}".lower()

    async def _commit(
        self, uow: UnitOfWork, submission: Submission, plan: _Plan,
        blobs: dict[str, PreparedBlob], deposits: dict[str, list[tuple[VaultStep, object]]],
        raw: bytes,
    ) -> list[RecipientResult]:
        actor = submission.principal
        ref = plan.parsed.message_id
        qid = submission.queue_id
        about = f"message={ref} queue_id={qid}"  # the audit rows' detail
        answered = _answered_message(submission, plan.parsed)
        if answered:  # an acknowledgement names the message it answers, for `mss trace`
            about += f" in_reply_to={answered}"
        # who it is from, for the webmail, the API and conversations (docs/sender-truth.md)
        author = (MessageAuthor(plan.sender.canonical, actor.label())
                  if plan.sender.canonical else None)
        results: list[RecipientResult] = []
        for rcpt, decision in plan.decisions.items():
            subject = _patient_subject_of(rcpt, plan.sender.address, self.facts)
            if decision.verdict.refused:
                uow.audit(AuditAction.MESSAGE_REFUSED, actor, target=rcpt,
                          outcome=AuditOutcome.REFUSED, subject=subject,
                          detail=f"rule={decision.verdict.rule} {_cause(decision.verdict)}"
                                 f"{about}")
                results.append(RecipientResult(rcpt, decision.verdict))
                continue
            if rcpt in plan.local:
                target = plan.local[rcpt]
                self._deliver(uow, blobs[target], target, raw, qid, author)
                uow.audit(AuditAction.MESSAGE_DELIVERED, actor, target=target,
                          subject=subject,
                          detail=f"{about} via={submission.via} folder={INBOX}")
                for hook in self.in_delivery:
                    await hook(uow, target, plan.sender.address, qid)
                if decision.transitions:
                    await apply_conversation_transitions(
                        uow, decision.transitions, actor, via="message", message_ref=ref
                    )
                for step, prepared in deposits.get(target, ()):
                    await step.commit(uow, prepared, plan.parsed, target, plan.sender, ref)
                results.append(RecipientResult(rcpt, decision.verdict, delivered_to=target))
            else:
                if decision.transitions:
                    await apply_conversation_transitions(
                        uow, decision.transitions, actor, via="message", message_ref=ref
                    )
                results.append(RecipientResult(rcpt, decision.verdict, queued=True))
        if plan.remote:
            spool = plan.sender.address if plan.sender.address in blobs else self.spool_address
            queued = [
                QueuedRecipient(r, submission.recipient_dsn.get(r, RecipientDsn()).notify,
                                submission.recipient_dsn.get(r, RecipientDsn()).orcpt)
                for r in plan.remote
            ]
            await enqueue(uow, blobs[spool], submission.mail_from, queued,
                          envid=submission.envid, ret=submission.ret, queue_id=qid)
            for rcpt in plan.remote:
                uow.audit(AuditAction.MESSAGE_QUEUED, actor, target=rcpt,
                          subject=_patient_subject_of(rcpt, plan.sender.address, self.facts),
                          detail=about)
        if (submission.save_to_sent and plan.sender.address in blobs
                and any(r.accepted for r in results)):
            self._deliver(uow, blobs[plan.sender.address], plan.sender.address, raw, qid,
                          author, folder=SENT, flags=(SEEN,))
        return results

    def _deliver(self, uow: UnitOfWork, blob: PreparedBlob, address: str, raw: bytes,
                 queue_id: str, author: MessageAuthor | None, *, folder: str = INBOX,
                 flags: tuple[str, ...] = ()) -> None:
        """With the batch's other deliveries (the UID is not needed here): one database
        round trip for all of them, before the commit that makes them visible."""
        self.store.mail.delivery.deliver_to_folder_later(uow, folder, blob, raw, flags=flags,
                                                queue_id=queue_id, author=author)

    async def _all_refused(self, submission: Submission, verdict: Verdict,
                           size: int) -> AcceptResult:
        results = tuple(RecipientResult(canonical_address(r), verdict)
                        for r in submission.recipients)

        async def job(uow: UnitOfWork) -> None:
            for result in results:
                uow.audit(AuditAction.MESSAGE_REFUSED, submission.principal,
                          target=result.address, outcome=AuditOutcome.REFUSED,
                          detail=f"rule={verdict.rule} queue_id={submission.queue_id}")

        await self.store.write(job)
        return AcceptResult(results, "", submission.queue_id, size)

    async def ensure_spool_mailbox(self) -> None:
        """The mailbox whose key seals system messages (DSN, MDN) waiting to be relayed."""
        async with self.store.reading() as session:
            if await find_mailbox(session, self.spool_address) is not None:
                return

        async def job(uow: UnitOfWork) -> None:
            if await find_mailbox(uow.session, self.spool_address) is None:
                await create_mailbox(uow, self.store.keyring, address=self.spool_address,
                                     kind=MailboxKind.APP, display_name="MSS",
                                     principal=SYSTEM)

        await self.store.write(job)


class _MustRead(Exception):
    """Raised by `_KNOWN_ONLY`: the plan needs a fact that is not known yet."""


class _KnownOnly:
    """The `Reads` of a plan tried on known facts only (`Pipeline._read_facts`)."""

    def rows(self, query: PreparedStatement, **values: Any) -> list[tuple[Any, ...]]:
        raise _MustRead

    def first(self, query: PreparedStatement, **values: Any) -> tuple[Any, ...] | None:
        raise _MustRead

    def scalar(self, query: PreparedStatement, **values: Any) -> Any:
        raise _MustRead

    def execute_many(self, query: PreparedStatement, rows: list[dict[str, Any]]) -> None:
        raise _MustRead


_KNOWN_ONLY = _KnownOnly()


def _answered_message(submission: Submission, parsed: ParsedMessage) -> str:
    """The Message-ID a processing acknowledgement (RFC 8098) answers, from its
    In-Reply-To; empty for every other message."""
    if submission.via != "mdn":
        return ""
    value = " ".join(str(parsed.message.get("In-Reply-To", "")).split())
    return value if value.startswith("<") and " " not in value else ""


def _patient_subject_of(rcpt: str, sender: str, facts: DirectoryFacts) -> str:
    """The patient a message concerns (recipient or sender), for their trace list."""
    for address in (rcpt, sender):
        if is_patient_address(address) and facts.is_local(address):
            return patient_subject(address)
    return ""



def _cause(verdict: Verdict) -> str:
    """`cause=<why> ` for a refusal's audit row (T4 says which field was wrong)."""
    return f"cause={verdict.cause} " if verdict.cause else ""
