"""The outbound queue: rows written in the pipeline's transaction, claimed by workers.

Invariants:
- a recipient row is created in the same transaction that accepted the message, so a
  250 for a remote recipient means the relay is durable;
- a worker claims due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on
  SQLite the single writer serialises claims); a worker that dies leaves rows whose
  lease expires and that another worker claims again (at-least-once delivery).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mss.pipeline.tables import OutboundMessage, OutboundRecipient
from mss.store.db import is_sqlite
from mss.store.message_contents import PreparedBlob, keep_inline
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

QUEUED = "queued"
DELIVERED = "delivered"
FAILED = "failed"
DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class QueuedRecipient:
    address: str
    notify: str | None = None
    orcpt: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A recipient row claimed by a worker, with what is needed to send it."""

    recipient_id: int
    message_id: int
    recipient: str
    domain: str
    attempts: int
    mailbox_id: int
    blob_key: str
    mail_from: str
    envid: str | None
    ret: str | None
    notify: str | None
    orcpt: str | None
    created_at: datetime
    delay_warned: bool = False
    queue_id: str = ""


async def enqueue(
    uow: UnitOfWork, blob: PreparedBlob, mail_from: str, recipients: list[QueuedRecipient],
    *, envid: str | None = None, ret: str | None = None, queue_id: str | None = None,
) -> int:
    now = uow.now()
    await keep_inline(await uow.core(), blob)
    message = OutboundMessage(
        mailbox_id=blob.mailbox_id, blob_key=blob.blob_key, size=blob.size,
        mail_from=mail_from, envid=envid, ret=ret, created_at=now, queue_id=queue_id,
    )
    uow.session.add(message)
    await uow.session.flush()
    for rcpt in recipients:
        uow.session.add(OutboundRecipient(
            message_id=message.id, recipient=rcpt.address,
            domain=rcpt.address.rpartition("@")[2].lower(), notify=rcpt.notify,
            orcpt=rcpt.orcpt, status=QUEUED, attempts=0, delay_warned=False,
            next_attempt_at=now,
            lease_until=None, claimed_by=None, last_error="", updated_at=now,
        ))
    await uow.session.flush()
    return message.id


async def claim_due(store: Store, worker: str, *, limit: int = 20,
                    lease: timedelta = DEFAULT_LEASE) -> list[Claim]:
    """Claim up to `limit` due recipient rows whose lease is free or expired.

    Order per recipient is kept: a row waits while an older message to the same
    recipient waits for a later retry or is being sent by another worker; rows come out
    oldest first, and the worker sends them in that order.
    """
    skip_locked = not is_sqlite(store.settings.database_url)
    older = aliased(OutboundRecipient)

    async def job(uow: UnitOfWork) -> list[Claim]:
        now = uow.now()
        query = (
            select(OutboundRecipient, OutboundMessage)
            .join(OutboundMessage, OutboundMessage.id == OutboundRecipient.message_id)
            .where(
                OutboundRecipient.status == QUEUED,
                OutboundRecipient.next_attempt_at <= now,
                or_(OutboundRecipient.lease_until.is_(None), OutboundRecipient.lease_until < now),
                ~exists().where(
                    older.recipient == OutboundRecipient.recipient, older.status == QUEUED,
                    older.id < OutboundRecipient.id,
                    or_(older.next_attempt_at > now, older.lease_until >= now),
                ),
            )
            .order_by(OutboundRecipient.id)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True, of=OutboundRecipient)
        claims = []
        for rcpt, message in (await uow.session.execute(query)).all():
            rcpt.lease_until, rcpt.claimed_by, rcpt.updated_at = now + lease, worker, now
            claims.append(Claim(
                recipient_id=rcpt.id, message_id=message.id, recipient=rcpt.recipient,
                domain=rcpt.domain, attempts=rcpt.attempts, mailbox_id=message.mailbox_id,
                blob_key=message.blob_key, mail_from=message.mail_from, envid=message.envid,
                ret=message.ret, notify=rcpt.notify, orcpt=rcpt.orcpt,
                created_at=message.created_at, delay_warned=rcpt.delay_warned,
                queue_id=message.queue_id or "",
            ))
        await uow.session.flush()
        return claims

    return await store.write(job)


async def record_attempt(
    uow: UnitOfWork, recipient_id: int, *, outcome: str, error: str = "",
    next_attempt_at: datetime | None = None, delay_warned: bool = False,
) -> None:
    """After an attempt: delivered, failed for good, or queued again for later."""
    row = await uow.session.get(OutboundRecipient, recipient_id)
    if row is None:
        return
    now = uow.now()
    row.attempts += 1
    row.status = outcome
    row.delay_warned = row.delay_warned or delay_warned
    row.last_error = error[:2000]
    row.lease_until, row.claimed_by, row.updated_at = None, None, now
    if outcome == QUEUED:
        row.next_attempt_at = next_attempt_at or now
    await uow.session.flush()


async def queue_rows(store: Store, status: str | None = None) -> list[OutboundRecipient]:
    async with store.reading() as session:
        query = select(OutboundRecipient).order_by(OutboundRecipient.id)
        if status is not None:
            query = query.where(OutboundRecipient.status == status)
        return list((await session.execute(query)).scalars().all())


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queued: int
    oldest_age_seconds: float


async def queue_depth(session: AsyncSession, now: datetime) -> QueueDepth:
    """How many recipients wait for relay, and for how long the oldest has waited."""
    count, oldest = (
        await session.execute(
            select(func.count(OutboundRecipient.id), func.min(OutboundMessage.created_at))
            .join(OutboundMessage, OutboundMessage.id == OutboundRecipient.message_id)
            .where(OutboundRecipient.status == QUEUED)
        )
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return QueueDepth(int(count), age)
