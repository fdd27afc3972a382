"""Read models for the webmail: conversations with names and unread counts, and the
messages of one conversation (docs/architecture.md §4: the patient's webmail shows the state).

docs/architecture.md §9: the patient never sees professional addresses, only names; names come
from the mailbox's display name, the national directory, or a neutral label.
A conversation is one professional-side mailbox × one patient; its messages are those the
patient received from that mailbox and those the patient sent to it or to its contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.conversation_tables import ConversationRow
from mss.directory.tables import DirectoryEntryRow, Patient
from mss.policy import ConversationStatus
from mss.policy.addresses import canonical_address
from mss.store.flags import SEEN, flag_held
from mss.store.mailboxes import INBOX
from mss.store.tables import Folder, FolderEntry, Mailbox, StoredMessage

SENT = "Sent"
# who a message is from: the author the pipeline recorded, never a header; the From field
# only for messages without one (APPEND, rows older than it) (docs/sender-truth.md)
AUTHOR = func.coalesce(StoredMessage.author, StoredMessage.from_addr)
NEUTRAL_PROFESSIONAL = "Professionnel de santé"


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One line of an inbox: the other side, its name, the state and the counts."""

    counterpart: str  # professional mailbox (patient view) or patient address (pro view)
    name: str
    status: ConversationStatus | None  # None: messages without a conversation (APP, DSN)
    contact: str | None
    contact_name: str
    total: int
    unread: int
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class MessageSummary:
    folder: str  # INBOX or Sent
    uid: int
    subject: str
    from_addr: str
    to_addrs: str
    internal_date: datetime
    seen: bool
    size: int
    message_ref: str = ""  # the Message-ID field
    mailbox_id: int = 0
    blob_key: str = ""
    sealed_header: bytes | None = None

    @property
    def outgoing(self) -> bool:
        return self.folder == SENT


async def folder_ids(session: AsyncSession, mailbox_id: int) -> dict[str, int]:
    rows = await session.execute(select(Folder.name, Folder.id).where(
        Folder.mailbox_id == mailbox_id, Folder.name.in_([INBOX, SENT])))
    return {name: fid for name, fid in rows.all()}


def _unseen(reader: str | None) -> object:
    """1 when the entry is not \\Seen for this reader (per-reader flags on ORG mailboxes)."""
    return case((flag_held(SEEN, reader), 0), else_=1)


async def _senders(session: AsyncSession, folder_id: int, reader: str | None,
                   only: Sequence[str] | None = None
                   ) -> dict[str, tuple[int, int, datetime | None]]:
    query = (
        select(AUTHOR, func.count(), func.sum(_unseen(reader)),  # type: ignore[arg-type]
               func.max(StoredMessage.internal_date))
        .select_from(FolderEntry)
        .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
        .where(FolderEntry.folder_id == folder_id)
        .group_by(AUTHOR)
    )
    if only is not None:
        query = query.where(AUTHOR.in_(list(only)))
    found: dict[str, tuple[int, int, datetime | None]] = {}
    for sender, total, unread, last in (await session.execute(query)).all():
        key = canonical_address(sender or "")
        old = found.get(key, (0, 0, None))
        newest = max((d for d in (old[2], last) if d is not None), default=None)
        found[key] = (old[0] + int(str(total)), old[1] + int(str(unread or 0)), newest)
    return found


async def names_of(session: AsyncSession, addresses: Iterable[str]) -> dict[str, str]:
    """Display names for professional-side addresses, never the address itself."""
    wanted = sorted({canonical_address(a) for a in addresses if a})
    names: dict[str, str] = {}
    if not wanted:
        return names
    rows = await session.execute(select(Mailbox.address, Mailbox.display_name)
                                 .where(Mailbox.address.in_(wanted)))
    names.update({a: n for a, n in rows.all() if n})
    missing = [a for a in wanted if a not in names]
    if missing:
        found = await session.execute(
            select(DirectoryEntryRow.address, DirectoryEntryRow.civility,
                   DirectoryEntryRow.first_name, DirectoryEntryRow.last_name,
                   DirectoryEntryRow.structure_name, DirectoryEntryRow.service)
            .where(DirectoryEntryRow.address.in_(missing)))
        for address, civility, first, last, structure, service in found.all():
            person = " ".join(p for p in (civility, first, last) if p)
            names[address] = person or " – ".join(p for p in (service, structure) if p)
    return {a: names.get(a) or NEUTRAL_PROFESSIONAL for a in wanted}


