"""Appointment changes on the store: create, update by SEQUENCE, cancel, who may."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from mss.agenda.appointments import apply_change, read_agenda
from mss.agenda.invitations import read_calendar
from mss.store.tables import AuditEvent

from .calendars import convocation

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
INS = "279035121518989"
HOSPITAL = "rdv@hopital.mss.localhost"
OTHER = "dr.other@mss.localhost"


async def change(store, data: bytes, organizer: str = HOSPITAL):
    parsed = read_calendar(data, now=NOW)

    async def job(uow):
        return await apply_change(uow, parsed, patient_ins=INS, organizer=organizer,
                                  organizer_name="Hôpital", actor=f"mailbox:{organizer}",
                                  source="message", message_ref="<m@x>")

    return await store.write(job)


async def test_a_request_creates_then_a_higher_sequence_moves_it(store) -> None:
    assert (await change(store, convocation())).created == 1
    moved = await change(store, convocation(sequence=1, start="20261216T140000"))
    assert moved.updated == 1
    (entry,) = await read_agenda(store, INS, "patient:" + INS)
    assert entry.starts_at == datetime(2026, 12, 16, 13, 0, tzinfo=UTC)
    assert entry.organizer == HOSPITAL and not entry.cancelled


async def test_an_older_sequence_is_ignored(store) -> None:
    await change(store, convocation(sequence=3, start="20261216T140000"))
    stale = await change(store, convocation(sequence=2, start="20261220T090000"))
    assert stale.ignored == 1
    (entry,) = await read_agenda(store, INS, "patient:" + INS)
    assert entry.starts_at == datetime(2026, 12, 16, 13, 0, tzinfo=UTC)


async def test_only_the_organiser_cancels(store) -> None:
    await change(store, convocation())
    foreign = await change(store, convocation(method="CANCEL"), organizer=OTHER)
    assert foreign.ignored == 1 and foreign.cancelled == 0
    assert not (await read_agenda(store, INS, "patient:" + INS))[0].cancelled
    own = await change(store, convocation(method="CANCEL"))
    assert own.cancelled == 1
    (entry,) = await read_agenda(store, INS, "patient:" + INS)
    assert entry.cancelled  # kept, shown as cancelled


async def test_a_recurring_event_shortened_drops_its_extra_occurrences(store) -> None:
    await change(store, convocation(extra="RRULE:FREQ=WEEKLY;COUNT=6"))
    assert len(await read_agenda(store, INS, "patient:" + INS)) == 6
    await change(store, convocation(sequence=1, extra="RRULE:FREQ=WEEKLY;COUNT=3"))
    assert len(await read_agenda(store, INS, "patient:" + INS)) == 3


async def test_every_change_and_read_is_in_the_patients_trace(store) -> None:
    await change(store, convocation())
    await change(store, convocation(method="CANCEL"), organizer=OTHER)
    await read_agenda(store, INS, "professional:10000000009", organizers=frozenset({OTHER}))
    async with store.reading() as session:
        rows = (await session.execute(select(AuditEvent.action, AuditEvent.outcome)
                                      .where(AuditEvent.subject == INS)
                                      .order_by(AuditEvent.seq))).all()
    assert [tuple(r) for r in rows] == [("agenda.appointment_created", "ok"),
                                        ("agenda.calendar_ignored", "refused"),
                                        ("agenda.read", "ok")]


async def test_a_professional_sees_only_what_their_organisation_sent(store) -> None:
    await change(store, convocation())
    await change(store, convocation(uid="other@x"), organizer=OTHER)
    seen = await read_agenda(store, INS, "professional:1", organizers=frozenset({OTHER}))
    assert [e.uid for e in seen] == ["other@x"]
