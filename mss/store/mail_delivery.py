"""Delivery into folders: a new message and its entry (the pipeline, IMAP APPEND).

Each delivery allocates the entry's UID and MODSEQ (mss.store.folder_counters), writes
the `messages` row with the header summary and the sort keys it is read and sorted by,
and the folder entry; the blob was prepared before the job
(mss.store.message_contents), an inline one is written here, in the same transaction.
Every delivery publishes an `exists` change event, delivered after commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.store.events import ChangeEvent
from mss.store.flag_changes import add_folder_keywords, add_keywords, add_keywords_plan
from mss.store.flags import flags_text
from mss.store.folder_counters import ALLOCATE_BY_ID, ALLOCATE_BY_NAME
from mss.store.header_summary import summarise_headers
from mss.store.late_counters import LateKind, LateWork, Taken, late_counters, run_late_counters
from mss.store.mail_errors import MailStoreError
from mss.store.message_contents import PreparedBlob, insert_inline, keep_inline
from mss.store.sort_keys import sort_keys_of
from mss.store.sqlite_driver import SqliteConnection, ThreadStatement
from mss.store.tables import Folder, FolderEntry, StoredMessage
from mss.store.thread_reads import SqliteReads
from mss.store.unit_of_work import DeferredWriteFailed, UnitOfWork


@dataclass(frozen=True, slots=True)
class MessageAuthor:
    """Who the pipeline accepted a message from: the mailbox (its checked MAIL FROM) and
    the authenticated principal's label (docs/sender-truth.md)."""

    mailbox: str
    principal: str


@dataclass(slots=True)
class Delivered:
    """Where a message went. From `MailDelivery.deliver` on PostgreSQL, `uid` and
    `modseq` are known only at the end of the batch (mss.store.late_counters): read
    them after the job, or in its `then`."""

    folder_id: int
    uid: int
    modseq: int
    message_id: int


_F = Folder.__table__.c
_INSERT_MESSAGE = insert(StoredMessage.__table__).returning(StoredMessage.__table__.c.id)
_INSERT_ENTRY = insert(FolderEntry.__table__)


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


@dataclass(slots=True)
class _LateDelivery(LateWork):
    kind: ClassVar[LateKind]
    uow: UnitOfWork
    folder_name: str
    blob: PreparedBlob
    message: dict[str, Any]
    flags: str
    message_id: int = 0  # written before the folder rows are locked
    uids: int = 1


@dataclass(frozen=True, slots=True)
class _ThreadDelivery:
    """The delivery statements compiled for SQLite's connection thread."""

    allocate: ThreadStatement
    message: ThreadStatement
    entry: ThreadStatement
    inline: ThreadStatement
    allocate_by_id: ThreadStatement  # APPEND's (`_append_in_thread`)
    entry_saved: ThreadStatement  # with the RFC 8514 save date


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
            ThreadStatement.compile(ALLOCATE_BY_ID, dialect),
            ThreadStatement.compile(
                _INSERT_ENTRY, dialect,
                ["folder_id", "message_id", "uid", "modseq", "flags", "saved_at",
                 *ENTRY_SORT_KEYS]),
        )
    return compiled


def _append_in_thread(
    statements: _ThreadDelivery, dialect: Dialect, folder_id: int, blob: PreparedBlob,
    message: dict[str, Any], flags: str, keywords: list[str], saved_at: datetime | None,
    conn: sqlite3.Connection,
) -> Delivered:
    """`_insert_delivery` and `add_keywords` for a folder named by id, in one hop to
    SQLite's writing thread: the same statements in the same order and transaction."""
    allocated = statements.allocate_by_id.execute(conn, {"b_folder": folder_id})
    if not allocated:
        raise MailStoreError("NONEXISTENT", "no such folder")
    folder_id, uidnext, modseq, mailbox_id = allocated[0]
    if mailbox_id != blob.mailbox_id:
        raise MailStoreError("CANNOT", "blob prepared for another mailbox")
    if blob.inline is not None:
        statements.inline.execute(conn, {"mailbox_id": blob.mailbox_id,
                                         "blob_key": blob.blob_key, "sealed": blob.inline})
    (message_id,), = statements.message.execute(conn, message)
    statements.entry_saved.execute(conn, {
        "folder_id": folder_id, "message_id": message_id, "uid": uidnext - 1,
        "modseq": modseq, "flags": flags, "saved_at": saved_at,
        **_entry_sort_values(message)})
    add_keywords_plan(SqliteReads(conn, dialect), folder_id, keywords)
    return Delivered(folder_id, uidnext - 1, modseq, message_id)


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


class _Deliveries(LateKind):
    """The pipeline's late deliveries (`deliver_to_folder_later`)."""

    async def on_sqlite(self, connection: AsyncConnection, items: Sequence[Any]) -> None:
        """In one hop to the connection's thread (the transaction holds the database's
        one write lock anyway), each delivery taking its counters as `_deliver` does."""
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, SqliteConnection)
        statements = _thread_delivery(connection.dialect, list(items[0].message))
        done = await driver.run(partial(_deliver_in_thread, statements, list(items)))
        for item, (folder_id, uid, modseq) in zip(items, done, strict=True):
            item.uow.publish(ChangeEvent("exists", item.blob.mailbox_id, folder_id, uid, modseq))

    async def prepare(self, connection: AsyncConnection, items: Sequence[Any]) -> list[int]:
        """Deliveries whose folder rows are locked only at the end of the batch, just
        before its audit rows and COMMIT (issue 24: a hot INBOX or Sent row locked at the
        first delivery was held while the node ran the rest of the batch, and the other
        nodes waited on it): the folders are found without a lock and the messages
        written here; `write` then gives each its own UID and MODSEQ, in the order of the
        batch (RFC 3501 §2.3.1.1, RFC 7162 §3.1)."""
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
        for item, message_id in zip(items, message_ids, strict=True):
            item.message_id = message_id
        return targets

    async def write(self, connection: AsyncConnection, items: Sequence[Any],
                    taken: Sequence[Taken]) -> None:
        entries = []
        for item, given in zip(items, taken, strict=True):
            entries.append({"folder_id": given.folder_id, "message_id": item.message_id,
                            "uid": given.first_uid, "modseq": given.first_modseq,
                            "flags": item.flags, **_entry_sort_values(item.message)})
            item.uow.publish(ChangeEvent("exists", item.blob.mailbox_id, given.folder_id,
                                         given.first_uid, given.first_modseq))
        await connection.execute(_INSERT_ENTRY, entries)