async def patient_conversations(session: AsyncSession, patient_address: str
                                ) -> list[ConversationSummary]:
    """The patient's inbox as conversations, newest activity first."""
    patient = canonical_address(patient_address)
    mailbox_id = (await session.execute(select(Mailbox.id).where(Mailbox.address == patient))
                  ).scalar_one_or_none()
    if mailbox_id is None:
        return []
    folders = await folder_ids(session, mailbox_id)
    senders = await _senders(session, folders[INBOX], None) if INBOX in folders else {}
    rows = (await session.execute(select(ConversationRow)
                                  .where(ConversationRow.patient == patient))).scalars().all()
    conversations = {r.professional: r for r in rows}
    keys = set(senders) | set(conversations)
    names = await names_of(session, keys | {r.contact for r in rows if r.contact})
    result = []
    for key in keys:
        row = conversations.get(key)
        total, unread, last = senders.get(key, (0, 0, None))
        contact = row.contact if row is not None else None
        result.append(ConversationSummary(
            counterpart=key, name=names.get(key, NEUTRAL_PROFESSIONAL),
            status=ConversationStatus(row.status) if row is not None else None,
            contact=contact, contact_name=names.get(contact, "") if contact else "",
            total=total, unread=unread,
            last_at=max((d for d in (last, row.updated_at if row else None) if d), default=None),
        ))
    return sorted(result, key=_recent_first)


def _recent_first(summary: ConversationSummary) -> tuple[bool, float]:
    return (summary.last_at is None, -(summary.last_at.timestamp() if summary.last_at else 0))


async def patient_names(session: AsyncSession, addresses: Iterable[str]) -> dict[str, str]:
    """"Jeanne DUPONT" for patient addresses (INS@patient-domain) this operator hosts."""
    by_ins = {canonical_address(a).partition("@")[0].upper(): canonical_address(a)
              for a in addresses}
    if not by_ins:
        return {}
    rows = await session.execute(select(Patient.ins, Patient.first_name, Patient.last_name)
                                 .where(Patient.ins.in_(list(by_ins))))
    return {by_ins[ins]: f"{first} {last}".strip() for ins, first, last in rows.all()}


async def professional_conversations(session: AsyncSession, mailbox: str,
                                     reader: str | None = None) -> list[ConversationSummary]:
    """Conversations of a professional-side mailbox (as sender or as Reply-To contact)."""
    address = canonical_address(mailbox)
    mailbox_id = (await session.execute(select(Mailbox.id).where(Mailbox.address == address))
                  ).scalar_one_or_none()
    if mailbox_id is None:
        return []
    rows = (await session.execute(select(ConversationRow).where(
        or_(ConversationRow.professional == address, ConversationRow.contact == address))
    )).scalars().all()
    folders = await folder_ids(session, mailbox_id)
    patients = [r.patient for r in rows]
    senders = (await _senders(session, folders[INBOX], reader, only=patients)
               if INBOX in folders and patients else {})
    names = await patient_names(session, patients)
    result = []
    for row in rows:
        total, unread, last = senders.get(row.patient, (0, 0, None))
        result.append(ConversationSummary(
            counterpart=row.patient, name=names.get(row.patient, row.patient),
            status=ConversationStatus(row.status), contact=row.contact, contact_name="",
            total=total, unread=unread,
            last_at=max((d for d in (last, row.updated_at) if d), default=None),
        ))
    return sorted(result, key=_recent_first)


