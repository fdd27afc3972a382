"""Queries behind the access rules: whose record, who is in care, active break-glass.

A professional acts for their PER mailboxes and for the ORG mailboxes where they are a
member with the read right (docs/architecture.md §3); the patient is in their care when a
conversation (mss.pipeline conversations) joins one of those mailboxes, as sender or as the contact
set by Reply-To, to the patient's mailbox, or when the patient named them her médecin
traitant. A professional the patient blocked stands nowhere, whatever else holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.conversation_tables import ConversationRow
from mss.directory.tables import MailboxOwner, OrgMember, Patient, Professional
from mss.identity import MailboxKind, PatientSpaceState, Principal, PrincipalKind
from mss.store.tables import Mailbox
from mss.vault.access_rules import Standing, standing_of
from mss.vault.tables import AttendingPhysicianRow, BreakGlassGrantRow, ProfessionalBlockRow


@dataclass(frozen=True, slots=True)
class ProfessionalProfile:
    """What the directory says of a professional, as the matrix and the patient need it."""

    ident: str
    name: str
    profession_code: str
    profession_label: str
    specialty_code: str
    specialty_label: str


async def professional_profile(session: AsyncSession, ident: str) -> ProfessionalProfile | None:
    found = (await session.execute(select(Professional).where(Professional.ident == ident))
             ).scalar_one_or_none()
    if found is None:
        return None
    name = " ".join(p for p in (found.civility, found.first_name, found.last_name) if p)
    return ProfessionalProfile(found.ident, name, found.profession_code,
                               found.profession_label, found.specialty_code,
                               found.specialty_label)


async def attending_physician(session: AsyncSession, ins: str) -> str | None:
    row = await session.get(AttendingPhysicianRow, ins)
    return row.professional if row is not None else None


async def is_blocked(session: AsyncSession, ins: str, ident: str) -> bool:
    return await session.get(ProfessionalBlockRow, (ins, ident)) is not None


async def blocked_professionals(session: AsyncSession, ins: str) -> set[str]:
    found = await session.execute(select(ProfessionalBlockRow.professional)
                                  .where(ProfessionalBlockRow.patient_ins == ins))
    return set(found.scalars().all())


async def professionals_in_care(session: AsyncSession, record: PatientRecord) -> set[str]:
    """Every professional a conversation with the patient puts in care, and her médecin
    traitant: those who may see her documents, as the patient chooses among them."""
    mailboxes = select(ConversationRow.professional).where(
        ConversationRow.patient == record.address).union(
        select(ConversationRow.contact).where(ConversationRow.patient == record.address,
                                              ConversationRow.contact.is_not(None)))
    addresses = {a for (a,) in (await session.execute(mailboxes)).all() if a}
    idents: set[str] = set()
    if addresses:
        owners = await session.execute(
            select(Professional.ident)
            .join(MailboxOwner, MailboxOwner.professional_id == Professional.id)
            .join(Mailbox, Mailbox.id == MailboxOwner.mailbox_id)
            .where(Mailbox.address.in_(addresses), Mailbox.kind == MailboxKind.PER.value,
                   Mailbox.disabled.is_(False)))
        members = await session.execute(
            select(Professional.ident)
            .join(OrgMember, OrgMember.professional_id == Professional.id)
            .join(Mailbox, Mailbox.id == OrgMember.org_mailbox_id)
            .where(Mailbox.address.in_(addresses), OrgMember.can_read.is_(True),
                   Mailbox.disabled.is_(False)))
        idents = set(owners.scalars().all()) | set(members.scalars().all())
    if (physician := await attending_physician(session, record.ins)) is not None:
        idents.add(physician)
    return idents


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
    if await is_blocked(session, record.ins, principal.ident):
        return Standing.BLOCKED
    in_care = (await attending_physician(session, record.ins) == principal.ident
               or await is_in_care(session, principal.ident, record.address))
    grant = None if in_care else await active_grant(session, principal.ident, record.ins, now)
    return standing_of(is_owner=False, in_care=in_care, break_glass=grant is not None)
