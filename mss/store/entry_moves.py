"""Entries joining or leaving folders: COPY (RFC 3501 §6.4.7), MOVE (RFC 6851) and
EXPUNGE (RFC 3501 §6.4.3, UID EXPUNGE of RFC 4315).

A copy keeps the entry's flags and sort keys, takes new UIDs and one MODSEQ in the
target (mss.store.folder_counters) and, into another mailbox, re-seals the content
under that mailbox's key. A removal takes one MODSEQ of the folder and remembers the
removed UIDs for QRESYNC (RFC 7162 §3.2.5). Every change publishes a change event,
delivered after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.entry_reads import EntryInfo, EntryReads
from mss.store.events import ChangeEvent
from mss.store.flag_changes import add_keywords
from mss.store.flags import DELETED, flags_set, flags_text
from mss.store.folder_counters import BUMP_FOLDER_MODSEQ, allocate
from mss.store.mail_delivery import ENTRY_SORT_KEYS
from mss.store.mail_errors import MailStoreError
from mss.store.message_contents import MessageContents
from mss.store.tables import ExpungedEntry, Folder, FolderEntry, StoredMessage
from mss.store.thread_reads import PreparedStatement, Reads, run_in_transaction
from mss.store.uid_sets import rows_of_uids
from mss.store.unit_of_work import UnitOfWork

_E = FolderEntry.__table__.c
# Removals as plans (mss.store.thread_reads): one hop to the writing thread
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


def _published_removal(uow: UnitOfWork, folder_id: int,
                       removed: tuple[list[int], int, int]) -> list[int]:
    """Publish a removal (`_remove_plan`'s result) and expire the session's loaded rows,
    which the plan changed past the ORM; the removed UIDs."""
    uids, modseq, mailbox_id = removed
    for uid in uids:
        uow.publish(ChangeEvent("expunge", mailbox_id, folder_id, uid, modseq))
    uow.session.expire_all()
    return uids


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


class EntryMoves:
    """COPY, MOVE and EXPUNGE of a folder's entries, in the job's transaction; a copy
    reads the entries as the reader sees them (`EntryReads`) and, into another mailbox,
    the contents (`MessageContents`)."""

    def __init__(self, contents: MessageContents, reads: EntryReads) -> None:
        self.contents = contents
        self.reads = reads

    async def expunge(
        self, uow: UnitOfWork, folder_id: int, uids: Sequence[int] | None = None
    ) -> list[int]:
        """Remove `\\Deleted` entries (all, or only those UIDs: RFC 4315 UID EXPUNGE):
        one plan, which reads only the entries that carry the flag."""
        connection = await uow.core()
        removed = await run_in_transaction(connection,
                                           lambda db: _expunge_plan(db, folder_id, uids))
        return _published_removal(uow, folder_id, removed)

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
        _published_removal(uow, source_id, removed)
        return pairs
