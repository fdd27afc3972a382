"""Which mailboxes a principal may send as (MSS policy T2).

- a professional: their own PER mailboxes, and ORG mailboxes where they hold send_as;
- an application: APP mailboxes of the application bound to its certificate;
- a patient: their own PAT mailbox (the webmail sends for them).
Disabled mailboxes send for nobody.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.org_members import rights_on_org
from mss.directory.principals import application_ident
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import Application, MailboxOwner, Patient, Professional
from mss.distinguished_names import dn_lookup_key
from mss.identity import MailboxKind, OrgRight, Principal, PrincipalKind
from mss.store.mailboxes import find_mailbox
from mss.store.tables import Mailbox


async def _owned_by(session: AsyncSession, principal: Principal, mailbox: Mailbox) -> bool:
    owner = await session.get(MailboxOwner, mailbox.id)
    if owner is None:
        return False
    kind = MailboxKind(mailbox.kind)
    if kind is MailboxKind.PER and principal.kind is PrincipalKind.PROFESSIONAL:
        pro = await session.get(Professional, owner.professional_id or -1)
        return pro is not None and pro.ident == principal.ident
    if kind is MailboxKind.APP and principal.kind is PrincipalKind.APPLICATION:
        app = await session.get(Application, owner.application_id or -1)
        return app is not None and (dn_lookup_key(application_ident(app))
                                    == dn_lookup_key(principal.ident))
    if kind is MailboxKind.PAT and principal.kind is PrincipalKind.PATIENT:
        patient = await session.get(Patient, owner.patient_id or -1)
        return patient is not None and patient.ins == principal.ident
    return False


async def may_send_as(source: ReadSource, principal: Principal, address: str) -> bool:
    """True when `principal` may use `address` as MAIL FROM (MSS policy T2)."""
    async with reading_session(source) as session:
        mailbox = await find_mailbox(session, address.strip())
        if mailbox is None or mailbox.disabled:
            return False
        if mailbox.kind == MailboxKind.ORG.value:
            if principal.kind is not PrincipalKind.PROFESSIONAL:
                return False
            rights = await rights_on_org(session, principal.ident, mailbox.address)
            return OrgRight.SEND_AS in rights
        return await _owned_by(session, principal, mailbox)
