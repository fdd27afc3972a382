"""Which mailboxes a principal may open, with which rights, and lean folder reads.

The IMAP server (and any other reader) asks here, never the tables: a principal sees
its own mailbox (or the ORG mailbox it logged in to as authorisation identity) and,
for a professional, every ORG mailbox where they hold the read right (docs/architecture.md §3).

Rights are RFC 4314 letters: an owner holds every right; an ORG member with `read`
holds ``lrs`` (look up, read, keep their own ``\\Seen``) and with `manage` every right.
`send_as` is a submission right and gives nothing here.

The folder reads below are Core queries that return only the columns a protocol
session needs; loading 100,000 ORM rows to SELECT a folder costs seconds, these cost
tens of milliseconds. Flags of ORG mailboxes are merged with the reader's private
flags exactly as `MailStore.entries` does (RFC 4314 §5.3-style private ``\\Seen``).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Result, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.org_members import member_rights, org_members
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import OrgMember, Professional
from mss.identity import MailboxKind, OrgRight, Principal, PrincipalKind
from mss.store.mailstore import SEEN, EntryInfo, reader_view
from mss.store.tables import (
    ExpungedEntry,
    Folder,
    FolderEntry,
    Mailbox,
    PrivateFlags,
    StoredMessage,
)

OWNER_RIGHTS = "lrswipkxtea"  # RFC 4314 §2.1 (c and d are the obsolete RFC 2086 forms)
READ_RIGHTS = "lrs"
SPARSE_LIST = 500
"""Up to this many scattered UIDs are asked for by list; more, or dense ones, by range."""


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


# -- lean folder reads ---------------------------------------------------------------


async def core_execute(session: AsyncSession, query: Any) -> Result[*tuple[Any, ...]]:
    """A Core query on the session's connection: plain rows, without the ORM's loading
    step, which costs more than SQLite itself on reads of thousands of rows."""
    connection = await session.connection()
    return await connection.execute(query)


@dataclass(frozen=True, slots=True)
class FolderIndex:
    """What SELECT needs (RFC 3501 §6.3.1): UIDs in order and the first unseen."""

    uids: array[int]
    first_unseen_uid: int | None


def _unseen_condition(reader: str | None):  # type: ignore[no-untyped-def]
    shared_unseen = ~FolderEntry.flags.contains(SEEN, autoescape=True)
    if reader is None:
        return shared_unseen
    return or_(PrivateFlags.flags.is_(None),
               ~PrivateFlags.flags.contains(SEEN, autoescape=True))


def _with_private(query, reader: str | None):  # type: ignore[no-untyped-def]
    if reader is None:
        return query
    return query.outerjoin(
        PrivateFlags,
        and_(PrivateFlags.entry_id == FolderEntry.id, PrivateFlags.reader == reader),
    )


async def folder_uids(session: AsyncSession, folder_id: int) -> array[int]:
    """UIDs in order, read as runs of consecutive UIDs ("gaps and islands" with a
    window function): a folder is mostly long runs, so 100,000 UIDs are a few rows."""
    numbered = select(
        FolderEntry.uid.label("uid"),
        (FolderEntry.uid - func.row_number().over(order_by=FolderEntry.uid)).label("run"),
    ).where(FolderEntry.folder_id == folder_id).subquery()
    runs = (
        await core_execute(
            session,
            select(func.min(numbered.c.uid), func.max(numbered.c.uid))
            .group_by(numbered.c.run).order_by(func.min(numbered.c.uid))
        )
    ).all()
    uids: array[int] = array("Q")
    for low, high in runs:
        uids.extend(range(low, high + 1))
    return uids


async def folder_flags(
    session: AsyncSession, folder_id: int, reader: str | None
) -> list[tuple[int, int, frozenset[str]]]:
    """(uid, modseq, flags) of every entry, the reader's view; no message columns."""
    columns = [FolderEntry.uid, FolderEntry.modseq, FolderEntry.flags]
    if reader is not None:
        columns += [PrivateFlags.flags, PrivateFlags.modseq]
    query = _with_private(select(*columns).select_from(FolderEntry), reader).where(
        FolderEntry.folder_id == folder_id
    ).order_by(FolderEntry.uid)
    found = []
    cache: dict[str, frozenset[str]] = {}
    for row in (await core_execute(session, query)).all():
        text = row[2] or ""
        flags = cache.get(text)
        if flags is None:
            flags = cache[text] = frozenset(text.split())
        modseq = row[1]
        if reader is not None:
            flags, modseq = reader_view(flags, modseq, row[3], row[4])
        found.append((row[0], modseq, flags))
    return found


