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

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from mss.store.blobs import BlobBackend
from mss.store.entry_reads import EntryInfo, EntryReads
from mss.store.events import ChangeEvent
from mss.store.flag_changes import FlagChanges, add_keywords
from mss.store.flags import DELETED, flags_set, flags_text
from mss.store.folder_counters import (
    ALLOCATE_BY_ID,
    ALLOCATE_BY_NAME,
    BUMP_FOLDER_MODSEQ,
    allocate,
)
from mss.store.header_summary import summarise_headers
from mss.store.keys import Keyring
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX, MailboxLookup, new_uidvalidity
from mss.store.message_contents import (
    MessageContents,
    PreparedBlob,
    insert_inline,
    keep_inline,
)
from mss.store.sort_keys import sort_keys_of
from mss.store.sqlite_driver import SqliteConnection, ThreadStatement
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
from mss.store.unit_of_work import DeferredWriteFailed, UnitOfWork


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


@dataclass(frozen=True, slots=True)
class MessageAuthor:
    """Who the pipeline accepted a message from: the mailbox (its checked MAIL FROM) and
    the authenticated principal's label (docs/sender-truth.md)."""

    mailbox: str
    principal: str


@dataclass(frozen=True, slots=True)
class Delivered:
    folder_id: int
    uid: int
    modseq: int
    message_id: int


_F = Folder.__table__.c
_E = FolderEntry.__table__.c
_P = PrivateFlags.__table__.c
_INSERT_MESSAGE = insert(StoredMessage.__table__).returning(StoredMessage.__table__.c.id)
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
_INSERT_ENTRY = insert(FolderEntry.__table__)
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


def _message_values(
    blob: PreparedBlob, raw_headers: bytes, internal_date: datetime, queue_id: str | None = None,
    author: MessageAuthor | None = None,
) -> dict[str, Any]:
    """The `messages` row of a delivery (one place for _deliver and late deliveries).

    `sent_date` is the sent date of RFC 5256 §2.2: the Date field's instant, or the
    arrival time when the field is missing or cannot be read (mss.store.header_dates)."""
    summary = summarise_headers(raw_headers)
    keys = sort_keys_of(summary.subject, raw_headers)
    return {
        "mailbox_id": blob.mailbox_id, "blob_key": blob.blob_key,
        "sha256": blob.sha256, "size": blob.size, "internal_date": internal_date,
        "message_id": summary.message_id, "subject": summary.subject,
        "from_addr": summary.from_addr, "to_addrs": summary.to_addrs,
        "sent_date": summary.date or internal_date, "sealed_header": blob.sealed_header,
        "queue_id": queue_id or None,
        "author": author.mailbox if author else None,
        "author_principal": author.principal if author else None,
        "sort_subject": keys.subject, "sort_from": keys.from_mailbox,
        "sort_to": keys.to_mailbox, "sort_cc": keys.cc_mailbox,
    }


ENTRY_SORT_KEYS = ("sort_date", "sort_arrival", "sort_size", "sort_from", "sort_to",
                   "sort_cc", "sort_subject")


def _entry_sort_values(message: dict[str, Any]) -> dict[str, Any]:
    """The sort keys an entry keeps beside it, from its `messages` row (`_message_values`):
    DATE is the sent date, which is the internal date when the Date field is unusable."""
    return {
        "sort_date": message["sent_date"], "sort_arrival": message["internal_date"],
        "sort_size": message["size"], "sort_from": message["sort_from"],
        "sort_to": message["sort_to"], "sort_cc": message["sort_cc"],
        "sort_subject": message["sort_subject"],
    }


@dataclass(frozen=True, slots=True)
class _LateDelivery:
    uow: UnitOfWork
    folder_name: str
    blob: PreparedBlob
    message: dict[str, Any]
    flags: str


@dataclass(frozen=True, slots=True)
class _ThreadDelivery:
    """The three delivery statements compiled for SQLite's connection thread."""

    allocate: ThreadStatement
    message: ThreadStatement
    entry: ThreadStatement
    inline: ThreadStatement


