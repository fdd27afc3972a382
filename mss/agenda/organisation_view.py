"""What a professional in care sees of a patient's agenda: the appointments their own
organisation sent (docs/agenda.md §Professionals).

"Their organisation" is the mailboxes they act for (their PER mailbox, the ORG mailboxes
they may read, mss.vault.care) and the APP mailboxes of the same structure as those
ORG mailboxes (the hospital's scheduling software). A professional not in care (no
conversation with the patient through those mailboxes) sees nothing; each read is
audited with the patient as subject.
"""

from __future__ import annotations

from sqlalchemy import select

from mss.agenda.appointments import AgendaEntry, read_agenda
from mss.directory.tables import Application, MailboxOwner
from mss.identity import MailboxKind, Principal
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.vault.care import is_in_care, patient_record, professional_mailboxes


class NotInCare(PermissionError):
    """The professional has no care relation with this patient."""


async def organisation_mailboxes(store: Store, professional_ident: str) -> frozenset[str]:
    async with store.reading() as session:
        mailboxes = await professional_mailboxes(session, professional_ident)
        if not mailboxes:
            return frozenset()
        structures = {s for (s,) in (await session.execute(
            select(MailboxOwner.structure_name).join(Mailbox, Mailbox.id == MailboxOwner.mailbox_id)
            .where(Mailbox.address.in_(sorted(mailboxes)),
                   Mailbox.kind == MailboxKind.ORG.value))).all() if s}
        apps: set[str] = set()
        if structures:
            apps = {a for (a,) in (await session.execute(
                select(Mailbox.address).join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
                .join(Application, Application.id == MailboxOwner.application_id)
                .where(Mailbox.kind == MailboxKind.APP.value,
                       Application.owner_structure.in_(sorted(structures))))).all()}
    return frozenset(m.lower() for m in mailboxes | apps)


async def organisation_appointments(store: Store, principal: Principal, patient_ins: str
                                    ) -> list[AgendaEntry]:
    """The patient's appointments sent by the professional's organisation."""
    async with store.reading() as session:
        record = await patient_record(session, patient_ins)
        in_care = record is not None and await is_in_care(session, principal.ident,
                                                          record.address)
    if not in_care:
        raise NotInCare(patient_ins)
    organizers = await organisation_mailboxes(store, principal.ident)
    return await read_agenda(store, patient_ins, principal, organizers=organizers,
                             why="as=professional-in-care")
