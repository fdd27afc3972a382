"""Read model of the patient's care timeline: the messages she received, by date, with
the sender's name (never an address, docs/architecture.md §9). The agenda page puts them
beside her appointments and the documents deposited (docs/agenda.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from mss.read_models.mailbox_views import AUTHOR, folder_ids, mailbox_id_of, names_of
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import FolderEntry, StoredMessage

MAX_TIMELINE_MESSAGES = 500


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    uid: int
    received_at: datetime
    sender_name: str
    subject: str


async def received_messages(store: Store, mailbox: str, *, since: datetime | None = None,
                            until: datetime | None = None) -> list[ReceivedMessage]:
    """Messages of the patient's INBOX received in [since, until), newest first."""
    async with store.reading() as session:
        mailbox_id = await mailbox_id_of(session, mailbox)
        if mailbox_id is None:
            return []
        folders = await folder_ids(session, mailbox_id)
        if INBOX not in folders:
            return []
        query = (select(FolderEntry.uid, StoredMessage.internal_date, AUTHOR,
                        StoredMessage.subject)
                 .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
                 .where(FolderEntry.folder_id == folders[INBOX]))
        if since is not None:
            query = query.where(StoredMessage.internal_date >= since)
        if until is not None:
            query = query.where(StoredMessage.internal_date < until)
        rows = (await session.execute(query.order_by(
            StoredMessage.internal_date.desc(), FolderEntry.uid.desc())
            .limit(MAX_TIMELINE_MESSAGES))).all()
        names = await names_of(session, [r[2] for r in rows if r[2]])
    return [ReceivedMessage(uid, at, names.get((author or "").lower(), ""), subject or "")
            for uid, at, author, subject in rows]


async def inbox_uids(store: Store, mailbox: str, message_ids: list[str]) -> dict[str, int]:
    """Message-ID → INBOX UID of the patient's messages, for linking an appointment to
    the message that carried it."""
    wanted = sorted({m for m in message_ids if m})[:500]
    if not wanted:
        return {}
    async with store.reading() as session:
        mailbox_id = await mailbox_id_of(session, mailbox)
        if mailbox_id is None:
            return {}
        folders = await folder_ids(session, mailbox_id)
        if INBOX not in folders:
            return {}
        rows = (await session.execute(
            select(StoredMessage.message_id, FolderEntry.uid)
            .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
            .where(FolderEntry.folder_id == folders[INBOX],
                   StoredMessage.message_id.in_(wanted)))).all()
    return {ref: uid for ref, uid in rows}
