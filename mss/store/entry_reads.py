"""A folder's entries as one reader sees them, read through the ORM session of a
job or a read: the webmail's and the store's own reads (COPY, MOVE, STATUS); the IMAP
session's lean reads of many entries are mss.store.folder_reads.

Shared (ORG) mailboxes keep `\\Seen` per reader (RFC 4314 §5.3-style private flags):
pass `reader=` and that flag is read from that reader's `private_flags` row
(mss.store.flags.reader_view).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.flags import SEEN, flags_set, reader_view
from mss.store.mail_errors import MailStoreError
from mss.store.tables import Folder, FolderEntry, PrivateFlags, StoredMessage

_E = FolderEntry.__table__.c


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """A message as a folder shows it to one reader."""

    uid: int
    modseq: int
    flags: frozenset[str]
    message_id: int
    mailbox_id: int
    blob_key: str
    size: int
    internal_date: datetime
    subject: str = ""
    from_addr: str = ""  # the author the pipeline recorded, else the From field
    sealed_header: bytes | None = None  # only when the reader asked for it


@dataclass(frozen=True, slots=True)
class FolderStatus:
    messages: int
    unseen: int
    uidnext: int
    uidvalidity: int
    highestmodseq: int
    size: int


class EntryReads:
    """Entries, save dates and counts of one folder, in the caller's session."""

    async def save_dates(
        self, session: AsyncSession, folder_id: int, uids: Sequence[int] | None = None,
    ) -> dict[int, datetime]:
        """RFC 8514 save dates by UID: when the message was put in this folder."""
        messages = StoredMessage.__table__
        query = (select(_E.uid, func.coalesce(_E.saved_at, messages.c.internal_date))
                 .select_from(FolderEntry.__table__.join(messages,
                                                         messages.c.id == _E.message_id))
                 .where(_E.folder_id == folder_id))
        if uids is not None:
            if not uids:
                return {}
            query = query.where(_E.uid.between(min(uids), max(uids)))
        wanted = None if uids is None else set(uids)
        found: dict[int, datetime] = {}
        for uid, saved in (await session.execute(query)).all():
            if wanted is None or uid in wanted:
                found[uid] = saved
        return found

    async def entries(
        self, session: AsyncSession, folder_id: int, *, uids: Sequence[int] | None = None,
        uid_min: int | None = None, uid_max: int | None = None,
        changed_since: int | None = None, reader: str | None = None,
    ) -> list[EntryInfo]:
        """Entries in UID order; optionally only some UIDs, a range or CHANGEDSINCE."""
        query = (
            select(FolderEntry, StoredMessage)
            .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
            .where(FolderEntry.folder_id == folder_id)
        )
        if uids is not None:
            query = query.where(FolderEntry.uid.in_(list(uids)))
        if uid_min is not None:
            query = query.where(FolderEntry.uid >= uid_min)
        if uid_max is not None:
            query = query.where(FolderEntry.uid <= uid_max)
        rows = (await session.execute(query.order_by(FolderEntry.uid))).all()
        private: dict[int, PrivateFlags] = {}
        if reader is not None and rows:
            private = await self._private_rows(session, [e.id for e, _ in rows], reader)
        result = []
        for entry, msg in rows:
            flags = flags_set(entry.flags)
            modseq = entry.modseq
            if reader is not None:
                mine = private.get(entry.id)
                flags, modseq = reader_view(flags, modseq, None if mine is None else mine.flags,
                                            None if mine is None else mine.modseq)
            if changed_since is not None and modseq <= changed_since:
                continue
            result.append(EntryInfo(
                uid=entry.uid, modseq=modseq, flags=flags, message_id=msg.id,
                mailbox_id=msg.mailbox_id, blob_key=msg.blob_key, size=msg.size,
                internal_date=msg.internal_date, subject=msg.subject,
                from_addr=msg.author or msg.from_addr,
            ))
        return result

    async def _private_rows(
        self, session: AsyncSession, entry_ids: list[int], reader: str
    ) -> dict[int, PrivateFlags]:
        found: dict[int, PrivateFlags] = {}
        for start in range(0, len(entry_ids), 500):
            chunk = entry_ids[start : start + 500]
            rows = (
                await session.execute(
                    select(PrivateFlags).where(
                        PrivateFlags.reader == reader, PrivateFlags.entry_id.in_(chunk)
                    )
                )
            ).scalars().all()
            found.update({r.entry_id: r for r in rows})
        return found

    async def status(
        self, session: AsyncSession, folder_id: int, reader: str | None = None
    ) -> FolderStatus:
        folder = await session.get(Folder, folder_id)
        if folder is None:
            raise MailStoreError("NONEXISTENT", "folder vanished")
        entries = await self.entries(session, folder_id, reader=reader)
        return FolderStatus(
            messages=len(entries),
            unseen=sum(1 for e in entries if SEEN not in e.flags),
            uidnext=folder.uidnext, uidvalidity=folder.uidvalidity,
            highestmodseq=folder.highestmodseq, size=sum(e.size for e in entries),
        )
