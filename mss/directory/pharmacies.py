"""Pharmacies and their dispensations: the one place of the exception to MSS policy P2.

A patient writes only inside a conversation a professional opened (P2), except to a
pharmacy that dispensed to her in the past year (reimbursement data of the Assurance
Maladie; docs/architecture.md §9). A pharmacy is defined by the directory: an ORG
mailbox with a member whose profession is pharmacien (code 21 of the RPPS profession
nomenclature), not by the existence of a recorded dispensation. The rule itself (the
year, the comparison) is the policy's (`mss.policy.reply_rights`); this module gives it
the facts and records them.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.errors import DirectoryError
from mss.directory.identifiers import check_ins
from mss.directory.mailbox_lookup import mailbox_of_kind
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import Dispensation, OrgMember, Professional
from mss.identity import SYSTEM, MailboxKind, Principal
from mss.policy.reply_rights import DISPENSATION_WINDOW
from mss.store.audit_actions import AuditAction
from mss.store.insert_once import insert_once
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.thread_reads import PreparedRead, Reads, run_read
from mss.store.unit_of_work import UnitOfWork

PHARMACIST_PROFESSION = "21"  # RPPS profession code: pharmacien
# Dispensations read for the policy: a day more than its window, so that the policy's
# exact comparison (at a time of day) decides at the boundary.
DISPENSATION_LOOKBACK = DISPENSATION_WINDOW + timedelta(days=1)


class NotAPharmacy(DirectoryError):
    """A dispensation was recorded for a mailbox the directory does not know as a pharmacy."""


# Asked for every ORG correspondent of every message: built and compiled once.
_PHARMACIST_MEMBER = PreparedRead(
    select(OrgMember.professional_id)
    .join(Professional, Professional.id == OrgMember.professional_id)
    .where(OrgMember.org_mailbox_id == bindparam("b_mailbox"),
           Professional.profession_code == PHARMACIST_PROFESSION)
    .limit(1))
_RECENT_DISPENSATIONS = PreparedRead(
    select(Mailbox.address, Dispensation.dispensed_on)
    .join(Mailbox, Mailbox.id == Dispensation.pharmacy_mailbox_id)
    .where(Dispensation.patient_ins == bindparam("b_ins"),
           Dispensation.dispensed_on >= bindparam("b_since")))


def is_pharmacy_in(reads: Reads, mailbox_id: int) -> bool:
    """True when the ORG mailbox has a pharmacist (profession 21) among its members."""
    return reads.first(_PHARMACIST_MEMBER, b_mailbox=mailbox_id) is not None


async def is_pharmacy_mailbox(session: AsyncSession, mailbox_id: int) -> bool:
    return await run_read(session, lambda reads: is_pharmacy_in(reads, mailbox_id))


async def _pharmacy(session: AsyncSession, address: str) -> Mailbox:
    mailbox = await mailbox_of_kind(session, address, MailboxKind.ORG,
                                    f"dispensations belong to a pharmacy ORG mailbox: {address}")
    if not await is_pharmacy_mailbox(session, mailbox.id):
        raise NotAPharmacy(f"{mailbox.address} is not a pharmacy: no member is a pharmacist "
                           f"(profession {PHARMACIST_PROFESSION})")
    return mailbox


async def record_dispensation(
    store: Store, pharmacy_address: str, ins: str, dispensed_on: date,
    *, principal: Principal = SYSTEM,
) -> bool:
    """Record a dispensation; False when the same one was already recorded."""
    ins = check_ins(ins)

    async def job(uow: UnitOfWork) -> bool:
        pharmacy = await _pharmacy(uow.session, pharmacy_address)
        connection = await uow.core()
        recorded = (await connection.execute(
            insert_once(connection.dialect, Dispensation,
                        ["pharmacy_mailbox_id", "patient_ins", "dispensed_on"])
            .values(pharmacy_mailbox_id=pharmacy.id, patient_ins=ins, dispensed_on=dispensed_on)
            .returning(Dispensation.id))).first()
        if recorded is None:
            return False
        # closest event of the vocabulary: a fact imported from reimbursement data
        uow.audit(AuditAction.DIRECTORY_IMPORTED, principal, target=pharmacy.address,
                  subject=ins, detail=f"dispensation {dispensed_on.isoformat()}")
        return True

    return await store.write(job)


async def has_recent_dispensation(
    source: ReadSource, pharmacy_address: str, ins: str, *, today: date,
    window: timedelta = DISPENSATION_WINDOW,
) -> bool:
    """True when the pharmacy dispensed to the patient within the window before `today`."""
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


def recent_dispensations_in(reads: Reads, ins: str, *, today: date) -> list[tuple[str, date]]:
    """(pharmacy address, date) of the patient's dispensations the policy may count."""
    rows = reads.rows(_RECENT_DISPENSATIONS, b_ins=ins, b_since=today - DISPENSATION_LOOKBACK)
    return [(address, day) for address, day in rows]