_THREAD_DELIVERY: dict[str, _ThreadDelivery] = {}


def _thread_delivery(dialect: Dialect, message_keys: Sequence[str]) -> _ThreadDelivery:
    compiled = _THREAD_DELIVERY.get(dialect.name)
    if compiled is None:
        compiled = _THREAD_DELIVERY[dialect.name] = _ThreadDelivery(
            ThreadStatement.compile(ALLOCATE_BY_NAME, dialect),
            ThreadStatement.compile(_INSERT_MESSAGE, dialect, message_keys),
            ThreadStatement.compile(
                _INSERT_ENTRY, dialect,
                ["folder_id", "message_id", "uid", "modseq", "flags", *ENTRY_SORT_KEYS]
            ),
            ThreadStatement.compile(insert_inline(dialect), dialect,
                                    ["mailbox_id", "blob_key", "sealed"]),
        )
    return compiled


def _deliver_in_thread(
    statements: _ThreadDelivery, items: list[_LateDelivery], conn: sqlite3.Connection
) -> list[tuple[int, int, int]]:
    """Each delivery's statements (as _deliver runs them), all in one hop."""
    done = []
    for position, item in enumerate(items):
        try:
            if item.blob.inline is not None:
                statements.inline.execute(conn, {
                    "mailbox_id": item.blob.mailbox_id, "blob_key": item.blob.blob_key,
                    "sealed": item.blob.inline})
            allocated = statements.allocate.execute(
                conn, {"b_mailbox": item.blob.mailbox_id, "b_name": item.folder_name})
            if not allocated:
                raise MailStoreError("NONEXISTENT", "no such folder")
            folder_id, uidnext, modseq, _ = allocated[0]
            (message_id,), = statements.message.execute(conn, item.message)
            statements.entry.execute(conn, {
                "folder_id": folder_id, "message_id": message_id, "uid": uidnext - 1,
                "modseq": modseq, "flags": item.flags, **_entry_sort_values(item.message),
            })
        except Exception as error:
            raise DeferredWriteFailed(position, error) from error
        done.append((folder_id, uidnext - 1, modseq))
    return done


async def _run_late_deliveries(connection: AsyncConnection, items: list[_LateDelivery]) -> None:
    """The batch's late deliveries: on SQLite in one hop to the connection's thread
    (the transaction holds the database's one write lock anyway); on PostgreSQL with
    the folder counters taken last (`_deliver_then_allocate`)."""
    driver = (await connection.get_raw_connection()).driver_connection
    if isinstance(driver, SqliteConnection):
        statements = _thread_delivery(connection.dialect, list(items[0].message))
        done = await driver.run(partial(_deliver_in_thread, statements, items))
        for item, (folder_id, uid, modseq) in zip(items, done, strict=True):
            item.uow.publish(ChangeEvent("exists", item.blob.mailbox_id, folder_id, uid, modseq))
        return
    await _deliver_then_allocate(connection, items)


_FOLDERS_NAMED = select(_F.id, _F.mailbox_id, _F.name).where(
    _F.mailbox_id.in_(bindparam("b_mailboxes", expanding=True)),
    _F.name.in_(bindparam("b_names", expanding=True)))
# ORDER BY before FOR UPDATE: the rows are locked in id order, by every transaction
# (PostgreSQL SELECT, "The Locking Clause"), so two batches never wait on each other
# in a cycle
_LOCK_FOLDERS = (select(_F.id).where(_F.id.in_(bindparam("b_ids", expanding=True)))
                 .order_by(_F.id).with_for_update())
# the rows are locked already (above): one statement for every folder of the batch
_ALLOCATE_COUNTS = text(
    "UPDATE folders AS f SET uidnext = f.uidnext + w.n, highestmodseq = f.highestmodseq + w.n"
    " FROM unnest(CAST(:b_ids AS bigint[]), CAST(:b_counts AS bigint[])) AS w(id, n)"
    " WHERE f.id = w.id RETURNING f.id, f.uidnext, f.highestmodseq")
