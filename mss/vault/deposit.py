"""The vault's step of the pipeline: a patient's message becomes documents (docs/architecture.md
§6).

`VaultDeposit` is the pipeline's vault step for each local patient recipient of a
professional-side message: `prepare` extracts and seals the documents before the
delivery transaction (slow work must not hold the shared write transaction), `commit`
files them inside it.

Invariants:
- a failure inside the deposit never loses the message: everything the vault writes is
  inside a SAVEPOINT; on any error it is rolled back, a failed deposit row, an audit
  event and a log line are written instead, and the hook returns normally so the
  message is delivered;
- audit rows are appended only after the savepoint succeeded or was rolled back, so the
  hash chain never counts a row the database dropped;
- document blobs are sealed with the patient mailbox's key and fsynced before the rows
  that name them commit (store invariant);
- the processing acknowledgement (RFC 8098 MDN, MSSanté `processed` / `processed/Error:
  90x^label`) is sent after commit, through the pipeline, only when the message asked
  for it with Disposition-Notification-To;
- audit rows carry the patient's INS as subject and never document content or names.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass, field
from email.message import Message
from email.utils import make_msgid
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.principals import principal_for_mailbox
from mss.identity import SYSTEM
from mss.policy import Correspondent
from mss.policy.addresses import canonical_address, domain_of
from mss.policy.automatic_replies import WITHHELD_REASON, acknowledgement_recipients
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.message_contents import PreparedBlob
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork
from mss.vault.acknowledgement import build_processing_acknowledgement, notification_addresses
from mss.vault.documents import DepositPlan, DocumentProblem, VaultDocument
from mss.vault.errors import ProcessingErrorCode
from mss.vault.extraction import extract_documents
from mss.vault.mdn_sending import (
    AcknowledgementSender,
    spawn_acknowledgement,
)
from mss.vault.tables import DepositProblemRow, DepositRow, DocumentRow

if TYPE_CHECKING:
    from mss.pipeline.message_facts import ParsedMessage

log = logging.getLogger(__name__)
MAX_REF = 300


class DepositStatus(enum.StrEnum):
    """What became of one message for one patient (the visible status)."""

    DEPOSITED = "deposited"  # every attachment filed
    PARTIAL = "partial"  # some filed, some refused
    REJECTED = "rejected"  # attachments, none filed
    EMPTY = "empty"  # nothing to file
    FAILED = "failed"  # the vault failed; the message was still delivered


class DepositError(Exception):
    """The vault cannot file for this store (e.g. not bound); `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class DepositOutcome:
    deposit_id: int | None
    status: DepositStatus
    documents: list[tuple[int, VaultDocument]] = field(default_factory=list)
    problems: tuple[DocumentProblem, ...] = ()
    error: ProcessingErrorCode | None = None
    failure: str = ""


def patient_ins_of(patient_mailbox: str) -> str:
    return canonical_address(patient_mailbox).partition("@")[0].upper()


def status_of(plan: DepositPlan) -> DepositStatus:
    if plan.documents and plan.problems:
        return DepositStatus.PARTIAL
    if plan.documents:
        return DepositStatus.DEPOSITED
    if plan.problems:
        return DepositStatus.REJECTED
    return DepositStatus.EMPTY


async def sender_label(session: AsyncSession, sender: Correspondent) -> str:
    """Who deposits: the owner of the sender mailbox (PER professional, APP application);
    an ORG or remote mailbox is named as such (the hook is not told which member or
    operator submitted it; the MESSAGE_DELIVERED audit row of the same message is)."""
    address = canonical_address(sender.address)
    mailbox = (
        await session.execute(select(Mailbox).where(Mailbox.address == address))
    ).scalar_one_or_none()
    if mailbox is None:
        return f"remote:{domain_of(address)}"
    principal = await principal_for_mailbox(session, mailbox)
    return principal.label() if principal is not None else f"mailbox:{address}"


@dataclass(frozen=True)
class PreparedDeposit:
    """What `VaultDeposit.prepare` did before the transaction: the plan and the sealed
    blobs of its documents, or the failure that stopped it (recorded at commit)."""

    ins: str
    plan: DepositPlan | None = None
    mailbox_id: int | None = None
    blobs: tuple[PreparedBlob, ...] = ()
    failure: Exception | None = None


class VaultDeposit:
    """The vault's step of the pipeline (`mss.pipeline.accept.VaultStep`)."""

    def __init__(self, store: Store,
                 send_acknowledgement: AcknowledgementSender | None = None) -> None:
        self.store = store
        self.send_acknowledgement = send_acknowledgement

    async def prepare(self, parsed: ParsedMessage, patient_mailbox: str) -> PreparedDeposit:
        """Extract and seal the documents, outside the shared write transaction."""
        ins = patient_ins_of(patient_mailbox)
        try:
            plan = await asyncio.to_thread(extract_documents, parsed.message, ins)
            mailbox_id = await self.store.mail.mailboxes.id_of(canonical_address(patient_mailbox))
            if mailbox_id is None:
                raise DepositError("patient mailbox not found")
            blobs = tuple([
                await self.store.mail.contents.prepare_blob(mailbox_id, document.content)
                for document in plan.documents
            ])
        except Exception as exc:  # recorded at commit; the message is still delivered
            return PreparedDeposit(ins, failure=exc)
        return PreparedDeposit(ins, plan, mailbox_id, blobs)

    async def commit(
        self, uow: UnitOfWork, prepared: object, parsed: ParsedMessage, patient_mailbox: str,
        sender: Correspondent, message_ref: str,
    ) -> None:
        """File the prepared documents for the patient, inside the delivery transaction."""
        assert isinstance(prepared, PreparedDeposit)
        ins = prepared.ins
        ref = message_ref[:MAX_REF]
        actor = f"mailbox:{canonical_address(sender.address)}"
        try:
            actor = await sender_label(uow.session, sender)
            if prepared.failure is not None:
                raise prepared.failure
            assert prepared.plan is not None and prepared.mailbox_id is not None
            async with uow.session.begin_nested():
                outcome = await _file(uow, prepared, sender, actor, ref)
        except Exception as exc:
            log.error("deposit of message %s for %s failed; the message is delivered", ref,
                      ins, exc_info=exc)
            outcome = await _record_failure(uow, ins, ref, sender, exc)
        _audit(uow, outcome, actor, ins, ref)
        if self.send_acknowledgement is not None:
            _schedule_acknowledgement(uow, self.store, self.send_acknowledgement,
                                      parsed.message, patient_mailbox, outcome, sender)


async def _file(
    uow: UnitOfWork, prepared: PreparedDeposit, sender: Correspondent, actor: str, ref: str,
) -> DepositOutcome:
    session = uow.session
    now = uow.now()
    plan, ins, mailbox_id = prepared.plan, prepared.ins, prepared.mailbox_id
    assert plan is not None and mailbox_id is not None
    status = status_of(plan)
    deposit = DepositRow(
        patient_ins=ins, source_message_id=ref, sender_mailbox=canonical_address(sender.address),
        status=status.value, documents=len(plan.listed_documents), problems=len(plan.problems),
        error_code=int(plan.processing_error) if plan.processing_error else None, at=now,
    )
    session.add(deposit)
    await session.flush()
    for problem in plan.problems:
        session.add(DepositProblemRow(deposit_id=deposit.id, file_name=problem.file_name,
                                      kind=problem.kind.value, reason=problem.reason))
    filed: list[tuple[int, VaultDocument]] = []
    ids_by_sha: dict[str, int] = {}
    # originals come before their PDF copies in a plan, so `copy_of` resolves
    for document, blob in zip(plan.documents, prepared.blobs, strict=True):
        row = DocumentRow(
            patient_ins=ins, space=document.space.value, file_name=document.file_name,
            content_type=document.content_type, size=len(document.content),
            sha256=document.sha256, mailbox_id=mailbox_id, blob_key=blob.blob_key,
            title=document.title[:2000], type_code=document.type_code,
            class_code=document.class_code,
            confidentiality_codes=" ".join(document.confidentiality_codes)[:400],
            hidden_from_professionals=document.hidden_from_professionals,
            classification_basis=document.classification.basis.value,
            classification_evidence=document.classification.evidence[:200],
            origin=document.origin.value, author=(document.author or None),
            created_at=document.created_at, deposit_id=deposit.id, source_message_id=ref,
            sender_mailbox=canonical_address(sender.address), sender_principal=actor,
            received_at=now,
            copy_of_id=ids_by_sha.get(document.copy_of) if document.copy_of else None,
            uploaded_by_patient=False, deleted=False,
        )
        session.add(row)
        await session.flush()
        ids_by_sha.setdefault(document.sha256, row.id)
        filed.append((row.id, document))
    return DepositOutcome(deposit.id, status, filed, plan.problems, plan.processing_error)


async def _record_failure(
    uow: UnitOfWork, ins: str, ref: str, sender: Correspondent, exc: Exception
) -> DepositOutcome:
    """The visible status of a failed deposit; itself guarded so the message survives."""
    reason = exc.reason if isinstance(exc, DepositError) else type(exc).__name__
    try:
        async with uow.session.begin_nested():
            row = DepositRow(
                patient_ins=ins, source_message_id=ref,
                sender_mailbox=canonical_address(sender.address),
                status=DepositStatus.FAILED.value, documents=0, problems=0,
                error_code=int(ProcessingErrorCode.OTHER), reason=reason[:500], at=uow.now(),
            )
            uow.session.add(row)
            await uow.session.flush()
            deposit_id: int | None = row.id
    except Exception:
        log.error("cannot record the failed deposit of %s for %s", ref, ins, exc_info=True)
        deposit_id = None
    return DepositOutcome(deposit_id, DepositStatus.FAILED, error=ProcessingErrorCode.OTHER,
                          failure=reason)


def _audit(uow: UnitOfWork, outcome: DepositOutcome, actor: str, ins: str, ref: str) -> None:
    """DOCUMENT_DEPOSITED per document, DOCUMENT_REJECTED per problem or failure."""
    for document_id, document in outcome.documents:
        copy = f" copy_of={document.copy_of[:12]}" if document.copy_of else ""
        uow.audit(AuditAction.DOCUMENT_DEPOSITED, actor, target=f"document:{document_id}",
                  subject=ins,
                  detail=f"space={document.space.value} why={document.reason} "
                         f"message={ref}{copy}")
    target = f"deposit:{outcome.deposit_id}" if outcome.deposit_id is not None else ""
    for problem in outcome.problems:
        uow.audit(AuditAction.DOCUMENT_REJECTED, actor, target=target,
                  outcome=AuditOutcome.REFUSED, subject=ins,
                  detail=f"kind={problem.kind.value} message={ref}")
    if outcome.status is DepositStatus.FAILED:
        uow.audit(AuditAction.DOCUMENT_REJECTED, actor, target=target,
                  outcome=AuditOutcome.ERROR, subject=ins,
                  detail=f"deposit failed ({outcome.failure}); message delivered "
                         f"message={ref}")


def _schedule_acknowledgement(
    uow: UnitOfWork, store: Store, sender: AcknowledgementSender, original: Message,
    patient_mailbox: str, outcome: DepositOutcome, return_path: Correspondent,
) -> None:
    """RFC 8098 processing acknowledgement, sent after commit when it was asked for,
    and only to the message's Return-Path (RFC 8098 §2.1): every other address asked
    gets nothing and an audit row says why."""
    try:
        chosen = acknowledgement_recipients(notification_addresses(original),
                                            return_path.address)
        for address in chosen.withheld:
            uow.audit(AuditAction.ACKNOWLEDGEMENT_WITHHELD, SYSTEM, target=address[:300],
                      outcome=AuditOutcome.REFUSED, subject=patient_ins_of(patient_mailbox),
                      detail=f"{WITHHELD_REASON} <{return_path.canonical[:300]}>")
        addresses = list(chosen.send_to)
        if not addresses:
            return
        server = store.settings.server
        report = build_processing_acknowledgement(
            original, reporting_host=server.hostname,
            final_recipient=canonical_address(patient_mailbox),
            message_id=make_msgid(domain=server.domain), now=uow.now(), error=outcome.error,
            problems=outcome.problems,
            recipients=addresses,
        )
    except Exception:
        log.error("cannot build the processing acknowledgement", exc_info=True)
        return
    if report is None:
        return
    raw = report.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    for address in addresses:
        uow.after_commit.append(
            lambda address=address: spawn_acknowledgement(sender, address, raw)  # type: ignore[misc]
        )
