"""Who acts for a mailbox (docs/architecture.md §3): the Principal of its owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.tables import Application, MailboxOwner, Patient, Professional
from mss.identity import MailboxKind, PatientSpaceState, Principal, PrincipalKind
from mss.store.tables import Mailbox


def professional_name(professional: Professional) -> str:
    return " ".join(p for p in (professional.first_name, professional.last_name) if p)


def application_ident(application: Application) -> str:
    """An application acts under its certificate subject; the name stands in until a
    certificate is bound (local installs with a password)."""
    return application.certificate_dn or application.name


async def principal_for_mailbox(session: AsyncSession, mailbox: Mailbox) -> Principal | None:
    """The owner of a PER, PAT or APP mailbox acting through it; None for ORG mailboxes
    (members act as themselves), disabled mailboxes and closed patient spaces.

    A patient who opposed may still sign in: to read what they had, and to reactivate
    their space (they cannot send: `mss.pipeline` grants sending to active spaces only).
    """
    if mailbox.disabled:
        return None
    owner = await session.get(MailboxOwner, mailbox.id)
    if owner is None:
        return None
    kind = MailboxKind(mailbox.kind)
    if kind is MailboxKind.PER and owner.professional_id is not None:
        pro = await session.get(Professional, owner.professional_id)
        if pro is not None:
            return Principal(
                PrincipalKind.PROFESSIONAL, pro.ident, professional_name(pro), mailbox.address
            )
    if kind is MailboxKind.PAT and owner.patient_id is not None:
        patient = await session.get(Patient, owner.patient_id)
        if patient is not None and patient.state != PatientSpaceState.CLOSED.value:
            name = f"{patient.first_name} {patient.last_name}".strip()
            return Principal(PrincipalKind.PATIENT, patient.ins, name, mailbox.address)
    if kind is MailboxKind.APP and owner.application_id is not None:
        app = await session.get(Application, owner.application_id)
        if app is not None:
            return Principal(
                PrincipalKind.APPLICATION, application_ident(app), app.name, mailbox.address
            )
    return None


async def closed_space_since(session: AsyncSession, mailbox: Mailbox) -> datetime | None:
    """When the patient space of this PAT mailbox was closed; None when it is not one or
    not closed (a closed space explains itself at sign-in, once the password is right)."""
    if MailboxKind(mailbox.kind) is not MailboxKind.PAT:
        return None
    owner = await session.get(MailboxOwner, mailbox.id)
    if owner is None or owner.patient_id is None:
        return None
    patient = await session.get(Patient, owner.patient_id)
    if patient is None or patient.state != PatientSpaceState.CLOSED.value:
        return None
    return patient.state_changed_at


async def professional_by_ident(session: AsyncSession, ident: str) -> Professional | None:
    query = select(Professional).where(Professional.ident == ident)
    return (await session.execute(query)).scalar_one_or_none()
