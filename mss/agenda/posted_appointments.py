"""Appointments that an application (APP mailbox) posts as JSON through the HTTP API,
translated into the same iTIP changes a convocation by mail makes (RFC 5546 REQUEST and
CANCEL), and applied by `apply_change` with the same rules.

Invariants:
- the organiser is the authenticated APP mailbox, never a field of the body (docs/
  architecture.md §4: the sender shown is the principal);
- the patient must have an active space: an unknown one is not found, an opposed or
  closed one is refused with MSS policy R3's reason, and nothing changes;
- bad input is `PostedAppointmentInvalid` with one sentence; it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from mss.agenda.appointments import AgendaOutcome, apply_change
from mss.agenda.invitations import MAX_TEXT, Appointment, CalendarChange, Method
from mss.directory.identifiers import InvalidIdentifier, check_ins, ins_of_patient_address
from mss.directory.patients import find_patient
from mss.identity import PatientSpaceState, Principal
from mss.policy import Cause
from mss.policy.refusals import refusal
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork

MAX_UID = 300
MAX_DURATION = timedelta(days=31)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class PostedAppointmentInvalid(ValueError):
    """The JSON does not describe an appointment; the message says which field."""


class PatientNotFound(LookupError):
    """No patient space for this INS or address."""


class PatientUnavailable(PermissionError):
    """MSS policy R3: the patient opposed or closed her space."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PostedChange:
    patient_ins: str
    change: CalendarChange


def _text(data: dict[str, Any], name: str, *, required: bool = False, limit: int = MAX_TEXT
          ) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise PostedAppointmentInvalid(f"'{name}' must be a string")
    value = value.replace("\r", " ").replace("\n", " ").strip()
    if required and not value:
        raise PostedAppointmentInvalid(f"'{name}' is required")
    if len(value) > limit:
        raise PostedAppointmentInvalid(f"'{name}' is longer than {limit} characters")
    return value


def _instant(data: dict[str, Any], name: str) -> datetime:
    text = _text(data, name, required=True, limit=40)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PostedAppointmentInvalid(f"'{name}' is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise PostedAppointmentInvalid(f"'{name}' needs a UTC offset (e.g. +01:00 or Z)")
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed out of range by its offset
        raise PostedAppointmentInvalid(f"'{name}' is out of range") from None
    if not EARLIEST <= value < LATEST:
        raise PostedAppointmentInvalid(f"'{name}' is out of range")
    return value


def _sequence(data: dict[str, Any]) -> int:
    value = data.get("sequence", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise PostedAppointmentInvalid("'sequence' must be an integer from 0 to 2^31-1")
    return value


def patient_ins(value: object, patient_domain: str) -> str:
    """The INS the body names, as an INS or the patient's address."""
    if not isinstance(value, str) or not value.strip():
        raise PostedAppointmentInvalid("'patient' is required (INS or patient address)")
    text = value.strip()
    try:
        if "@" in text:
            ins = ins_of_patient_address(text, patient_domain)
            if ins is None:
                raise PostedAppointmentInvalid("'patient' is not a patient address here")
            return ins
        return check_ins(text)
    except InvalidIdentifier as error:
        raise PostedAppointmentInvalid(f"'patient': {error}") from None


def posted_request(data: object, patient_domain: str) -> PostedChange:
    """A JSON appointment as a REQUEST (RFC 5546 §3.2.2) of one event."""
    if not isinstance(data, dict):
        raise PostedAppointmentInvalid("the body must be a JSON object")
    ins = patient_ins(data.get("patient"), patient_domain)
    uid = _text(data, "uid", required=True, limit=MAX_UID)
    start = _instant(data, "start")
    end = _instant(data, "end")
    if not start < end <= start + MAX_DURATION:
        raise PostedAppointmentInvalid("'end' must be after 'start', within 31 days")
    all_day = data.get("all_day", False)
    if not isinstance(all_day, bool):
        raise PostedAppointmentInvalid("'all_day' must be true or false")
    appointment = Appointment(uid, _sequence(data), start, end, all_day,
                              _text(data, "summary"), _text(data, "location"), False)
    return PostedChange(ins, CalendarChange(Method.REQUEST, (appointment,)))


def posted_cancel(data: object, patient_domain: str) -> PostedChange:
    """A JSON cancellation as a CANCEL (RFC 5546 §3.2.5) of every occurrence of `uid`."""
    if not isinstance(data, dict):
        raise PostedAppointmentInvalid("the body must be a JSON object")
    ins = patient_ins(data.get("patient"), patient_domain)
    uid = _text(data, "uid", required=True, limit=MAX_UID)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)  # a CANCEL only names the UID
    appointment = Appointment(uid, _sequence(data), epoch, epoch, False, "", "", True)
    return PostedChange(ins, CalendarChange(Method.CANCEL, (appointment,)))


async def apply_posted(store: Store, principal: Principal, posted: PostedChange
                       ) -> AgendaOutcome:
    """Apply a posted change with the APP mailbox as organiser, in one transaction."""
    organizer = (principal.mailbox or "").lower()
    if not organizer:
        raise PermissionError("an application mailbox is needed")

    async def job(uow: UnitOfWork) -> AgendaOutcome:
        patient = await find_patient(uow.session, posted.patient_ins)
        if patient is None:
            raise PatientNotFound(posted.patient_ins)
        if patient.state is PatientSpaceState.OPPOSED:
            raise PatientUnavailable(refusal(Cause.PATIENT_OPPOSED).reason)
        if patient.state is PatientSpaceState.CLOSED:
            raise PatientUnavailable(refusal(Cause.PATIENT_CLOSED).reason)
        name = (await uow.session.execute(select(Mailbox.display_name).where(
            Mailbox.address == organizer))).scalar_one_or_none()
        return await apply_change(uow, posted.change, patient_ins=posted.patient_ins,
                                  organizer=organizer,
                                  organizer_name=name or principal.display_name or organizer,
                                  actor=principal, source="api")

    return await store.write(job)
