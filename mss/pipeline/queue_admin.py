"""Operator actions on the outbound queue (`mss queue list|retry|drop`).

Invariants: a retry makes a row due now and frees its lease, whatever its state; a drop
removes the recipient row (and its message once no recipient is left) without any DSN;
both leave an audit row naming the operator action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from mss.identity import SYSTEM, Principal
from mss.pipeline.outbound_queue import QUEUED
from mss.pipeline.tables import OutboundMessage, OutboundRecipient
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class QueueEntry:
    recipient_id: int
    message_id: int
    mail_from: str
    recipient: str
    status: str
    attempts: int
    size: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str
    queue_id: str = ""  # the id the client was given ("queued as ..."), in the logs too


async def list_queue(store: Store, status: str | None = None) -> list[QueueEntry]:
    """Every recipient row, oldest first, optionally of one status."""
    async with store.reading() as session:
        query = (
            select(OutboundRecipient, OutboundMessage)
            .join(OutboundMessage, OutboundMessage.id == OutboundRecipient.message_id)
            .order_by(OutboundRecipient.id)
        )
        if status is not None:
            query = query.where(OutboundRecipient.status == status)
        return [
            QueueEntry(r.id, m.id, m.mail_from, r.recipient, r.status, r.attempts, m.size,
                       m.created_at, r.next_attempt_at, r.last_error, m.queue_id or "")
            for r, m in (await session.execute(query)).all()
        ]


async def retry_now(store: Store, recipient_id: int, *, principal: Principal = SYSTEM) -> bool:
    """Make the row due now (queued again if it had failed); False if there is none."""

    async def job(uow: UnitOfWork) -> bool:
        row = await uow.session.get(OutboundRecipient, recipient_id)
        if row is None:
            return False
        now = uow.now()
        row.status, row.next_attempt_at, row.updated_at = QUEUED, now, now
        row.lease_until, row.claimed_by = None, None
        await uow.session.flush()
        uow.audit(AuditAction.MESSAGE_QUEUED, principal, target=row.recipient,
                  detail=f"queue={row.message_id} retry requested")
        return True

    return await store.write(job)


async def drop(store: Store, recipient_id: int, *, principal: Principal = SYSTEM) -> bool:
    """Remove the row (no DSN); the message goes with its last recipient."""

    async def job(uow: UnitOfWork) -> bool:
        row = await uow.session.get(OutboundRecipient, recipient_id)
        if row is None:
            return False
        message_id, recipient = row.message_id, row.recipient
        await uow.session.delete(row)
        await uow.session.flush()
        left = (await uow.session.execute(
            select(func.count()).select_from(OutboundRecipient)
            .where(OutboundRecipient.message_id == message_id)
        )).scalar_one()
        if not left:
            await uow.session.execute(
                delete(OutboundMessage).where(OutboundMessage.id == message_id))
        uow.audit(AuditAction.MESSAGE_BOUNCED, principal, target=recipient,
                  outcome=AuditOutcome.REFUSED, detail=f"queue={message_id} dropped")
        return True

    return await store.write(job)
