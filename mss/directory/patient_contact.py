"""The patient's personal e-mail address for notices (docs/architecture.md §9: the patient is told
of each new message there). A change is audited with the patient as subject."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from mss.directory.errors import UnknownPatient
from mss.directory.identifiers import check_ins
from mss.directory.tables import Patient
from mss.identity import Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


class InvalidNoticeAddress(ValueError):
    pass


def checked_notice_address(address: str) -> str:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidNoticeAddress(str(exc)) from None


async def set_notice_email(store: Store, ins: str, address: str, *,
                           principal: Principal) -> str:
    ins = check_ins(ins)
    normalized = checked_notice_address(address)

    async def job(uow: UnitOfWork) -> str:
        row = (await uow.session.execute(select(Patient).where(Patient.ins == ins))
               ).scalar_one_or_none()
        if row is None:
            raise UnknownPatient(ins)
        if row.notice_email != normalized:
            row.notice_email = normalized
            await uow.session.flush()
            # the closest event of the vocabulary; the address itself stays out of the trail
            uow.audit(AuditAction.PATIENT_STATE_CHANGED, principal, target="notice_email",
                      subject=ins, detail="notice address changed")
        return normalized

    return await store.write(job)
