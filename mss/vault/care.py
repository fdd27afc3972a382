"""Queries behind the access rules: whose record, who is in care, active break-glass.

A professional acts for their PER mailboxes and for the ORG mailboxes where they are a
member with the read right (DESIGN §3); the patient is in their care when a conversation
(mss.pipeline conversations) joins one of those mailboxes, as sender or as the contact
set by Reply-To, to the patient's mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.tables import MailboxOwner, OrgMember, Patient, Professional
from mss.identity import MailboxKind, PatientSpaceState, Principal, PrincipalKind
from mss.pipeline.tables import ConversationRow
from mss.store.tables import Mailbox
from mss.vault.access_rules import Standing, standing_of
from mss.vault.tables import BreakGlassGrantRow


@dataclass(frozen=True, slots=True)
class PatientRecord:
    ins: str
    address: str
    mailbox_id: int
    state: PatientSpaceState
    notice_email: str


async def patient_record(session: AsyncSession, ins: str) -> PatientRecord | None:
    row = (
        await session.execute(
            select(Patient.ins, Mailbox.address, Mailbox.id, Patient.state, Patient.notice_email)
            .join(MailboxOwner, MailboxOwner.patient_id == Patient.id)
            .join(Mailbox, Mailbox.id == MailboxOwner.mailbox_id)
            .where(Patient.ins == ins.strip().upper())
        )
    ).first()
    if row is None:
        return None
    return PatientRecord(row[0], row[1], row[2], PatientSpaceState(row[3]), row[4])


async def professional_mailboxes(session: AsyncSession, ident: str) -> set[str]:
    """Mailboxes the professional acts for: own PER, ORG with the read right."""
    own = await session.execute(
        select(Mailbox.address)
        .join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
        .join(Professional, Professional.id == MailboxOwner.professional_id)
        .where(Professional.ident == ident, Mailbox.kind == MailboxKind.PER.value,
               Mailbox.disabled.is_(False))
    )
    orgs = await session.execute(
        select(Mailbox.address)
        .join(OrgMember, OrgMember.org_mailbox_id == Mailbox.id)
        .join(Professional, Professional.id == OrgMember.professional_id)
        .where(Professional.ident == ident, OrgMember.can_read.is_(True),
               Mailbox.disabled.is_(False))
    )
    return {a for (a,) in own.all()} | {a for (a,) in orgs.all()}


async def is_in_care(session: AsyncSession, ident: str, patient_address: str) -> bool:
    mailboxes = await professional_mailboxes(session, ident)
    if not mailboxes:
        return False
    found = await session.execute(
        select(ConversationRow.id).where(
            ConversationRow.patient == patient_address,
            or_(ConversationRow.professional.in_(mailboxes),
                ConversationRow.contact.in_(mailboxes)),
        ).limit(1)
    )
    return found.first() is not None


async def active_grant(
    session: AsyncSession, ident: str, ins: str, now: datetime
) -> BreakGlassGrantRow | None:
    query = (
        select(BreakGlassGrantRow)
        .where(BreakGlassGrantRow.professional == ident, BreakGlassGrantRow.patient_ins == ins,
               BreakGlassGrantRow.expires_at > now)
        .order_by(BreakGlassGrantRow.expires_at.desc()).limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def professional_exists(session: AsyncSession, ident: str) -> bool:
    found = await session.execute(select(Professional.id).where(Professional.ident == ident))
    return found.first() is not None


async def standing(
    session: AsyncSession, principal: Principal, record: PatientRecord, now: datetime
) -> Standing:
    """How `principal` stands towards the record (see mss.vault.access_rules)."""
    if principal.kind is PrincipalKind.PATIENT:
        return standing_of(is_owner=principal.ident.upper() == record.ins, in_care=False,
                           break_glass=False)
    if principal.kind is not PrincipalKind.PROFESSIONAL:
        return Standing.NONE
    in_care = await is_in_care(session, principal.ident, record.address)
    grant = None if in_care else await active_grant(session, principal.ident, record.ins, now)
    return standing_of(is_owner=False, in_care=in_care, break_glass=grant is not None)