_INSERT_MESSAGES = insert(StoredMessage.__table__).returning(
    StoredMessage.__table__.c.id, sort_by_parameter_order=True)


async def _deliver_then_allocate(connection: AsyncConnection,
                                 items: list[_LateDelivery]) -> None:
    """Deliveries whose folder rows are locked only at the end of the batch, just before
    its audit rows and COMMIT (issue 24: a hot INBOX or Sent row locked at the first
    delivery was held while the node ran the rest of the batch, and the other nodes
    waited on it): the folders are found without a lock, the messages written, then
    every folder's counters taken at once, rows locked in id order, one UPDATE per
    folder for all its messages; each message still gets its own UID and MODSEQ, in
    the order of the batch (RFC 3501 §2.3.1.1, RFC 7162 §3.1). The lock is held until
    COMMIT, so UIDs stay increasing in commit order across nodes."""
    found = (await connection.execute(_FOLDERS_NAMED, {
        "b_mailboxes": sorted({i.blob.mailbox_id for i in items}),
        "b_names": sorted({i.folder_name for i in items})})).all()
    folder_ids = {(mailbox_id, name): folder_id for folder_id, mailbox_id, name in found}
    targets: list[int] = []
    for position, item in enumerate(items):
        folder_id = folder_ids.get((item.blob.mailbox_id, item.folder_name))
        if folder_id is None:
            error = MailStoreError("NONEXISTENT", "no such folder")
            raise DeferredWriteFailed(position, error) from error
        targets.append(folder_id)
    inline = {(i.blob.mailbox_id, i.blob.blob_key): i.blob.inline for i in items
              if i.blob.inline is not None}
    try:  # one statement for all; on a failure, again one by one to name the item
        async with connection.begin_nested():
            if inline:
                await connection.execute(insert_inline(connection.dialect), [
                    {"mailbox_id": m, "blob_key": k, "sealed": v}
                    for (m, k), v in inline.items()])
            message_ids = list((await connection.execute(
                _INSERT_MESSAGES, [i.message for i in items])).scalars().all())
    except Exception:
        message_ids = []
        for position, item in enumerate(items):
            try:
                await keep_inline(connection, item.blob)
                message_ids.append(
                    (await connection.execute(_INSERT_MESSAGE, item.message)).scalar_one())
            except Exception as error:
                raise DeferredWriteFailed(position, error) from error
    counts: dict[int, int] = {}
    for folder_id in targets:
        counts[folder_id] = counts.get(folder_id, 0) + 1
    order = sorted(counts)
    await connection.execute(_LOCK_FOLDERS, {"b_ids": order})
    after = {row[0]: (row[1], row[2]) for row in (await connection.execute(
        _ALLOCATE_COUNTS, {"b_ids": order, "b_counts": [counts[f] for f in order]})).all()}
    next_of = {f: (uidnext - counts[f], modseq - counts[f] + 1)
               for f, (uidnext, modseq) in after.items()}
    entries = []
    for item, folder_id, message_id in zip(items, targets, message_ids, strict=True):
        uid, modseq = next_of[folder_id]
        next_of[folder_id] = (uid + 1, modseq + 1)
        entries.append({"folder_id": folder_id, "message_id": message_id, "uid": uid,
                        "modseq": modseq, "flags": item.flags,
                        **_entry_sort_values(item.message)})
        item.uow.publish(ChangeEvent("exists", item.blob.mailbox_id, folder_id, uid, modseq))
    await connection.execute(_INSERT_ENTRY, entries)