async def folder_index(session: AsyncSession, folder_id: int, reader: str | None) -> FolderIndex:
    """UIDs and the first unseen UID. The count and bounds come from the (folder, uid)
    index alone; a folder never expunged has no gap, so its UIDs are that range and the
    runs query is read only for a folder with gaps. The first unseen stops at the first
    match."""
    bounds = select(func.count(), func.min(FolderEntry.uid), func.max(FolderEntry.uid)).where(
        FolderEntry.folder_id == folder_id
    )
    count, low, high = (await core_execute(session, bounds)).one()
    if not count:
        return FolderIndex(array("Q"), None)
    if high - low + 1 == count:
        uids = array("Q", range(low, high + 1))
    else:
        uids = await folder_uids(session, folder_id)
    first_unseen = _with_private(select(FolderEntry.uid).select_from(FolderEntry), reader).where(
        FolderEntry.folder_id == folder_id, _unseen_condition(reader)
    ).order_by(FolderEntry.uid).limit(1)
    first = (await core_execute(session, first_unseen)).scalar_one_or_none()
    return FolderIndex(uids, first)


@dataclass(frozen=True, slots=True)
class FolderCounts:
    """STATUS items (RFC 3501 §6.3.10, RFC 7162, RFC 8438)."""

    messages: int
    unseen: int
    deleted: int
    size: int
    uidnext: int
    uidvalidity: int
    highestmodseq: int
    recent: int = 0


async def folder_counts(session: AsyncSession, folder_id: int, reader: str | None) -> FolderCounts:
    folder = await session.get(Folder, folder_id)
    if folder is None:
        return FolderCounts(0, 0, 0, 0, 1, 0, 0)
    base = (
        select(func.count(), func.coalesce(func.sum(StoredMessage.size), 0))
        .select_from(FolderEntry)
        .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
        .where(FolderEntry.folder_id == folder_id)
    )
    messages, size = (await session.execute(base)).one()
    unseen_query = _with_private(
        select(func.count()).select_from(FolderEntry), reader
    ).where(FolderEntry.folder_id == folder_id, _unseen_condition(reader))
    unseen = (await session.execute(unseen_query)).scalar_one()
    deleted = (await session.execute(
        select(func.count()).select_from(FolderEntry).where(
            FolderEntry.folder_id == folder_id,
            FolderEntry.flags.contains("\\Deleted", autoescape=True),
        )
    )).scalar_one()
    recent = (await session.execute(
        select(func.count()).select_from(FolderEntry).where(
            FolderEntry.folder_id == folder_id, FolderEntry.uid >= folder.recent_uid)
    )).scalar_one()  # RFC 3501 §6.3.10: not yet claimed by a session's SELECT
    return FolderCounts(int(messages), int(unseen), int(deleted), int(size), folder.uidnext,
                        folder.uidvalidity, folder.highestmodseq, int(recent))