_FOLDERS_NAMED = select(_F.id, _F.mailbox_id, _F.name).where(
    _F.mailbox_id.in_(bindparam("b_mailboxes", expanding=True)),
    _F.name.in_(bindparam("b_names", expanding=True)))
_INSERT_MESSAGES = insert(StoredMessage.__table__).returning(
    StoredMessage.__table__.c.id, sort_by_parameter_order=True)
_FOLDER_MAILBOX = select(_F.mailbox_id).where(_F.id == bindparam("b_folder"))


@dataclass(slots=True)
class _LateAppend(LateWork):
    """An APPEND on PostgreSQL: its message is written in the job, its entry at the end
    of the batch (`_Appends`)."""

    kind: ClassVar[LateKind]
    uow: UnitOfWork
    folder_id: int
    message: dict[str, Any]
    flags: str
    keywords: list[str]
    saved_at: datetime | None
    delivered: Delivered
    then: Callable[[Delivered], None] | None
    uids: int = 1


class _Appends(LateKind):
    async def write(self, connection: AsyncConnection, items: Sequence[Any],
                    taken: Sequence[Taken]) -> None:
        entries = []
        keywords: dict[int, set[str]] = {}
        for item, given in zip(items, taken, strict=True):
            delivered: Delivered = item.delivered
            delivered.uid, delivered.modseq = given.first_uid, given.first_modseq
            entries.append({"folder_id": given.folder_id, "message_id": delivered.message_id,
                            "uid": given.first_uid, "modseq": given.first_modseq,
                            "flags": item.flags, "saved_at": item.saved_at,
                            **_entry_sort_values(item.message)})
            keywords.setdefault(given.folder_id, set()).update(item.keywords)
            item.uow.publish(ChangeEvent("exists", given.mailbox_id, given.folder_id,
                                         given.first_uid, given.first_modseq))
        await connection.execute(_INSERT_ENTRY, entries)
        await add_folder_keywords(connection, keywords)
        for item in items:
            if item.then is not None:
                item.then(item.delivered)


_DELIVERIES = _Deliveries()
_LateDelivery.kind = _DELIVERIES
_LateAppend.kind = _Appends()


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


class MailDelivery:
    """Adds messages to folders, in the job's transaction."""

    async def deliver(
        self, uow: UnitOfWork, folder_id: int, blob: PreparedBlob, raw_headers: bytes,
        *, flags: Iterable[str] = (), internal_date: datetime | None = None,
        then: Callable[[Delivered], None] | None = None,
    ) -> Delivered:
        """Add a message to a folder named by id (APPEND, RFC 3501 §6.3.11).

        On SQLite in one hop to the writing thread (docs/design-notes.md, Performance).
        On PostgreSQL the message is written now and its entry at the end of the batch,
        when the folder row is locked (mss.store.late_counters): the returned `Delivered`
        gets its UID and MODSEQ then, and `then` is called with it (at once on SQLite),
        still inside the transaction, before the audit rows are saved."""
        connection = await uow.core()
        message = _message_values(blob, raw_headers, internal_date or uow.now())
        flags = list(flags)
        keywords = sorted({f for f in flags if not f.startswith("\\")})
        # RFC 8514: saved now; kept apart only when the internal date is another time
        saved_at = uow.now() if internal_date is not None else None
        if not late_counters(uow):
            driver = (await connection.get_raw_connection()).driver_connection
            assert isinstance(driver, SqliteConnection)  # the one other engine
            statements = _thread_delivery(connection.dialect, list(message))
            delivered = await driver.run(partial(
                _append_in_thread, statements, connection.dialect, folder_id, blob, message,
                flags_text(flags), keywords, saved_at))
            uow.publish(ChangeEvent("exists", blob.mailbox_id, delivered.folder_id,
                                    delivered.uid, delivered.modseq))
            if then is not None:
                then(delivered)
            return delivered
        mailbox_id = (await connection.execute(_FOLDER_MAILBOX, {"b_folder": folder_id})
                      ).scalar_one_or_none()
        if mailbox_id is None:
            raise MailStoreError("NONEXISTENT", "no such folder")
        if mailbox_id != blob.mailbox_id:
            raise MailStoreError("CANNOT", "blob prepared for another mailbox")
        await keep_inline(connection, blob)
        message_id = (await connection.execute(_INSERT_MESSAGE, message)).scalar_one()
        delivered = Delivered(folder_id, 0, 0, message_id)
        uow.defer(run_late_counters, _LateAppend(
            uow, folder_id, message, flags_text(flags), keywords, saved_at, delivered, then))
        return delivered

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
        uow.defer(run_late_counters,
                  _LateDelivery(uow, folder_name, blob, message, flags_text(flags)))
