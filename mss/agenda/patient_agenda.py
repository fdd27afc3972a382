"""What the patient does with her own agenda: her own events, her reminder settings
(docs/agenda.md).

Invariants:
- her own events are appointments whose organiser is her own mailbox (source
  "patient"): nobody else updates or deletes them, and she deletes only those (an
  appointment a professional sent is cancelled by its organiser only);
- every change is an audit row with her INS as subject, so it is in her traces.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from mss.agenda.appointments import AgendaOutcome, apply_change
from mss.agenda.invitations import MAX_TEXT, Appointment, CalendarChange, Method
from mss.agenda.tables import AgendaSettingsRow, AppointmentRow
from mss.identity import Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

OWN_SOURCE = "patient"
MAX_OWN_DURATION = timedelta(days=31)
REMINDER_CHOICES = (60, 3 * 60, 24 * 60, 2 * 24 * 60, 7 * 24 * 60)  # minutes before
DEFAULT_REMINDER_MINUTES = 24 * 60


class OwnEventInvalid(ValueError):
    """The event form is not usable; the message says which field (FR / EN)."""


@dataclass(frozen=True, slots=True)
class AgendaSettings:
    reminders_enabled: bool = True
    reminder_minutes: int = DEFAULT_REMINDER_MINUTES


def _owner(principal: Principal) -> tuple[str, str]:
    if principal.kind.value != "patient" or not principal.mailbox:
        raise PermissionError("only the patient changes her own agenda")
    return principal.ident, principal.mailbox.lower()


async def add_own_event(store: Store, principal: Principal, *, starts_at: datetime,
                        ends_at: datetime, all_day: bool, summary: str, location: str
                        ) -> AgendaOutcome:
    """A new event of the patient herself (an RFC 5546 PUBLISH she organises)."""
    ins, mailbox = _owner(principal)
    summary, location = summary.strip(), location.strip()
    if not summary:
        raise OwnEventInvalid("Donnez un titre. / Give a title.")
    if len(summary) > MAX_TEXT or len(location) > MAX_TEXT:
        raise OwnEventInvalid(f"{MAX_TEXT} caractères au plus. / At most {MAX_TEXT} "
                              "characters.")
    if not starts_at < ends_at <= starts_at + MAX_OWN_DURATION:
        raise OwnEventInvalid("La fin doit suivre le début (31 jours au plus). / The end "
                              "must follow the start (31 days at most).")
    uid = f"{secrets.token_hex(12)}@{mailbox.partition('@')[2]}"
    change = CalendarChange(Method.PUBLISH, (Appointment(
        uid, 0, starts_at, ends_at, all_day, summary, location, False),))

    async def job(uow: UnitOfWork) -> AgendaOutcome:
        return await apply_change(uow, change, patient_ins=ins, organizer=mailbox,
                                  organizer_name=principal.display_name, actor=principal,
                                  source=OWN_SOURCE)

    return await store.write(job)


async def delete_own_event(store: Store, principal: Principal, appointment_id: int) -> bool:
    """Delete one of her own events; False (nothing changes) for anything else."""
    ins, mailbox = _owner(principal)

    async def job(uow: UnitOfWork) -> bool:
        row = (await uow.session.execute(select(AppointmentRow).where(
            AppointmentRow.id == appointment_id, AppointmentRow.patient_ins == ins,
            AppointmentRow.organizer == mailbox, AppointmentRow.source == OWN_SOURCE))
        ).scalar_one_or_none()
        if row is None:
            return False
        uid = row.uid
        await uow.session.delete(row)
        await uow.session.flush()
        uow.audit(AuditAction.AGENDA_APPOINTMENT_DELETED, principal, target=uid[:300],
                  subject=ins, detail="own event")
        return True

    return await store.write(job)


async def agenda_settings(store: Store, patient_ins: str) -> AgendaSettings:
    async with store.reading() as session:
        row = await session.get(AgendaSettingsRow, patient_ins)
    if row is None:
        return AgendaSettings()
    return AgendaSettings(row.reminders_enabled, row.reminder_minutes)


async def save_agenda_settings(store: Store, principal: Principal, settings: AgendaSettings
                               ) -> None:
    """Her reminder choices (on/off, how long before); audited."""
    ins, _ = _owner(principal)
    if settings.reminder_minutes not in REMINDER_CHOICES:
        raise OwnEventInvalid("Délai de rappel inconnu. / Unknown reminder delay.")

    async def job(uow: UnitOfWork) -> None:
        row = await uow.session.get(AgendaSettingsRow, ins)
        if row is None:
            row = AgendaSettingsRow(patient_ins=ins)
            uow.session.add(row)
        row.reminders_enabled = settings.reminders_enabled
        row.reminder_minutes = settings.reminder_minutes
        row.updated_at = uow.now()
        await uow.session.flush()
        uow.audit(AuditAction.AGENDA_SETTINGS_CHANGED, principal, target=f"agenda:{ins}",
                  subject=ins, detail=f"reminders={'on' if settings.reminders_enabled else 'off'}"
                                      f" minutes={settings.reminder_minutes}")

    await store.write(job)
