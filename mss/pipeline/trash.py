"""The patient's trash: a deleted message moves to the Trash folder (RFC 6154 \\Trash),
stays restorable to the folder it came from for RESTORE_DAYS, then is purged by a
background pass (`TrashPurger`).

Invariants: the move and its trash row commit together (a restored message leaves no
row, a purged one neither); expiry is measured on the store's injected clock
(docs/architecture.md §8.8); every move, restore and purge is audited with the patient
as subject (docs/architecture.md §4, audit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, literal, select

from mss.background import PeriodicPass
from mss.identity import SYSTEM, Principal, PrincipalKind
from mss.pipeline.conversations import patient_subject
from mss.pipeline.tables import TrashedEntry
from mss.read_models.mailbox_views import SUMMARY_COLUMNS, MessageSummary, message_summaries
from mss.store.audit_actions import AuditAction
from mss.store.flag_changes import FlagMode
from mss.store.flags import DELETED
from mss.store.mail_errors import MailStoreError
from mss.store.store import Store
from mss.store.tables import Folder, FolderEntry, Mailbox, StoredMessage
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
TRASH = "Trash"
RESTORE_DAYS = 30
RESTORABLE_FROM = frozenset({"INBOX", "Sent"})
PASS_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class TrashedMessage:
    message: MessageSummary
    origin: str
    trashed_at: datetime
    restorable_until: datetime


def _subject(principal: Principal) -> str:
    return principal.ident if principal.kind is PrincipalKind.PATIENT else ""


async def _folder(store: Store, mailbox_id: int, name: str) -> int | None:
    async with store.reading() as session:
        try:
            return (await store.mail.folders.named(session, mailbox_id, name)).id
        except MailStoreError:
            return None


async def move_to_trash(store: Store, principal: Principal, mailbox_id: int, origin: str,
                        uid: int) -> int | None:
    """Move one message of INBOX or Sent to the Trash; its new UID, or None if absent."""
    if origin not in RESTORABLE_FROM:
        return None
    source, trash = await _folder(store, mailbox_id, origin), await _folder(
        store, mailbox_id, TRASH)
    if source is None or trash is None:
        return None

    async def job(uow: UnitOfWork) -> int | None:
        pairs = await store.mail.moves.move(uow, source, [uid], trash, uids_now=True)
        if not pairs:
            return None
        new_uid = pairs[0][1]
        uow.session.add(TrashedEntry(folder_id=trash, uid=new_uid, origin=origin,
                                     trashed_at=uow.now()))
        await uow.session.flush()
        uow.audit(AuditAction.MESSAGE_MOVED, principal, target=principal.mailbox or "",
                  subject=_subject(principal),
                  detail=f"folder={origin} uid={uid} to={TRASH} uid={new_uid}")
        return new_uid

    return await store.write(job)


async def restore(store: Store, principal: Principal, mailbox_id: int, uid: int
                  ) -> tuple[str, int] | None:
    """Put a trashed message back where it was: (folder, new UID), or None when it is not
    (or no longer) in her trash."""
    trash = await _folder(store, mailbox_id, TRASH)
    if trash is None:
        return None

    async def job(uow: UnitOfWork) -> tuple[str, int] | None:
        row = await uow.session.get(TrashedEntry, (trash, uid))
        if row is None:
            return None
        origin = row.origin
        target = (await uow.session.execute(select(Folder.id).where(
            Folder.mailbox_id == mailbox_id, Folder.name == origin))).scalar_one_or_none()
        if target is None:
            return None
        pairs = await store.mail.moves.move(uow, trash, [uid], target, uids_now=True)
        await uow.session.delete(row)
        await uow.session.flush()
        if not pairs:
            return None
        uow.audit(AuditAction.MESSAGE_MOVED, principal, target=principal.mailbox or "",
                  subject=_subject(principal),
                  detail=f"folder={TRASH} uid={uid} to={origin} uid={pairs[0][1]} restored")
        return origin, pairs[0][1]

    return await store.write(job)


async def trashed(store: Store, mailbox_id: int, *, limit: int = 50, offset: int = 0
                  ) -> list[TrashedMessage]:
    """Her trash, most recently deleted first, with the date each stops being
    restorable."""
    trash = await _folder(store, mailbox_id, TRASH)
    if trash is None:
        return []
    async with store.reading() as session:
        query = (select(literal(TRASH).label("folder"), *SUMMARY_COLUMNS,
                        TrashedEntry.origin, TrashedEntry.trashed_at)
                 .select_from(FolderEntry)
                 .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
                 .join(TrashedEntry, (TrashedEntry.folder_id == FolderEntry.folder_id)
                       & (TrashedEntry.uid == FolderEntry.uid))
                 .where(FolderEntry.folder_id == trash)
                 .order_by(TrashedEntry.trashed_at.desc(), FolderEntry.uid.desc())
                 .limit(limit).offset(offset))
        rows = (await session.execute(query)).all()
        summaries = await message_summaries(session, rows, None)
    keep = timedelta(days=RESTORE_DAYS)
    return [TrashedMessage(s, r.origin, r.trashed_at, r.trashed_at + keep)
            for s, r in zip(summaries, rows, strict=True)]


async def purge_expired(store: Store, *, batch: int = 200) -> int:
    """Remove for good what was trashed more than RESTORE_DAYS ago: \\Deleted and
    expunged from the Trash (RFC 3501 §6.4.3), one audit row per message."""
    cutoff = store.clock.now() - timedelta(days=RESTORE_DAYS)

    async def job(uow: UnitOfWork) -> int:
        rows = (await uow.session.execute(
            select(TrashedEntry.folder_id, TrashedEntry.uid, Mailbox.address)
            .join(Folder, Folder.id == TrashedEntry.folder_id)
            .join(Mailbox, Mailbox.id == Folder.mailbox_id)
            .where(TrashedEntry.trashed_at <= cutoff)
            .order_by(TrashedEntry.trashed_at).limit(batch))).all()
        by_folder: dict[int, list[tuple[int, str]]] = {}
        for folder_id, uid, address in rows:
            by_folder.setdefault(folder_id, []).append((uid, address))
        purged = 0
        for folder_id, items in by_folder.items():
            uids = [uid for uid, _ in items]
            await store.mail.flags.store_flags(uow, folder_id, uids, {DELETED}, FlagMode.ADD)
            removed = await store.mail.moves.expunge(uow, folder_id, uids)
            await uow.session.execute(delete(TrashedEntry).where(
                TrashedEntry.folder_id == folder_id, TrashedEntry.uid.in_(uids)))
            for uid, address in items:
                if uid in removed:
                    uow.audit(AuditAction.MESSAGE_EXPUNGED, SYSTEM, target=address,
                              subject=patient_subject(address),
                              detail=f"folder={TRASH} uid={uid} after={RESTORE_DAYS}d")
            purged += len(removed)
        return purged

    return await store.write(job)


class TrashPurger(PeriodicPass):
    """The background pass that purges expired trash (mss.background.PeriodicPass)."""

    name = "trash-purge"

    def __init__(self, store: Store, *, pass_seconds: float = PASS_SECONDS) -> None:
        super().__init__(pass_seconds=pass_seconds)
        self.store = store
        self.purged = 0

    async def one_pass(self) -> None:
        while (count := await purge_expired(self.store)) > 0:
            self.purged += count
