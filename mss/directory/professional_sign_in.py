"""A professional known by their national id (a Pro Santé Connect token) and the mailbox
they act on: their own PER mailbox, or an ORG mailbox named as authorisation identity
(docs/architecture.md §3, the same rule as the SASL PLAIN authzid: `authorised_as`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mss.directory.authentication import authorised_as
from mss.directory.principals import (
    principal_for_mailbox,
    professional_by_ident,
    professional_name,
)
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import MailboxOwner, OrgMember
from mss.identity import MailboxKind, Principal, PrincipalKind
from mss.store.tables import Mailbox


@dataclass(frozen=True, slots=True)
class ProfessionalSignIn:
    """Who acts, and the kind of the mailbox acted on (for the `[auth]` policy)."""

    principal: Principal
    kind: MailboxKind


def rpps_from_national_id(value: object) -> str | None:
    """The RPPS in a national id claim: 11 digits, or the national form `8` + RPPS
    (Pro Santé Connect `SubjectNameID`); anything else is not a professional's id."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) == 12 and value.startswith("8"):
        value = value[1:]
    return value if len(value) == 11 and value.isdigit() else None


async def sign_in_professional(source: ReadSource, rpps: str, authzid: str | None
                               ) -> ProfessionalSignIn | None:
    """The professional `rpps` acting on `authzid` (empty: their own PER mailbox), or None
    when unknown, without a usable mailbox, or not a reader of the named ORG mailbox."""
    wanted = (authzid or "").strip().lower()
    async with reading_session(source) as session:
        professional = await professional_by_ident(session, rpps)
        if professional is None:
            return None
        owned = (await session.execute(
            select(Mailbox)
            .join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
            .where(MailboxOwner.professional_id == professional.id,
                   Mailbox.kind == MailboxKind.PER.value, Mailbox.disabled.is_(False))
            .order_by(Mailbox.id)
        )).scalars().all()
        for mailbox in owned:
            if not wanted or mailbox.address == wanted:
                own = await principal_for_mailbox(session, mailbox)
                if own is not None:
                    return ProfessionalSignIn(own, MailboxKind.PER)
        if not wanted:
            return None
        base = Principal(PrincipalKind.PROFESSIONAL, professional.ident,
                         professional_name(professional), None)
        acting = await authorised_as(session, base, wanted)
        return ProfessionalSignIn(acting, MailboxKind.ORG) if acting is not None else None


async def org_mailboxes_of(source: ReadSource, rpps: str) -> list[str]:
    """The ORG mailboxes (enabled) the professional `rpps` may read as a member: the
    choices offered after a sign-in that named none (docs/architecture.md §3)."""
    async with reading_session(source) as session:
        professional = await professional_by_ident(session, rpps)
        if professional is None:
            return []
        rows = await session.execute(
            select(Mailbox.address)
            .join(OrgMember, OrgMember.org_mailbox_id == Mailbox.id)
            .where(OrgMember.professional_id == professional.id,
                   OrgMember.can_read.is_(True), Mailbox.kind == MailboxKind.ORG.value,
                   Mailbox.disabled.is_(False))
            .order_by(Mailbox.address))
        return list(rows.scalars().all())
