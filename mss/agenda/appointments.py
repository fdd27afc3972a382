"""The patient's appointments: changes applied from iCalendar (RFC 5546), and reads.

Invariants:
- an appointment is keyed by (patient, organiser mailbox, UID, occurrence): only the
  organiser that created it updates or cancels it; another sender's CANCEL with the
  same UID changes nothing (audited as ignored);
- a change older than what is stored (lower SEQUENCE, RFC 5546 §2.1.4) is ignored;
- a REQUEST or PUBLISH replaces every occurrence of its UID (a recurring event moved
  or shortened drops the occurrences it no longer has); a CANCEL marks them cancelled
  and keeps them, so the patient still sees what was called off;
- every change and every read is an audit row whose subject is the patient's INS, so
  it appears in her traces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from mss.agenda.invitations import Appointment, CalendarChange, Method
from mss.agenda.tables import AppointmentRow
from mss.directory.tables import Patient
from mss.identity import Principal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass
class AgendaOutcome:
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    ignored: int = 0
    reasons: list[str] = field(default_factory=list)  # why each ignored one was


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """One appointment occurrence as the patient's pages show it."""

    id: int
    organizer: str
    organizer_name: str
    uid: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    summary: str
    location: str
    cancelled: bool
    source: str
    message_ref: str


async def apply_change(
    uow: UnitOfWork, change: CalendarChange, *, patient_ins: str, organizer: str,
    organizer_name: str, actor: Principal | str, source: str, message_ref: str = "",
) -> AgendaOutcome:
    """Apply one iTIP object from `organizer` to the patient's agenda."""
    outcome = AgendaOutcome()
    audits: list[tuple[AuditAction, str, AuditOutcome, str]] = []  # written once flushed
    by_uid: dict[str, list[Appointment]] = defaultdict(list)
    for appointment in change.appointments:
        by_uid[appointment.uid].append(appointment)
    now = uow.now()
    # one patient's agenda changes one after the other across processes and nodes: two
    # deliveries of one invitation must not both find it missing and both insert it
    await uow.session.execute(
        select(Patient.id).where(Patient.ins == patient_ins).with_for_update())
    for uid, occurrences in by_uid.items():
        stored = list((await uow.session.execute(select(AppointmentRow).where(
            AppointmentRow.patient_ins == patient_ins, AppointmentRow.organizer == organizer,
            AppointmentRow.uid == uid))).scalars())
        sequence = max(o.sequence for o in occurrences)
        detail = f"uid={uid[:120]} organizer={organizer} sequence={sequence} via={source}" + (
            f" message={message_ref[:200]}" if message_ref else "")
        if stored and sequence < max(row.sequence for row in stored):
            outcome.ignored += 1
            outcome.reasons.append("older-sequence")
            audits.append((AuditAction.AGENDA_CALENDAR_IGNORED, uid, AuditOutcome.REFUSED,
                           detail + " reason=older-sequence"))
            continue
        if change.method is Method.CANCEL:
            if not stored:
                outcome.ignored += 1
                outcome.reasons.append("unknown-appointment")
                audits.append((AuditAction.AGENDA_CALENDAR_IGNORED, uid, AuditOutcome.REFUSED,
                               detail + " reason=unknown-appointment"))
                continue
            for row in stored:
                row.cancelled, row.sequence, row.updated_at = True, sequence, now
            outcome.cancelled += 1
            audits.append((AuditAction.AGENDA_APPOINTMENT_CANCELLED, uid, AuditOutcome.OK,
                           detail))
            continue
        existing = {row.recurrence_id: row for row in stored}
        kept = {o.recurrence_id for o in occurrences}
        for recurrence_id, dropped in existing.items():
            if recurrence_id not in kept:
                await uow.session.delete(dropped)
        for occurrence in occurrences:
            found = existing.get(occurrence.recurrence_id)
            if found is not None:
                row = found
            else:
                row = AppointmentRow(patient_ins=patient_ins, organizer=organizer, uid=uid,
                                     recurrence_id=occurrence.recurrence_id, created_at=now)
                uow.session.add(row)
            row.organizer_name = organizer_name[:300]
            row.sequence = occurrence.sequence
            row.starts_at, row.ends_at = occurrence.starts_at, occurrence.ends_at
            row.all_day = occurrence.all_day
            row.summary, row.location = occurrence.summary, occurrence.location
            row.cancelled = occurrence.cancelled
            row.source, row.message_ref = source, message_ref[:300]
            row.updated_at = now
        action = (AuditAction.AGENDA_APPOINTMENT_UPDATED if stored
                  else AuditAction.AGENDA_APPOINTMENT_CREATED)
        if stored:
            outcome.updated += 1
        else:
            outcome.created += 1
        audits.append((action, uid, AuditOutcome.OK, detail))
    await uow.session.flush()
    for action, target, result, detail in audits:
        uow.audit(action, actor, target=target[:300], outcome=result, subject=patient_ins,
                  detail=detail)
    return outcome


def _entry(row: AppointmentRow) -> AgendaEntry:
    return AgendaEntry(row.id, row.organizer, row.organizer_name, row.uid, row.starts_at,
                       row.ends_at, row.all_day, row.summary, row.location, row.cancelled,
                       row.source, row.message_ref)


async def read_agenda(store: Store, patient_ins: str, reader: Principal | str, *,
                      organizers: frozenset[str] | None = None,
                      why: str = "") -> list[AgendaEntry]:
    """The patient's appointments in time order, and an audit row saying who read them.
    `organizers` narrows to what those mailboxes sent (a professional sees only the
    appointments their own organisation sent)."""

    async def job(uow: UnitOfWork) -> list[AgendaEntry]:
        query = select(AppointmentRow).where(AppointmentRow.patient_ins == patient_ins)
        if organizers is not None:
            query = query.where(AppointmentRow.organizer.in_(sorted(organizers)))
        rows = (await uow.session.execute(
            query.order_by(AppointmentRow.starts_at, AppointmentRow.id))).scalars()
        entries = [_entry(row) for row in rows]
        uow.audit(AuditAction.AGENDA_READ, reader, target=f"agenda:{patient_ins}",
                  subject=patient_ins, detail=f"appointments={len(entries)}"
                  + (f" {why}" if why else ""))
        return entries

    return await store.write(job)
