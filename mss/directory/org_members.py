"""Members of ORG mailboxes and their rights (docs/architecture.md §3: read / send-as / manage).

A member is a professional; the CLI names them by RPPS/ADELI or by their PER address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.errors import MailboxKindRule, UnknownProfessional
from mss.directory.mailbox_lookup import mailbox_of_kind
from mss.directory.principals import professional_by_ident, professional_name
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import MailboxOwner, OrgMember, Professional
from mss.identity import SYSTEM, MailboxKind, OrgRight, Principal
from mss.store.audit_actions import AuditAction
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class OrgMemberInfo:
    ident: str
    name: str
    rights: frozenset[OrgRight]


def parse_rights(text: str) -> frozenset[OrgRight]:
    """`read,send_as` → rights; an unknown word is refused with the list of known ones."""
    rights = set()
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        try:
            rights.add(OrgRight(word))
        except ValueError:
            known = ", ".join(r.value for r in OrgRight)
            raise MailboxKindRule(f"unknown right {word!r} (known: {known})") from None
    return frozenset(rights)


def rights_text(rights: Iterable[OrgRight]) -> str:
    return ",".join(sorted(r.value for r in rights))


def member_rights(member: OrgMember) -> frozenset[OrgRight]:
    flags = (
        (member.can_read, OrgRight.READ),
        (member.can_send_as, OrgRight.SEND_AS),
        (member.can_manage, OrgRight.MANAGE),
    )
    return frozenset(right for present, right in flags if present)


async def find_member_professional(session: AsyncSession, member: str) -> Professional:
    """A professional named by RPPS/ADELI, or by the address of a PER mailbox they own."""
    if "@" in member:
        mailbox = await find_mailbox(session, member)
        if mailbox is None or mailbox.kind != MailboxKind.PER.value:
            raise UnknownProfessional(member)
        owner = await session.get(MailboxOwner, mailbox.id)
        pro = (
            await session.get(Professional, owner.professional_id)
            if owner is not None and owner.professional_id is not None else None
        )
    else:
        pro = await professional_by_ident(session, member.strip())
    if pro is None:
        raise UnknownProfessional(member)
    return pro


async def _org_mailbox(session: AsyncSession, address: str) -> Mailbox:
    return await mailbox_of_kind(session, address, MailboxKind.ORG,
                                 f"{address} is not an ORG mailbox; only ORG has members")


async def set_org_member(
    store: Store, org_address: str, member: str, rights: frozenset[OrgRight],
    *, principal: Principal = SYSTEM,
) -> None:
    """Add a member to an ORG mailbox, or replace the rights of one already there."""

    async def job(uow: UnitOfWork) -> None:
        org = await _org_mailbox(uow.session, org_address)
        pro = await find_member_professional(uow.session, member)
        row = await uow.session.get(OrgMember, (org.id, pro.id))
        if row is None:
            row = OrgMember(org_mailbox_id=org.id, professional_id=pro.id)
            uow.session.add(row)
        row.can_read = OrgRight.READ in rights
        row.can_send_as = OrgRight.SEND_AS in rights
        row.can_manage = OrgRight.MANAGE in rights
        await uow.session.flush()
        uow.audit(AuditAction.MEMBER_ADDED, principal, target=org.address,
                  detail=f"member={pro.ident} rights={rights_text(rights)}")

    await store.write(job)


async def remove_org_member(
    store: Store, org_address: str, member: str, *, principal: Principal = SYSTEM
) -> bool:
    """Remove a member; False when they were not one."""

    async def job(uow: UnitOfWork) -> bool:
        org = await _org_mailbox(uow.session, org_address)
        pro = await find_member_professional(uow.session, member)
        row = await uow.session.get(OrgMember, (org.id, pro.id))
        if row is None:
            return False
        await uow.session.delete(row)
        await uow.session.flush()
        uow.audit(AuditAction.MEMBER_REMOVED, principal, target=org.address,
                  detail=f"member={pro.ident}")
        return True

    return await store.write(job)


async def org_members(session: AsyncSession, org_mailbox_id: int) -> list[OrgMemberInfo]:
    query = (
        select(OrgMember, Professional)
        .join(Professional, Professional.id == OrgMember.professional_id)
        .where(OrgMember.org_mailbox_id == org_mailbox_id)
        .order_by(Professional.ident)
    )
    return [
        OrgMemberInfo(pro.ident, professional_name(pro), member_rights(member))
        for member, pro in (await session.execute(query)).all()
    ]


async def rights_on_org(
    source: ReadSource, professional_ident: str, org_address: str
) -> frozenset[OrgRight]:
    """The rights a professional holds on an ORG mailbox (empty when not a member, or
    when the mailbox is disabled)."""
    async with reading_session(source) as session:
        query = (
            select(OrgMember)
            .join(Professional, Professional.id == OrgMember.professional_id)
            .join(Mailbox, Mailbox.id == OrgMember.org_mailbox_id)
            .where(
                Professional.ident == professional_ident,
                Mailbox.address == org_address.strip().lower(),
                Mailbox.kind == MailboxKind.ORG.value,
                Mailbox.disabled.is_(False),
            )
        )
        row = (await session.execute(query)).scalar_one_or_none()
        return member_rights(row) if row is not None else frozenset()
