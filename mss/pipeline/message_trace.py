"""Everything that happened to one message, from the database (`mss trace`).

A message is known by the queue id its accepting session gave (`250 … queued as`, in
every log line) or by its Message-ID. The trace joins what the pipeline keeps:
- the audit rows that name the queue id (refused at RCPT or DATA, delivered, queued,
  each relay attempt, bounced, DSN sent) and the vault's rows that name the Message-ID
  (documents deposited or rejected), in chain order;
- the stored copies (`messages.queue_id`): which mailbox, which folder, which UID;
- the outbound queue rows (`outbound_messages.queue_id`): each recipient's state.
A DSN sent about the message is followed by its own queue id, and so is a processing
acknowledgement (RFC 8098 MDN) answering it (its rows name `in_reply_to=`); a patient
notice queued for a delivery is followed by its notice id (`notice.queued`, each
attempt `notice.sent` / `notice.failed`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.pipeline.tables import OutboundMessage, OutboundRecipient
from mss.store.tables import AuditEvent, Folder, FolderEntry, Mailbox, StoredMessage

_QUEUE_ID = re.compile(r"(?:^|\s)(?:dsn_)?queue_id=([0-9A-Za-z]+)")
_MESSAGE_ID = re.compile(r"(?:^|\s)message=(\S+)")
_NOTICE_ID = re.compile(r"^notice=([0-9]+) ")
_VAULT_ACTIONS = ("document.deposited", "document.rejected")
MAX_ROUNDS = 3  # the message, its DSNs, a DSN about those


@dataclass(frozen=True)
class TraceStep:
    at: datetime
    action: str
    principal: str
    target: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class StoredCopy:
    queue_id: str
    mailbox: str
    folder: str
    uid: int
    size: int


@dataclass(frozen=True)
class QueuedRecipient:
    queue_id: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass
class MessageTrace:
    queue_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    steps: list[TraceStep] = field(default_factory=list)
    copies: list[StoredCopy] = field(default_factory=list)
    queue: list[QueuedRecipient] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.steps or self.copies or self.queue)

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items()}


def is_message_id(reference: str) -> bool:
    return "@" in reference or reference.startswith("<")


async def trace_message(session: AsyncSession, reference: str) -> MessageTrace:
    """The trace of the message `reference` names (queue id or Message-ID)."""
    reference = reference.strip()
    queue_ids: set[str] = set()
    message_ids: set[str] = set()
    if is_message_id(reference):
        message_ids.add(reference if reference.startswith("<") else f"<{reference}>")
    else:
        queue_ids.add(reference.upper())
    notice_ids: set[str] = set()
    rows: dict[int, AuditEvent] = {}
    for _ in range(MAX_ROUNDS):
        before = (len(queue_ids), len(message_ids), len(notice_ids))
        for row in await _audit_rows(session, queue_ids, message_ids, notice_ids):
            rows[row.id] = row
            queue_ids.update(_QUEUE_ID.findall(row.detail))
            notice_ids.update(_NOTICE_ID.findall(row.detail))
            if not row.action.startswith("document."):
                message_ids.update(_MESSAGE_ID.findall(row.detail))
        queue_ids.update(await _stored_queue_ids(session, message_ids))
        if (len(queue_ids), len(message_ids), len(notice_ids)) == before:
            break
    trace = MessageTrace(sorted(queue_ids), sorted(message_ids))
    trace.steps = [TraceStep(r.at, r.action, r.principal, r.target, r.outcome, r.detail)
                   for r in sorted(rows.values(), key=lambda r: r.id)]
    trace.copies = await _copies(session, queue_ids)
    trace.queue = await _queue_rows(session, queue_ids)
    return trace


async def _audit_rows(session: AsyncSession, queue_ids: set[str], message_ids: set[str],
                      notice_ids: set[str]) -> list[AuditEvent]:
    terms = [AuditEvent.detail.contains(f"queue_id={q}", autoescape=True) for q in queue_ids]
    terms += [
        AuditEvent.action.in_(_VAULT_ACTIONS)
        & AuditEvent.detail.contains(f"message={m}", autoescape=True)
        for m in message_ids
    ]
    terms += [AuditEvent.detail.contains(f"in_reply_to={m}", autoescape=True)
              for m in message_ids]
    terms += [AuditEvent.action.startswith("notice.")
              & AuditEvent.detail.startswith(f"notice={n} ", autoescape=True)
              for n in notice_ids]
    if not terms:
        return []
    query = select(AuditEvent).where(or_(*terms)).order_by(AuditEvent.id)
    return list((await session.execute(query)).scalars().all())


async def _stored_queue_ids(session: AsyncSession, message_ids: set[str]) -> set[str]:
    if not message_ids:
        return set()
    query = (select(StoredMessage.queue_id).distinct()
             .where(StoredMessage.message_id.in_(sorted(message_ids)),
                    StoredMessage.queue_id.is_not(None)))
    return {q for q in (await session.execute(query)).scalars().all() if q}


async def _copies(session: AsyncSession, queue_ids: set[str]) -> list[StoredCopy]:
    if not queue_ids:
        return []
    query = (
        select(StoredMessage.queue_id, Mailbox.address, Folder.name, FolderEntry.uid,
               StoredMessage.size)
        .join(Mailbox, Mailbox.id == StoredMessage.mailbox_id)
        .join(FolderEntry, FolderEntry.message_id == StoredMessage.id)
        .join(Folder, Folder.id == FolderEntry.folder_id)
        .where(StoredMessage.queue_id.in_(sorted(queue_ids)))
        .order_by(StoredMessage.id, Folder.name)
    )
    return [StoredCopy(str(q), a, n, int(u), int(s))
            for q, a, n, u, s in (await session.execute(query)).all()]


async def _queue_rows(session: AsyncSession, queue_ids: set[str]) -> list[QueuedRecipient]:
    if not queue_ids:
        return []
    query = (
        select(OutboundMessage.queue_id, OutboundRecipient.recipient,
               OutboundRecipient.status, OutboundRecipient.attempts,
               OutboundRecipient.next_attempt_at, OutboundRecipient.last_error)
        .join(OutboundMessage, OutboundMessage.id == OutboundRecipient.message_id)
        .where(OutboundMessage.queue_id.in_(sorted(queue_ids)))
        .order_by(OutboundRecipient.id)
    )
    return [QueuedRecipient(str(q), r, s, int(a), n, e or "")
            for q, r, s, a, n, e in (await session.execute(query)).all()]