async def folder_entries(
    session: AsyncSession, folder_id: int, reader: str | None, *,
    uids: Sequence[int] | None = None, uid_min: int | None = None,
    changed_since: int | None = None, with_header: bool = False,
) -> list[EntryInfo]:
    """Entries in UID order with the reader's view of the flags, in one query.

    A dense or long UID list is read as its range and filtered here, so a set of 10,000
    UIDs is not 10,000 bound parameters; a few scattered UIDs are asked for by list.
    `with_header` adds each message's sealed header section (for header-only FETCH).
    """
    columns = [
        FolderEntry.uid, FolderEntry.modseq, FolderEntry.flags, StoredMessage.id,
        StoredMessage.mailbox_id, StoredMessage.blob_key, StoredMessage.size,
        StoredMessage.internal_date, StoredMessage.subject,
        func.coalesce(StoredMessage.author, StoredMessage.from_addr),  # docs/sender-truth.md
        StoredMessage.sealed_header if with_header else literal(None),
    ]
    if reader is not None:
        columns += [PrivateFlags.flags, PrivateFlags.modseq]
    query = _with_private(
        select(*columns).select_from(FolderEntry)
        .join(StoredMessage, StoredMessage.id == FolderEntry.message_id), reader
    ).where(FolderEntry.folder_id == folder_id)
    wanted: set[int] | None = None
    if uids is not None:
        if not uids:
            return []
        wanted = set(uids)
        low, high = min(wanted), max(wanted)
        if len(wanted) <= SPARSE_LIST and high - low + 1 > 4 * len(wanted):
            query = query.where(FolderEntry.uid.in_(sorted(wanted)))  # a few scattered UIDs
        else:
            query = query.where(FolderEntry.uid >= low, FolderEntry.uid <= high)
    if uid_min is not None:
        query = query.where(FolderEntry.uid >= uid_min)
    if changed_since is not None:  # RFC 7162 CHANGEDSINCE: the (folder, modseq) index
        query = query.where(
            FolderEntry.modseq > changed_since if reader is None
            else or_(FolderEntry.modseq > changed_since, PrivateFlags.modseq > changed_since)
        )
    result: list[EntryInfo] = []
    for row in (await core_execute(session, query.order_by(FolderEntry.uid))).all():
        if wanted is not None and row[0] not in wanted:
            continue
        flags = frozenset(row[2].split()) if row[2] else frozenset()
        modseq = row[1]
        if reader is not None:
            flags, modseq = reader_view(flags, modseq, row[11], row[12])
        if changed_since is not None and modseq <= changed_since:
            continue
        result.append(EntryInfo(
            uid=row[0], modseq=modseq, flags=flags, message_id=row[3], mailbox_id=row[4],
            blob_key=row[5], size=row[6], internal_date=row[7], subject=row[8] or "",
            from_addr=row[9] or "", sealed_header=row[10],
        ))
    return result


async def expunged_since(
    session: AsyncSession, folder_id: int, modseq: int,
    within: Sequence[tuple[int, int]] | None = None,
) -> list[int]:
    """UIDs removed from the folder after `modseq`, optionally only those in the UID
    ranges `within` (RFC 7162 §3.2.5 VANISHED (EARLIER)), ascending."""
    query = select(ExpungedEntry.uid).where(
        ExpungedEntry.folder_id == folder_id, ExpungedEntry.modseq > modseq
    ).order_by(ExpungedEntry.uid)
    found = list((await core_execute(session, query)).scalars().all())
    if within is None:
        return found
    return [uid for uid in found if any(low <= uid <= high for low, high in within)]


async def folder_id_of(session: AsyncSession, mailbox_id: int, name: str) -> int | None:
    """The id of a folder, or None (no exception: callers answer NONEXISTENT)."""
    return (
        await session.execute(
            select(Folder.id).where(Folder.mailbox_id == mailbox_id, Folder.name == name)
        )
    ).scalar_one_or_none()


async def folder_highest_modseq(session: AsyncSession, folder_id: int) -> int:
    """The folder's HIGHESTMODSEQ (RFC 7162 §3.1.2), 0 once it is gone."""
    found = (await session.execute(
        select(Folder.highestmodseq).where(Folder.id == folder_id))).scalar_one_or_none()
    return int(found or 0)