async def _insert_delivery(
    uow: UnitOfWork, connection: AsyncConnection, allocated: Row[*tuple[Any, ...]] | None,
    blob: PreparedBlob, message: dict[str, Any], flags: str, saved_at: datetime | None = None,
) -> Delivered:
    if allocated is None:
        raise MailStoreError("NONEXISTENT", "no such folder")
    folder_id, uid, modseq, mailbox_id = (
        allocated[0], allocated[1] - 1, allocated[2], allocated[3]
    )
    if mailbox_id != blob.mailbox_id:
        raise MailStoreError("CANNOT", "blob prepared for another mailbox")
    await keep_inline(connection, blob)
    message_id = (await connection.execute(_INSERT_MESSAGE, message)).scalar_one()
    await connection.execute(_INSERT_ENTRY, {
        "folder_id": folder_id, "message_id": message_id, "uid": uid, "modseq": modseq,
        "flags": flags, "saved_at": saved_at, **_entry_sort_values(message),
    })
    uow.publish(ChangeEvent("exists", blob.mailbox_id, folder_id, uid, modseq))
    return Delivered(folder_id, uid, modseq, message_id)


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

    # -- delivery ---------------------------------------------------------------------

    async def deliver(
        self, uow: UnitOfWork, folder_id: int, blob: PreparedBlob, raw_headers: bytes,
        *, flags: Iterable[str] = (), internal_date: datetime | None = None,
    ) -> Delivered:
        """Add a message to a folder named by id (APPEND)."""
        connection = await uow.core()
        allocated = (await connection.execute(ALLOCATE_BY_ID, {"b_folder": folder_id})).first()
        return await self._deliver(uow, allocated, blob, raw_headers, flags, internal_date)

    async def deliver_to_folder(
        self, uow: UnitOfWork, folder_name: str, blob: PreparedBlob, raw_headers: bytes,
        *, flags: Iterable[str] = (), internal_date: datetime | None = None,
    ) -> Delivered:
        """Add a message to a folder of the blob's mailbox named by name (delivery, Sent)."""
        connection = await uow.core()
        allocated = (
            await connection.execute(
                ALLOCATE_BY_NAME, {"b_mailbox": blob.mailbox_id, "b_name": folder_name}
            )
        ).first()
        return await self._deliver(uow, allocated, blob, raw_headers, flags, internal_date)

    async def _deliver(
        self, uow: UnitOfWork, allocated: Row[Any] | None, blob: PreparedBlob,
        raw_headers: bytes, flags: Iterable[str], internal_date: datetime | None,
    ) -> Delivered:
        """Three statements in all: allocate UID/MODSEQ (which also finds the folder),
        insert the message, insert the entry; prebuilt Core statements, since building
        and caching statements costs more than the SQL on this path, run on the
        transaction's connection (no ORM session work per statement; the callers
        flushed the session, see `UnitOfWork.core`)."""
        message = _message_values(blob, raw_headers, internal_date or uow.now())
        flags = list(flags)
        # RFC 8514: saved now; kept apart only when the internal date is another time
        saved_at = uow.now() if internal_date is not None else None
        delivered = await _insert_delivery(uow, uow.connection, allocated, blob, message,
                                           flags_text(flags), saved_at)
        await add_keywords(uow, delivered.folder_id, flags)
        return delivered

    def deliver_to_folder_later(
        self, uow: UnitOfWork, folder_name: str, blob: PreparedBlob, raw_headers: bytes,
        *, flags: Iterable[str] = (), internal_date: datetime | None = None,
        queue_id: str | None = None, author: MessageAuthor | None = None,
    ) -> None:
        """`deliver_to_folder` for a job that needs no UID back (the pipeline): the
        delivery runs with the batch's others after every job of the batch, in the same
        transaction, and on SQLite all of them in one hop to the database thread
        (docs/design-notes.md, Performance: a delivery's three awaited statements each waited a turn
        of a busy
        event loop). A failure is the job's, as if raised by deliver_to_folder."""
        message = _message_values(blob, raw_headers, internal_date or uow.now(), queue_id,
                                  author)
        uow.defer(_run_late_deliveries,
                  _LateDelivery(uow, folder_name, blob, message, flags_text(flags)))

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
