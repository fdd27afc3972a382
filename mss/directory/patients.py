"""Patients: space state (active / opposed / closed) and pharmacy dispensations.

State changes are audited with the patient as subject, so the holder can read them
(docs/architecture.md §9: access and traces). Dispensations feed the exception of MSS policy P2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.errors import UnknownPatient
from mss.directory.identifiers import check_ins, patient_address
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import Patient
from mss.identity import SYSTEM, PatientSpaceState, Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PatientInfo:
    ins: str
    first_name: str
    last_name: str
    birth_date: date
    notice_email: str
    state: PatientSpaceState


async def _patient(session: AsyncSession, ins: str) -> Patient | None:
    query = select(Patient).where(Patient.ins == ins)
    return (await session.execute(query)).scalar_one_or_none()


async def find_patient(source: ReadSource, ins: str) -> PatientInfo | None:
    async with reading_session(source) as session:
        row = await _patient(session, check_ins(ins))
        if row is None:
            return None
        return PatientInfo(row.ins, row.first_name, row.last_name, row.birth_date,
                           row.notice_email, PatientSpaceState(row.state))


async def set_patient_state(
    store: Store, ins: str, state: PatientSpaceState, *, principal: Principal = SYSTEM
) -> PatientSpaceState:
    """Change the space state and return the previous one; an unchanged state writes
    nothing, a change is audited with the patient as subject."""
    ins = check_ins(ins)
    address = patient_address(ins, store.settings.server.patient_domain)

    async def job(uow: UnitOfWork) -> PatientSpaceState:
        row = await _patient(uow.session, ins)
        if row is None:
            raise UnknownPatient(ins)
        previous = PatientSpaceState(row.state)
        if previous is state:
            return previous
        row.state = state.value
        row.state_changed_at = uow.now()
        await uow.session.flush()
        uow.audit(AuditAction.PATIENT_STATE_CHANGED, principal, target=address, subject=ins,
                  detail=f"{previous.value}->{state.value}")
        return previous

    return await store.write(job)
