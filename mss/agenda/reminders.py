"""Reminders before an appointment: a notice without health data ("Vous avez un rappel
dans votre espace santé") to the patient's personal address, sent once, exactly once
across restarts and nodes (docs/agenda.md §Reminders).

Invariants:
- a reminder is due when the occurrence is not cancelled, has not started, and starts
  within the patient's delay (her settings: on by default, one day before);
- the claim row (`agenda_reminders`, unique per occurrence and start time) and the
  notice row are inserted in one transaction: both commit or neither. A second node (or
  the same node after a restart) inserting the same claim fails on the unique key inside
  its own savepoint and skips it, so the notice is queued exactly once; the notice queue
  then delivers it durably (mss.notify);
- nothing of the appointment (title, place, organiser, time) reaches the notice;
- time is the store's injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError

from mss.agenda.patient_agenda import DEFAULT_REMINDER_MINUTES, REMINDER_CHOICES
from mss.agenda.tables import AgendaSettingsRow, AppointmentRow, ReminderClaimRow
from mss.background import PeriodicPass
from mss.directory.tables import Patient
from mss.event_log import event
from mss.identity import PatientSpaceState
from mss.notify.notice_queue import add_notice
from mss.notify.notice_text import NoticeKind
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
LONGEST_DELAY = timedelta(minutes=max(REMINDER_CHOICES))
PASS_SECONDS = 60.0
BATCH = 200


@dataclass(frozen=True, slots=True)
class DueReminder:
    appointment_id: int
    patient_ins: str
    starts_at: datetime


async def due_reminders(store: Store, now: datetime, *, limit: int = BATCH
                        ) -> list[DueReminder]:
    """Occurrences whose reminder time has come and that nobody claimed yet."""
    claimed = exists().where(and_(ReminderClaimRow.appointment_id == AppointmentRow.id,
                                  ReminderClaimRow.starts_at == AppointmentRow.starts_at))
    query = (select(AppointmentRow.id, AppointmentRow.patient_ins, AppointmentRow.starts_at,
                    AgendaSettingsRow.reminders_enabled, AgendaSettingsRow.reminder_minutes)
             .outerjoin(AgendaSettingsRow,
                        AgendaSettingsRow.patient_ins == AppointmentRow.patient_ins)
             .where(AppointmentRow.cancelled.is_(False), AppointmentRow.starts_at > now,
                    AppointmentRow.starts_at <= now + LONGEST_DELAY, ~claimed)
             .order_by(AppointmentRow.starts_at, AppointmentRow.id).limit(limit))
    async with store.reading() as session:
        rows = (await session.execute(query)).all()
    due = []
    for appointment_id, ins, starts_at, enabled, minutes in rows:
        if enabled is False:
            continue
        delay = timedelta(minutes=minutes if minutes else DEFAULT_REMINDER_MINUTES)
        if starts_at - delay <= now:
            due.append(DueReminder(appointment_id, ins, starts_at))
    return due


class ReminderService(PeriodicPass):
    """Claims due reminders and queues their notices; runs in every node's main process
    (the claim makes that safe). `wake_notices` tells the notice worker."""

    name = "agenda-reminders"

    def __init__(self, store: Store, *, node_id: str = "",
                 wake_notices: Callable[[], None] | None = None,
                 pass_seconds: float = PASS_SECONDS) -> None:
        super().__init__(pass_seconds=pass_seconds)
        self.store = store
        self.node_id = node_id
        self.wake_notices = wake_notices or (lambda: None)

    async def run_once(self) -> int:
        """Queue the notices of the reminders due now; how many this pass queued."""
        now = self.store.clock.now()
        queued = 0
        for due in await due_reminders(self.store, now):
            if await self._claim(due):
                queued += 1
        if queued:
            self.wake_notices()
        return queued

    async def _claim(self, due: DueReminder) -> bool:
        async def job(uow: UnitOfWork) -> bool:
            try:
                async with uow.session.begin_nested():
                    claim = ReminderClaimRow(appointment_id=due.appointment_id,
                                             starts_at=due.starts_at,
                                             claimed_by=self.node_id[:100],
                                             claimed_at=uow.now())
                    uow.session.add(claim)
                    await uow.session.flush()
            except IntegrityError:
                return False  # another node or an earlier pass claimed it
            patient = (await uow.session.execute(select(Patient.notice_email, Patient.state)
                                                 .where(Patient.ins == due.patient_ins))
                       ).one_or_none()
            if patient is not None and patient[1] == PatientSpaceState.ACTIVE.value:
                claim.notice_id = await add_notice(uow, NoticeKind.REMINDER, patient[0])
            await uow.session.flush()
            uow.audit(AuditAction.AGENDA_REMINDER_QUEUED, "system:mss",
                      target=f"appointment:{due.appointment_id}", subject=due.patient_ins,
                      detail=f"starts={due.starts_at.isoformat()} "
                             f"notice={'queued' if claim.notice_id else 'none'}")
            return claim.notice_id is not None

        try:
            queued = await self.store.write(job)
        except IntegrityError:
            return False  # the claim lost a race at commit (the other one holds it)
        if queued:
            event(AuditAction.AGENDA_REMINDER_QUEUED, appointment=due.appointment_id)
        return queued

    async def one_pass(self) -> None:
        while await self.run_once() >= BATCH:
            pass
