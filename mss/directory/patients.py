"""Patients: space state (active / opposed / closed) and pharmacy dispensations.

State changes are audited with the patient as subject, so the holder can read them
(docs/architecture.md §9: access and traces). Dispensations feed the exception of MSS policy P2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.errors import UnknownPatient
from mss.directory.identifiers import check_ins, patient_address
from mss.directory.mailbox_lookup import mailbox_of_kind
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import Dispensation, Patient
from mss.identity import SYSTEM, MailboxKind, PatientSpaceState, Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork

DISPENSATION_WINDOW = timedelta(days=365)  # "in the past year" (docs/architecture.md §9)


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


async def _pharmacy(session: AsyncSession, address: str) -> Mailbox:
    return await mailbox_of_kind(session, address, MailboxKind.ORG,
                                 f"dispensations belong to a pharmacy ORG mailbox: {address}")


async def record_dispensation(
    store: Store, pharmacy_address: str, ins: str, dispensed_on: date,
    *, principal: Principal = SYSTEM,
) -> bool:
    """Record a dispensation; False when the same one was already recorded."""
    ins = check_ins(ins)

    async def job(uow: UnitOfWork) -> bool:
        pharmacy = await _pharmacy(uow.session, pharmacy_address)
        query = select(Dispensation.id).where(
            Dispensation.pharmacy_mailbox_id == pharmacy.id,
            Dispensation.patient_ins == ins, Dispensation.dispensed_on == dispensed_on,
        )
        if (await uow.session.execute(query)).first() is not None:
            return False
        uow.session.add(Dispensation(pharmacy_mailbox_id=pharmacy.id, patient_ins=ins,
                                     dispensed_on=dispensed_on))
        await uow.session.flush()
        # closest event of the vocabulary: a fact imported from reimbursement data
        uow.audit(AuditAction.DIRECTORY_IMPORTED, principal, target=pharmacy.address,
                  subject=ins, detail=f"dispensation {dispensed_on.isoformat()}")
        return True

    return await store.write(job)


async def has_recent_dispensation(
    source: ReadSource, pharmacy_address: str, ins: str, *, today: date,
    window: timedelta = DISPENSATION_WINDOW,
) -> bool:
    """True when the pharmacy dispensed to the patient within the window before `today`
    (MSS policy P2 exception)."""
    async with reading_session(source) as session:
        query = (
            select(Dispensation.id)
            .join(Mailbox, Mailbox.id == Dispensation.pharmacy_mailbox_id)
            .where(
                Mailbox.address == pharmacy_address.strip().lower(),
                Mailbox.kind == MailboxKind.ORG.value,
                Dispensation.patient_ins == ins.strip().upper(),
                Dispensation.dispensed_on >= today - window,
                Dispensation.dispensed_on <= today,
            )
            .limit(1)
        )
        return (await session.execute(query)).first() is not None
