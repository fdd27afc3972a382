"""The store as one object: engines, blob folder, keys, group commit and change events.

Open it once per process (`await Store.open(settings)`); every package reaches the
database through it: `await store.write(job)` for changes (group commit, audit, events
after commit), `async with store.reading() as session` for reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mss.clock import Clock, SystemClock
from mss.config import Settings
from mss.store import schema
from mss.store.audit import AuditSeal
from mss.store.blobs import BlobBackend, BlobStore
from mss.store.cluster import PgEventRelay, default_node_id, notify_events
from mss.store.db import create_engine, is_sqlite, session_factory
from mss.store.db_blobs import DatabaseBlobStore
from mss.store.entry_moves import EntryMoves
from mss.store.entry_reads import EntryReads
from mss.store.events import ChangeEvent, EventBus
from mss.store.flag_changes import FlagChanges
from mss.store.keys import Keyring, create_master_key, load_master_key
from mss.store.mail_delivery import MailDelivery
from mss.store.mail_folders import MailFolders
from mss.store.mailboxes import MailboxLookup
from mss.store.mailstore import MailStore
from mss.store.message_contents import MessageContents
from mss.store.node_files import FileLock, NodeFiles, SyncOutcome
from mss.store.thread_reads import THREAD_READS_KEY, Reads, ThreadReads, run_in_transaction
from mss.store.unit_of_work import UnitOfWork, WriteBatcher

T = TypeVar("T")


class Store:
    def __init__(
        self, settings: Settings, *, write_engine: AsyncEngine, read_engine: AsyncEngine,
        keyring: Keyring, clock: Clock, bus: EventBus | None = None,
    ) -> None:
        self.settings = settings
        self.write_engine = write_engine
        self.read_engine = read_engine
        self.keyring = keyring
        self.audit_seal = AuditSeal.from_keyring(keyring)
        self.clock = clock
        self.bus = bus or EventBus()
        self.blobs: BlobBackend = (
            DatabaseBlobStore(write_engine) if settings.store.blob_backend == "database"
            else BlobStore(settings.blob_dir))
        self._read_sessions = session_factory(read_engine)
        url = settings.database_url
        path = make_url(url).database if is_sqlite(url) else None
        # hot-path reads (mss.store.thread_reads); an in-memory database has one connection
        self.thread_reads = (
            ThreadReads(path, read_engine.dialect,
                        synchronous=settings.database.sqlite_synchronous)
            if path and path != ":memory:" else None
        )
        contents = MessageContents(self.blobs, keyring, self._read_sessions, self.thread_reads)
        reads = EntryReads()
        moves = EntryMoves(contents, reads)
        self.mail = MailStore(
            contents=contents, mailboxes=MailboxLookup(self._read_sessions),
            folders=MailFolders(reads, moves), reads=reads, flags=FlagChanges(),
            delivery=MailDelivery(), moves=moves,
        )
        self.node_id = default_node_id(settings.server.node_id)
        self.clustered = not is_sqlite(settings.database_url)
        self._relay: PgEventRelay | None = None
        announce = self._announce if self.clustered else None
        self.batcher = WriteBatcher(
            session_factory(write_engine), clock, self.bus, self.audit_seal,
            lambda: self.node_id, announce=announce)

    async def _announce(self, session: AsyncSession, events: list[ChangeEvent]) -> None:
        await notify_events(session, self.node_id, events)

    async def start_cluster_events(self) -> None:
        """On PostgreSQL, receive the other nodes' change events (IDLE, webmail)."""
        if self.clustered and self._relay is None:
            self._relay = PgEventRelay(self.settings.database_url, self.node_id, self.bus)
            await self._relay.start()

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Clock | None = None, create: bool = False,
        bus: EventBus | None = None,
    ) -> Store:
        """Open an existing store; with `create`, make the data folder, key and schema."""
        if create:
            prepare_data_dir(settings)
        keyring = Keyring(load_master_key(settings.master_key_path))
        url = settings.database_url
        sync = settings.database.sqlite_synchronous
        write_engine = create_engine(url, sqlite_synchronous=sync, for_writing=True)
        read_engine = (
            create_engine(url, sqlite_synchronous=sync, for_writing=False)
            if is_sqlite(url) else write_engine
        )
        try:
            if create:
                await schema.upgrade(write_engine)
            else:
                await schema.check(write_engine)
        except BaseException:
            await write_engine.dispose()
            if read_engine is not write_engine:
                await read_engine.dispose()
            raise
        return cls(settings, write_engine=write_engine, read_engine=read_engine,
                   keyring=keyring, clock=clock or SystemClock(), bus=bus)

    async def write(self, job: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        return await self.batcher.submit(job)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session to read with. On SQLite its plans go to the read connections'
        threads (`mss.store.thread_reads`) and an ORM read begins the session's
        transaction itself: no BEGIN ... COMMIT of the session around it (the read
        engine's connections are query_only, nothing of theirs is committed; closing
        the session ends its read transaction). Elsewhere the session commits at the end."""
        if self.thread_reads is not None:
            async with self._read_sessions() as session:
                session.info[THREAD_READS_KEY] = self.thread_reads
                yield session
            return
        async with self._read_sessions() as session, session.begin():
            yield session

    async def read(self, plan: Callable[[Reads], T]) -> T:
        """A read plan (`mss.store.thread_reads`) for callers holding no session: on SQLite
        one hop to a read connection's thread, in one snapshot; on PostgreSQL on a pooled
        connection through Core, in autocommit: under READ COMMITTED each statement has
        its own snapshot inside a transaction too, so BEGIN and ROLLBACK were two round
        trips for nothing (the directory facts of every SMTP command, issue 19)."""
        if self.thread_reads is not None:
            return await self.thread_reads.run(plan)
        async with self.read_engine.connect() as connection:
            if self.clustered:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            return await run_in_transaction(connection, plan)

    async def restore_node_files(self) -> list[str]:
        """Check the master key against the database, then bring the PKI and DKIM files
        this data folder lacks from it (mss.store.node_files); the names written."""
        files = NodeFiles(self.keyring)
        async with self.write_engine.begin() as connection:
            await files.check_master_key(connection, self.clock.now())
            return await files.restore(connection, self.settings.data_dir)

    async def sync_node_files(self, files: NodeFiles, folders: list[Path], *,
                              lock: FileLock = contextlib.nullcontext) -> SyncOutcome:
        """Check the master key, then bring the files of `folders` and their sealed rows
        in step, the newest winning (mss.store.node_files); `files` remembers the state
        between passes."""
        async with self.write_engine.begin() as connection:
            await files.check_master_key(connection, self.clock.now())
            return await files.sync(connection, self.settings.data_dir, folders, lock=lock)

    async def close(self) -> None:
        if self._relay is not None:
            await self._relay.stop()
            self._relay = None
        await self.batcher.close()
        if isinstance(self.blobs, DatabaseBlobStore):
            await self.blobs.close()
        if self.thread_reads is not None:
            await self.thread_reads.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


def prepare_data_dir(settings: Settings) -> None:
    """The data folder, blob folder and master key, created once and never replaced."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.blob_dir.mkdir(parents=True, exist_ok=True)
    key_path: Path = settings.master_key_path
    if not key_path.exists():
        create_master_key(key_path)