async def conversation_messages(
    session: AsyncSession, mailbox_id: int, *, received_from: Sequence[str],
    sent_to: Sequence[str], reader: str | None = None, limit: int = 50, offset: int = 0,
) -> list[MessageSummary]:
    """Messages received from `received_from` (INBOX) and sent to `sent_to` (Sent),
    newest first, one page."""
    folders = await folder_ids(session, mailbox_id)
    parts = []
    columns = SUMMARY_COLUMNS
    if INBOX in folders and received_from:
        parts.append(select(literal(INBOX).label("folder"), *columns)
                     .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
                     .where(FolderEntry.folder_id == folders[INBOX],
                            AUTHOR.in_(list(received_from))))
    if SENT in folders and sent_to:
        matches = [StoredMessage.to_addrs.like(f"%{_like(a)}%", escape="\\") for a in sent_to]
        parts.append(select(literal(SENT).label("folder"), *columns)
                     .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
                     .where(and_(FolderEntry.folder_id == folders[SENT], or_(*matches))))
    if not parts:
        return []
    union = union_all(*parts).subquery()
    query = (select(union).order_by(union.c.internal_date.desc(), union.c.uid.desc())
             .limit(limit).offset(offset))
    rows = (await session.execute(query)).all()
    return await message_summaries(session, rows, reader)


SUMMARY_COLUMNS = (FolderEntry.uid, FolderEntry.id.label("entry_id"), FolderEntry.flags,
                    StoredMessage.subject, AUTHOR.label("from_addr"), StoredMessage.to_addrs,
                    StoredMessage.internal_date, StoredMessage.size,
                    StoredMessage.message_id.label("message_ref"), StoredMessage.mailbox_id,
                    StoredMessage.blob_key, StoredMessage.sealed_header)


async def message_summaries(session: AsyncSession, rows: Sequence[Any], reader: str | None
                     ) -> list[MessageSummary]:
    private: set[int] = set()
    if reader is not None and rows:
        found = await session.execute(select(FolderEntry.id).where(
            FolderEntry.id.in_([r.entry_id for r in rows]), flag_held(SEEN, reader)))
        private = {e for (e,) in found.all()}
    return [
        MessageSummary(
            folder=r.folder, uid=r.uid, subject=r.subject, from_addr=r.from_addr,
            to_addrs=r.to_addrs, internal_date=r.internal_date, size=r.size,
            seen=(r.entry_id in private) if reader is not None
            else SEEN in (r.flags or "").split(),
            message_ref=r.message_ref or "", mailbox_id=r.mailbox_id, blob_key=r.blob_key,
            sealed_header=r.sealed_header,
        )
        for r in rows
    ]


async def folder_messages(session: AsyncSession, mailbox_id: int, folder: str, *,
                          limit: int = 50, offset: int = 0) -> list[MessageSummary]:
    """Every message of one folder of the mailbox (the Sent view: each message the
    patient sent, to a conversation or to a pharmacy), newest first, one page."""
    folders = await folder_ids_named(session, mailbox_id, [folder])
    if folder not in folders:
        return []
    query = (select(literal(folder).label("folder"), *SUMMARY_COLUMNS)
             .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
             .where(FolderEntry.folder_id == folders[folder])
             .order_by(StoredMessage.internal_date.desc(), FolderEntry.uid.desc())
             .limit(limit).offset(offset))
    return await message_summaries(session, (await session.execute(query)).all(), None)


async def folder_ids_named(session: AsyncSession, mailbox_id: int, names: Sequence[str]
                           ) -> dict[str, int]:
    rows = await session.execute(select(Folder.name, Folder.id).where(
        Folder.mailbox_id == mailbox_id, Folder.name.in_(list(names))))
    return {name: fid for name, fid in rows.all()}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def mailbox_id_of(session: AsyncSession, address: str) -> int | None:
    return (await session.execute(select(Mailbox.id).where(
        Mailbox.address == canonical_address(address)))).scalar_one_or_none()
