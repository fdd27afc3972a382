"""A patient's notice preferences: a notice for each new message (the default), one a
day at most (digest), or none (docs/architecture.md §9: the patient is told on her
personal address; she may choose how often). Changes are audited with her as subject."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.identity import Principal
from mss.notify.notice_text import NoticeKind
from mss.notify.tables import NoticePreferenceRow, NoticeRow
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

DIGEST_PERIOD = timedelta(days=1)


class Digest(enum.StrEnum):
    EACH = "each"  # a notice for each new message
    DAILY = "daily"  # at most one new-message notice a day


@dataclass(frozen=True, slots=True)
class NoticePreferences:
    enabled: bool = True
    digest: Digest = Digest.EACH


async def preferences_of(session: AsyncSession, ins: str) -> NoticePreferences:
    row = await session.get(NoticePreferenceRow, ins)
    if row is None:
        return NoticePreferences()
    try:
        digest = Digest(row.digest)
    except ValueError:
        digest = Digest.EACH
    return NoticePreferences(row.enabled, digest)


async def notice_preferences(store: Store, ins: str) -> NoticePreferences:
    async with store.reading() as session:
        return await preferences_of(session, ins)


async def set_notice_preferences(store: Store, principal: Principal, ins: str,
                                 preferences: NoticePreferences) -> None:
    async def job(uow: UnitOfWork) -> None:
        row = await uow.session.get(NoticePreferenceRow, ins)
        if row is None:
            row = NoticePreferenceRow(patient_ins=ins, updated_at=uow.now())
            uow.session.add(row)
        row.enabled = preferences.enabled
        row.digest = preferences.digest.value
        row.updated_at = uow.now()
        await uow.session.flush()
        uow.audit(AuditAction.PATIENT_STATE_CHANGED, principal, target=ins, subject=ins,
                  detail=f"notices={'on' if preferences.enabled else 'off'} "
                         f"digest={preferences.digest.value}")

    await store.write(job)


async def wants_new_message_notice(uow: UnitOfWork, ins: str, recipient: str) -> bool:
    """Whether a new message should queue a notice now, by her preferences: never when
    off; with the daily digest, only if none was queued in the last DIGEST_PERIOD."""
    preferences = await preferences_of(uow.session, ins)
    if not preferences.enabled:
        return False
    if preferences.digest is Digest.EACH:
        return True
    recent = (await uow.session.execute(select(func.count()).select_from(NoticeRow).where(
        NoticeRow.kind == NoticeKind.NEW_MESSAGE.value, NoticeRow.recipient == recipient,
        NoticeRow.created_at > uow.now() - DIGEST_PERIOD))).scalar_one()
    return int(recent) == 0
