"""Which mailboxes a principal may open, with which rights.

The IMAP server (and any other reader) asks here, never the tables: a principal sees
its own mailbox (or the ORG mailbox it logged in to as authorisation identity) and,
for a professional, every ORG mailbox where they hold the read right (docs/architecture.md §3).

Rights are RFC 4314 letters: an owner holds every right; an ORG member with `read`
holds ``lrs`` (look up, read, keep their own ``\\Seen``) and with `manage` every right.
`send_as` is a submission right and gives nothing here. What a reader then reads of a
folder is `mss.store.folder_reads`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.org_members import member_rights, org_members
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import OrgMember, Professional
from mss.identity import MailboxKind, OrgRight, Principal, PrincipalKind
from mss.store.tables import Mailbox

OWNER_RIGHTS = "lrswipkxtea"  # RFC 4314 §2.1 (c and d are the obsolete RFC 2086 forms)
READ_RIGHTS = "lrs"


@dataclass(frozen=True, slots=True)
class MailAccess:
    """One mailbox a principal may open.

    `reader` is the member's identifier for private flags (ORG mailboxes), else None;
    `shared` marks a mailbox shown in the shared namespace rather than as the
    principal's own.
    """

    mailbox_id: int
    address: str
    kind: MailboxKind
    rights: str
    reader: str | None
    shared: bool
    quota_bytes: int

    def may(self, right: str) -> bool:
        return right in self.rights


def rights_letters(rights: frozenset[OrgRight]) -> str:
    """RFC 4314 letters for the membership rights of docs/architecture.md §3."""
    if OrgRight.MANAGE in rights:
        return OWNER_RIGHTS
    if OrgRight.READ in rights:
        return READ_RIGHTS
    return ""


async def mail_access_for(source: ReadSource, principal: Principal) -> list[MailAccess]:
    """The principal's own mailbox first, then the ORG mailboxes it may read."""
    found: list[MailAccess] = []
    async with reading_session(source) as session:
        own = None
        if principal.mailbox:
            own = (
                await session.execute(
                    select(Mailbox).where(Mailbox.address == principal.mailbox.lower())
                )
            ).scalar_one_or_none()
        if own is not None and not own.disabled:
            kind = MailboxKind(own.kind)
            if kind is MailboxKind.ORG:
                letters = rights_letters(
                    await _membership(session, principal.ident, own.id)
                )
                if letters:
                    found.append(MailAccess(own.id, own.address, kind, letters,
                                            principal.ident, False, own.quota_bytes))
            else:
                found.append(MailAccess(own.id, own.address, kind, OWNER_RIGHTS, None,
                                        False, own.quota_bytes))
        if principal.kind is PrincipalKind.PROFESSIONAL:
            query = (
                select(Mailbox, OrgMember)
                .join(OrgMember, OrgMember.org_mailbox_id == Mailbox.id)
                .join(Professional, Professional.id == OrgMember.professional_id)
                .where(
                    Professional.ident == principal.ident,
                    Mailbox.kind == MailboxKind.ORG.value,
                    Mailbox.disabled.is_(False),
                    OrgMember.can_read.is_(True),
                )
                .order_by(Mailbox.address)
            )
            for mailbox, member in (await session.execute(query)).all():
                if own is not None and mailbox.id == own.id:
                    continue
                found.append(MailAccess(
                    mailbox.id, mailbox.address, MailboxKind.ORG,
                    rights_letters(member_rights(member)), principal.ident, True,
                    mailbox.quota_bytes,
                ))
    return found


async def _membership(
    session: AsyncSession, ident: str, org_mailbox_id: int
) -> frozenset[OrgRight]:
    query = (
        select(OrgMember)
        .join(Professional, Professional.id == OrgMember.professional_id)
        .where(Professional.ident == ident, OrgMember.org_mailbox_id == org_mailbox_id)
    )
    row = (await session.execute(query)).scalar_one_or_none()
    return member_rights(row) if row is not None else frozenset()


async def access_control_list(
    session: AsyncSession, access: MailAccess, principal: Principal
) -> list[tuple[str, str]]:
    """RFC 4314 GETACL: (identifier, rights) pairs; members of an ORG mailbox by RPPS."""
    if access.kind is not MailboxKind.ORG:
        return [(principal.ident, OWNER_RIGHTS)]
    members = await org_members(session, access.mailbox_id)
    pairs = [(m.ident, rights_letters(m.rights)) for m in members]
    return [(ident, letters) for ident, letters in pairs if letters]
