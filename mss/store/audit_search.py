"""Reading the audit trail by what an operator asks (`mss audit`): a mailbox, a patient,
an action, a start time; oldest first, so that it reads like a log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.tables import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    mailbox: str | None = None  # principal, target or named in the detail
    patient: str | None = None  # the INS: rows whose subject is this patient
    action: str | None = None  # `auth.failed`, or a family: `message.` / `auth`
    since: datetime | None = None
    limit: int = 1000


async def search_audit(session: AsyncSession, query: AuditQuery) -> list[AuditEvent]:
    """The newest `query.limit` rows that match, in the order they were written (every
    node's chain: `id`)."""
    statement = select(AuditEvent)
    if query.mailbox:
        mailbox = query.mailbox.strip().lower()
        statement = statement.where(or_(
            AuditEvent.target == mailbox, AuditEvent.principal == mailbox,
            AuditEvent.principal.endswith(f":{mailbox}", autoescape=True),
            AuditEvent.detail.contains(mailbox, autoescape=True)))
    if query.patient:
        statement = statement.where(AuditEvent.subject == query.patient.strip().upper())
    if query.action:
        action = query.action.strip().lower()
        if "." in action.rstrip("."):
            statement = statement.where(AuditEvent.action == action)
        else:
            family = action.rstrip(".") + "."
            statement = statement.where(AuditEvent.action.startswith(family, autoescape=True))
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    statement = statement.order_by(AuditEvent.id.desc()).limit(query.limit)
    rows = list((await session.execute(statement)).scalars().all())
    return rows[::-1]
