"""The mail store API: the only way other packages read or change mail.

Invariants:
- blobs are written (and fsynced) by `prepare_blob` before the job that references them
  runs, so a committed row never points at a missing file;
- UIDs and MODSEQs come from one atomic `UPDATE folders ... RETURNING`, which holds the
  folder row until commit on PostgreSQL: UIDs are strictly increasing in commit order
  across nodes (RFC 3501 §2.3.1.1, RFC 7162 §3.1); the pipeline's deliveries take it
  last, folders in id order, just before COMMIT (`_deliver_then_allocate`);
- every change publishes a change event, delivered after commit.

Shared (ORG) mailboxes keep `\\Seen` per reader (RFC 4314 §5.3-style private flags):
pass `reader=` and that flag is read and written in `private_flags` for that reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mss.store.blobs import BlobBackend
from mss.store.entry_reads import EntryInfo, EntryReads
from mss.store.events import ChangeEvent
from mss.store.flag_changes import FlagChanges, add_keywords
from mss.store.flags import DELETED, flags_set, flags_text
from mss.store.folder_counters import (
    BUMP_FOLDER_MODSEQ,
    allocate,
)
from mss.store.keys import Keyring
from mss.store.mail_delivery import ENTRY_SORT_KEYS, MailDelivery
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX, MailboxLookup, new_uidvalidity
from mss.store.message_contents import (
    MessageContents,
)
from mss.store.tables import (
    ExpungedEntry,
    Folder,
    FolderEntry,
    PrivateFlags,
    StoredMessage,
)
from mss.store.thread_reads import (
    PreparedRead,
    PreparedStatement,
    Reads,
    ThreadReads,
    run_in_transaction,
    run_read,
)
from mss.store.uid_sets import rows_of_uids
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class FolderInfo:
    id: int
    mailbox_id: int
    name: str
    special_use: str | None
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    subscribed: bool
    recent_uid: int = 1
    keywords: tuple[str, ...] = ()


_F = Folder.__table__.c
_E = FolderEntry.__table__.c
_P = PrivateFlags.__table__.c
_DELETED_ROWS = PreparedStatement(
    select(_E.id, _E.uid, _E.flags)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")),
           _E.flags.contains(DELETED, autoescape=True))
    .order_by(_E.uid))
_DELETE_ENTRY = PreparedStatement(
    delete(FolderEntry.__table__).where(_E.id == bindparam("b_entry")))
_ADD_EXPUNGED = PreparedStatement(insert(ExpungedEntry.__table__).values(
    folder_id=bindparam("b_folder"), uid=bindparam("b_uid"), modseq=bindparam("b_modseq")))
_MOVED_ROWS = PreparedStatement(
    select(_E.id, _E.uid, _E.flags)
    .where(_E.folder_id == bindparam("b_folder"),
           _E.uid.between(bindparam("b_low"), bindparam("b_high")))
    .order_by(_E.uid))
_CLAIM_RECENT = PreparedStatement(
    update(Folder.__table__).where(_F.id == bindparam("b_folder"),
                                   _F.recent_uid < bindparam("b_upto"))
    .values(recent_claimed=_F.recent_uid, recent_uid=bindparam("b_upto"))
    .returning(_F.recent_claimed, _F.recent_uid))


def _remove_plan(db: Reads, folder_id: int, rows: list[tuple[Any, ...]]
                 ) -> tuple[list[int], int, int]:
    """Remove entries ((id, uid, ...) rows) and remember their UIDs (RFC 7162 §3.2.5):
    (removed UIDs, MODSEQ of the removal, mailbox id)."""
    if not rows:
        return [], 0, 0
    modseq, mailbox_id = db.first(BUMP_FOLDER_MODSEQ, b_folder=folder_id) or (0, 0)
    db.execute_many(_DELETE_ENTRY, [{"b_entry": row[0]} for row in rows])
    db.execute_many(_ADD_EXPUNGED, [{"b_folder": folder_id, "b_uid": row[1], "b_modseq": modseq}
                                    for row in rows])
    return [row[1] for row in rows], modseq, mailbox_id


def _expunge_plan(db: Reads, folder_id: int, uids: Sequence[int] | None
                  ) -> tuple[list[int], int, int]:
    rows = [row for row in rows_of_uids(db, _DELETED_ROWS, folder_id, uids)
            if DELETED in flags_set(row[2])]
    return _remove_plan(db, folder_id, rows)
_FOLDER_COLUMNS = (_F.id, _F.mailbox_id, _F.name, _F.special_use, _F.uidvalidity, _F.uidnext,
                   _F.highestmodseq, _F.subscribed, _F.recent_uid, _F.keywords)
_FOLDERS_OF = PreparedRead(
    select(*_FOLDER_COLUMNS).where(_F.mailbox_id == bindparam("b_mailbox")).order_by(_F.name))
_FOLDER_NAMED = PreparedRead(select(*_FOLDER_COLUMNS).where(
    _F.mailbox_id == bindparam("b_mailbox"), _F.name == bindparam("b_name")))


def _folder_info_of(row: tuple[Any, ...]) -> FolderInfo:
    """A FolderInfo from a row of _FOLDER_COLUMNS."""
    return FolderInfo(
        id=row[0], mailbox_id=row[1], name=row[2], special_use=row[3], uidvalidity=row[4],
        uidnext=row[5], highestmodseq=row[6], subscribed=bool(row[7]), recent_uid=row[8],
        keywords=tuple((row[9] or "").split()),
    )


_SORT_VALUES = [getattr(_E, key) for key in ENTRY_SORT_KEYS]


async def _sort_values_of(session: AsyncSession, folder_id: int, uids: Sequence[int]
                          ) -> dict[int, dict[str, Any]]:
    """The sort keys of the folder's entries by UID (a COPY or MOVE keeps them): the
    UID range in one query, the others left out here."""
    if not uids:
        return {}
    wanted = set(uids)
    rows = (await session.execute(
        select(_E.uid, *_SORT_VALUES).where(_E.folder_id == folder_id,
                                            _E.uid.between(min(uids), max(uids))))).all()
    return {row[0]: dict(zip(ENTRY_SORT_KEYS, row[1:], strict=True))
            for row in rows if row[0] in wanted}


class MailStore:
    def __init__(
        self, blobs: BlobBackend, keyring: Keyring,
        read_sessions: async_sessionmaker[AsyncSession],
        thread_reads: ThreadReads | None = None,
    ) -> None:
        self.contents = MessageContents(blobs, keyring, read_sessions, thread_reads)
        self.mailboxes = MailboxLookup(read_sessions)
        self.reads = EntryReads()
        self.flags = FlagChanges()
        self.delivery = MailDelivery()
        self._read_sessions = read_sessions

    # -- folders ----------------------------------------------------------------------

    async def folders(self, session: AsyncSession, mailbox_id: int) -> list[FolderInfo]:
        rows = await run_read(session, lambda reads: reads.rows(_FOLDERS_OF,
                                                                 b_mailbox=mailbox_id))
        return [_folder_info_of(row) for row in rows]

    async def folder(self, session: AsyncSession, mailbox_id: int, name: str) -> FolderInfo:
        if name.upper() == INBOX:
            name = INBOX  # RFC 3501 §5.1: INBOX is case-insensitive
        row = await run_read(session, lambda reads: reads.first(
            _FOLDER_NAMED, b_mailbox=mailbox_id, b_name=name))
        if row is None:
            raise MailStoreError("NONEXISTENT", f"no folder named {name!r}")
        return _folder_info_of(row)

    async def _folder_row(self, session: AsyncSession, mailbox_id: int, name: str) -> Folder:
        if name.upper() == INBOX:
            name = INBOX  # RFC 3501 §5.1: INBOX is case-insensitive
        row = (
            await session.execute(
                select(Folder).where(Folder.mailbox_id == mailbox_id, Folder.name == name)
            )
        ).scalar_one_or_none()
        if row is None:
            raise MailStoreError("NONEXISTENT", f"no folder named {name!r}")
        return row

    async def create_folder(
        self, uow: UnitOfWork, mailbox_id: int, name: str, special_use: str | None = None,
        *, subscribed: bool = True,
    ) -> FolderInfo:
        """A new folder; IMAP CREATE passes `subscribed=False` (RFC 3501 §6.3.3 does not
        subscribe, LSUB lists only what the client subscribed to)."""
        if name.upper() == INBOX:
            raise MailStoreError("ALREADYEXISTS", "INBOX always exists")
        exists = (
            await uow.session.execute(
                select(Folder.id).where(Folder.mailbox_id == mailbox_id, Folder.name == name)
            )
        ).scalar_one_or_none()
        if exists is not None:
            raise MailStoreError("ALREADYEXISTS", f"folder {name!r} already exists")
        row = Folder(
            mailbox_id=mailbox_id, name=name, special_use=special_use,
            uidvalidity=new_uidvalidity(), uidnext=1, highestmodseq=1, subscribed=subscribed,
        )
        uow.session.add(row)
        await uow.session.flush()
        uow.publish(ChangeEvent("folder", mailbox_id, row.id))
        return _folder_info(row)

    async def rename_folder(
        self, uow: UnitOfWork, mailbox_id: int, old: str, new: str, separator: str = "/"
    ) -> None:
        """RFC 3501 §6.3.5: children move with their parent; INBOX renames move its mail."""
        if new.upper() == INBOX:
            raise MailStoreError("ALREADYEXISTS", "cannot rename to INBOX")
        session = uow.session
        source = await self._folder_row(session, mailbox_id, old)
        taken = (
            await session.execute(
                select(Folder.id).where(Folder.mailbox_id == mailbox_id, Folder.name == new)
            )
        ).scalar_one_or_none()
        if taken is not None:
            raise MailStoreError("ALREADYEXISTS", f"folder {new!r} already exists")
        if source.name == INBOX:
            target = await self.create_folder(uow, mailbox_id, new)
            uids = [e.uid for e in await self.reads.entries(session, source.id)]
            await self.move(uow, source.id, uids, target.id)
            return
        children = (
            await session.execute(
                select(Folder).where(
                    Folder.mailbox_id == mailbox_id, Folder.name.startswith(old + separator)
                )
            )
        ).scalars().all()
        source.name = new
        source.uidvalidity = new_uidvalidity()
        for child in children:
            child.name = new + child.name[len(old):]
        await session.flush()
        uow.publish(ChangeEvent("folder", mailbox_id, source.id))

    async def delete_folder(self, uow: UnitOfWork, mailbox_id: int, name: str) -> None:
        row = await self._folder_row(uow.session, mailbox_id, name)
        if row.name == INBOX:
            raise MailStoreError("CANNOT", "INBOX cannot be deleted")
        await uow.session.execute(delete(FolderEntry).where(FolderEntry.folder_id == row.id))
        await uow.session.delete(row)
        await uow.session.flush()
        uow.publish(ChangeEvent("folder", mailbox_id, row.id))

    async def set_subscribed(
        self, uow: UnitOfWork, mailbox_id: int, name: str, subscribed: bool
    ) -> None:
        row = await self._folder_row(uow.session, mailbox_id, name)
        row.subscribed = subscribed
        uow.publish(ChangeEvent("folder", mailbox_id, row.id))  # RFC 5465 SubscriptionChange

    async def claim_recent(
        self, uow: UnitOfWork, folder_id: int, upto: int
    ) -> tuple[int, int] | None:
        """Claim the \\Recent messages below UID `upto` for one session (RFC 3501
        §2.3.2: only one session sees a message as recent). One UPDATE, atomic across
        sessions, processes and nodes: the SET expressions read the row before the
        change, so RETURNING gives the claimed UIDs ``[first, end)``; None when another
        session claimed them first."""
        connection = await uow.core()
        row = await run_in_transaction(connection, lambda db: db.first(
            _CLAIM_RECENT, b_folder=folder_id, b_upto=upto))
        uow.session.expire_all()
        return (int(row[0]), int(row[1])) if row is not None else None

    # -- expunge, copy, move ----------------------------------------------------------

    async def expunge(
        self, uow: UnitOfWork, folder_id: int, uids: Sequence[int] | None = None
    ) -> list[int]:
        """Remove `\\Deleted` entries (all, or only those UIDs: RFC 4315 UID EXPUNGE):
        one plan, which reads only the entries that carry the flag."""
        connection = await uow.core()
        removed = await run_in_transaction(connection,
                                           lambda db: _expunge_plan(db, folder_id, uids))
        return self._removed(uow, folder_id, removed)

    def _removed(self, uow: UnitOfWork, folder_id: int,
                 removed: tuple[list[int], int, int]) -> list[int]:
        uids, modseq, mailbox_id = removed
        for uid in uids:
            uow.publish(ChangeEvent("expunge", mailbox_id, folder_id, uid, modseq))
        uow.session.expire_all()
        return uids

    async def copy(
        self, uow: UnitOfWork, source_id: int, uids: Sequence[int], target_id: int,
        *, reader: str | None = None,
    ) -> list[tuple[int, int]]:
        """COPY (RFC 3501 §6.4.7) keeping flags; returns (source uid, new uid) pairs."""
        session = uow.session
        source = await session.get(Folder, source_id)
        target = await session.get(Folder, target_id)
        if source is None or target is None:
            raise MailStoreError("NONEXISTENT", "folder vanished")
        entries = await self.reads.entries(session, source_id, uids=uids, reader=reader)
        if not entries:
            return []
        first_uid, modseq = await allocate(session, target_id, len(entries))
        keys = await _sort_values_of(session, source_id, [e.uid for e in entries])
        pairs = []
        for offset, entry in enumerate(entries):
            message_id = entry.message_id
            if target.mailbox_id != source.mailbox_id:
                message_id = await self._copy_message_to(uow, entry, target.mailbox_id)
            new_uid = first_uid + offset
            session.add(FolderEntry(
                folder_id=target_id, message_id=message_id, uid=new_uid, modseq=modseq,
                flags=flags_text(entry.flags), saved_at=uow.now(),  # RFC 8514 §3
                **keys.get(entry.uid, {}),
            ))
            pairs.append((entry.uid, new_uid))
            uow.publish(ChangeEvent("exists", target.mailbox_id, target_id, new_uid, modseq))
        await session.flush()
        await add_keywords(uow, target_id, {f for e in entries for f in e.flags})
        return pairs

    async def _copy_message_to(self, uow: UnitOfWork, entry: EntryInfo, mailbox_id: int) -> int:
        """Another mailbox has another data key: re-encrypt the content for it."""
        raw = await self.contents.read_raw(entry.mailbox_id, entry.blob_key)
        blob = await self.contents.prepare_blob(mailbox_id, raw)
        original = await uow.session.get(StoredMessage, entry.message_id)
        assert original is not None
        message = StoredMessage(
            mailbox_id=mailbox_id, blob_key=blob.blob_key, sha256=blob.sha256, size=blob.size,
            internal_date=original.internal_date, message_id=original.message_id,
            subject=original.subject, from_addr=original.from_addr,
            to_addrs=original.to_addrs, sent_date=original.sent_date,
            sealed_header=blob.sealed_header, author=original.author,
            author_principal=original.author_principal,
            sort_subject=original.sort_subject,
            sort_from=original.sort_from, sort_to=original.sort_to, sort_cc=original.sort_cc,
        )
        uow.session.add(message)
        await uow.session.flush()
        return message.id

    async def move(
        self, uow: UnitOfWork, source_id: int, uids: Sequence[int], target_id: int,
        *, reader: str | None = None,
    ) -> list[tuple[int, int]]:
        """MOVE (RFC 6851): copy then expunge the sources, in the same transaction."""
        pairs = await self.copy(uow, source_id, uids, target_id, reader=reader)
        moved = [src for src, _ in pairs]
        connection = await uow.core()
        removed = await run_in_transaction(connection, lambda db: _remove_plan(
            db, source_id, rows_of_uids(db, _MOVED_ROWS, source_id, moved)))
        self._removed(uow, source_id, removed)
        return pairs


def _folder_info(row: Folder) -> FolderInfo:
    return FolderInfo(
        id=row.id, mailbox_id=row.mailbox_id, name=row.name, special_use=row.special_use,
        uidvalidity=row.uidvalidity, uidnext=row.uidnext, highestmodseq=row.highestmodseq,
        subscribed=row.subscribed, recent_uid=row.recent_uid,
        keywords=tuple((row.keywords or "").split()),
    )
