"""The durable queue of notices: enqueue, claim due rows with a lease, record outcomes.

Invariants: a row leaves `pending` only as `sent` (the relay accepted it) or `failed`
(after the last retry); a claim holds a lease so that two workers (nodes) do not send
the same notice at the same time; times come from the store's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from mss.identity import SYSTEM
from mss.notify.notice_text import NoticeKind
from mss.notify.tables import NoticeRow
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

PENDING, SENT, FAILED = "pending", "sent", "failed"
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
                timedelta(hours=1), timedelta(hours=4), timedelta(hours=12))
"""Backoff after each failed attempt; after the last one the notice is given up."""
LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class DueNotice:
    id: int
    kind: NoticeKind
    recipient: str
    attempts: int


async def enqueue_notice(store: Store, kind: NoticeKind, recipient: str) -> int | None:
    """Queue a notice; None when there is no personal address to write to."""

    async def job(uow: UnitOfWork) -> int | None:
        return await add_notice(uow, kind, recipient)

    return await store.write(job)


async def add_notice(uow: UnitOfWork, kind: NoticeKind, recipient: str) -> int | None:
    """Queue a notice inside the caller's transaction (so it commits with the event)."""
    recipient = recipient.strip()
    if not recipient or "@" not in recipient:
        return None
    now = uow.now()
    row = NoticeRow(kind=kind.value, recipient=recipient, status=PENDING, attempts=0,
                    created_at=now, next_attempt_at=now, last_error="")
    uow.session.add(row)
    await uow.session.flush()
    return row.id


async def claim_due(store: Store, *, limit: int = 20) -> list[DueNotice]:
    async def job(uow: UnitOfWork) -> list[DueNotice]:
        now = uow.now()
        query = (select(NoticeRow)
                 .where(NoticeRow.status == PENDING, NoticeRow.next_attempt_at <= now,
                        or_(NoticeRow.lease_until.is_(None), NoticeRow.lease_until <= now))
                 .order_by(NoticeRow.next_attempt_at, NoticeRow.id).limit(limit)
                 .with_for_update(skip_locked=True))
        rows = (await uow.session.execute(query)).scalars().all()
        for row in rows:
            row.lease_until = now + LEASE
        await uow.session.flush()
        return [DueNotice(r.id, NoticeKind(r.kind), r.recipient, r.attempts) for r in rows]

    return await store.write(job)


def notice_detail(notice_id: int, kind: NoticeKind) -> str:
    """The audit detail every row about one notice starts with (`mss trace` reads it)."""
    return f"notice={notice_id} kind={kind.value}"


async def record_outcome(store: Store, notice_id: int, *, error: str | None) -> str:
    """`error` None: sent. Otherwise retried after the next delay, or failed at the end.
    Each attempt is audited (no personal address: its domain only)."""
    async def job(uow: UnitOfWork) -> str:
        row = await uow.session.get(NoticeRow, notice_id)
        if row is None:
            return FAILED
        now = uow.now()
        row.attempts += 1
        row.lease_until = None
        if error is None:
            row.status, row.sent_at, row.last_error = SENT, now, ""
        elif row.attempts > len(RETRY_DELAYS):
            row.status, row.last_error = FAILED, error[:500]
        else:
            row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
            row.last_error = error[:500]
        await uow.session.flush()
        detail = (f"{notice_detail(row.id, NoticeKind(row.kind))} attempt={row.attempts}"
                  f" status={row.status} to_domain={row.recipient.rpartition('@')[2]}")
        if error is None:
            uow.audit(AuditAction.NOTICE_SENT, SYSTEM, detail=detail)
        else:
            uow.audit(AuditAction.NOTICE_FAILED, SYSTEM, outcome=AuditOutcome.ERROR,
                      detail=f"{detail} error={' '.join(error.split())[:200]}")
        return row.status

    return await store.write(job)


@dataclass(frozen=True, slots=True)
class NoticeState:
    id: int
    kind: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


async def notices(store: Store) -> list[NoticeState]:
    async with store.reading() as session:
        rows = (await session.execute(select(NoticeRow).order_by(NoticeRow.id))).scalars().all()
        return [NoticeState(r.id, r.kind, r.recipient, r.status, r.attempts,
                            r.next_attempt_at, r.last_error) for r in rows]
