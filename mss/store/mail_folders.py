"""A mailbox's folders: finding them by name, CREATE, RENAME, DELETE, SUBSCRIBE
(RFC 3501 §6.3), and claiming their \\Recent messages (RFC 3501 §2.3.2).

Every change of a folder publishes a `folder` change event, delivered after commit
(RFC 5465 MailboxName and SubscriptionChange events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.entry_moves import EntryMoves
from mss.store.entry_reads import EntryReads
from mss.store.events import ChangeEvent
from mss.store.insert_once import insert_once
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX, new_uidvalidity
from mss.store.tables import Folder, FolderEntry, Mailbox
from mss.store.thread_reads import PreparedRead, PreparedStatement, run_in_transaction, run_read
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
_CLAIM_RECENT = PreparedStatement(
    update(Folder.__table__).where(_F.id == bindparam("b_folder"),
                                   _F.recent_uid < bindparam("b_upto"))
    .values(recent_claimed=_F.recent_uid, recent_uid=bindparam("b_upto"))
    .returning(_F.recent_claimed, _F.recent_uid))
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


_HOLD_MAILBOX = select(Mailbox.__table__.c.id).where(
    Mailbox.__table__.c.id == bindparam("b_mailbox")).with_for_update()


async def _hold_hierarchy(uow: UnitOfWork, mailbox_id: int) -> None:
    """Hold the mailbox row until the commit: CREATE, RENAME and DELETE of one mailbox's
    folders from two processes or nodes run one after the other (RFC 3501 §6.3.5: a
    RENAME sees the names as they are), never both on the same read."""
    connection = await uow.core()
    await connection.execute(_HOLD_MAILBOX, {"b_mailbox": mailbox_id})


class MailFolders:
    """Folders of mailboxes, read in the caller's session or changed in the job's
    transaction; renaming INBOX moves its entries (`EntryMoves`)."""

    def __init__(self, reads: EntryReads, moves: EntryMoves) -> None:
        self.reads = reads
        self.moves = moves

    async def of_mailbox(self, session: AsyncSession, mailbox_id: int) -> list[FolderInfo]:
        """The mailbox's folders, in name order."""
        rows = await run_read(session, lambda reads: reads.rows(_FOLDERS_OF,
                                                                 b_mailbox=mailbox_id))
        return [_folder_info_of(row) for row in rows]

    async def named(self, session: AsyncSession, mailbox_id: int, name: str) -> FolderInfo:
        """The mailbox's folder `name`; MailStoreError NONEXISTENT when it has none."""
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

    async def create(
        self, uow: UnitOfWork, mailbox_id: int, name: str, special_use: str | None = None,
        *, subscribed: bool = True,
    ) -> FolderInfo:
        """A new folder; IMAP CREATE passes `subscribed=False` (RFC 3501 §6.3.3 does not
        subscribe, LSUB lists only what the client subscribed to)."""
        if name.upper() == INBOX:
            raise MailStoreError("ALREADYEXISTS", "INBOX always exists")
        await _hold_hierarchy(uow, mailbox_id)
        # one statement, so that two sessions creating the same name at once (two IMAP
        # processes, two nodes) give the later one ALREADYEXISTS, not a constraint error
        values = {"mailbox_id": mailbox_id, "name": name, "special_use": special_use,
                  "uidvalidity": new_uidvalidity(), "uidnext": 1, "highestmodseq": 1,
                  "subscribed": subscribed}
        connection = await uow.core()
        made = (await connection.execute(
            insert_once(connection.dialect, Folder.__table__, ["mailbox_id", "name"])
            .values(values).returning(*_FOLDER_COLUMNS))).first()
        if made is None:
            raise MailStoreError("ALREADYEXISTS", f"folder {name!r} already exists")
        info = _folder_info_of(tuple(made))
        uow.publish(ChangeEvent("folder", mailbox_id, info.id))
        return info

    async def rename(
        self, uow: UnitOfWork, mailbox_id: int, old: str, new: str, separator: str = "/"
    ) -> None:
        """RFC 3501 §6.3.5: children move with their parent; INBOX renames move its mail."""
        if new.upper() == INBOX:
            raise MailStoreError("ALREADYEXISTS", "cannot rename to INBOX")
        session = uow.session
        await _hold_hierarchy(uow, mailbox_id)
        source = await self._folder_row(session, mailbox_id, old)
        taken = (
            await session.execute(
                select(Folder.id).where(Folder.mailbox_id == mailbox_id, Folder.name == new)
            )
        ).scalar_one_or_none()
        if taken is not None:
            raise MailStoreError("ALREADYEXISTS", f"folder {new!r} already exists")
        if source.name == INBOX:
            target = await self.create(uow, mailbox_id, new)
            uids = [e.uid for e in await self.reads.entries(session, source.id)]
            await self.moves.move(uow, source.id, uids, target.id)
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

    async def delete(self, uow: UnitOfWork, mailbox_id: int, name: str) -> None:
        await _hold_hierarchy(uow, mailbox_id)
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
