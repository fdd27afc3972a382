"""Reads on the hot paths of the protocols, run whole in one hop to the database.

A protocol command reads a few small things (a folder's counters, its UIDs, twenty
entries): through the ORM session each statement costs about a millisecond of Python
(statement building, cache keys, the session's transaction, one thread hop per
statement), against about ten microseconds of SQLite (docs/design-notes.md, Performance).
Here a read is a *plan*: a plain function given a `Reads`, which runs statements built
once at import (`PreparedRead`) and returns Python values. On SQLite the whole plan runs
in the thread of a read connection (SQL compiled once, SQLAlchemy's own bind and result
processors, so values are exactly what the engine gives), in one snapshot; elsewhere
(PostgreSQL, or inside a writing transaction, which must see its own changes) the same
plan runs on the session's connection through SQLAlchemy Core.

Invariants:
- a plan only reads: on SQLite its connection is `query_only`;
- a plan of several statements sees one snapshot (one BEGIN ... COMMIT in the thread);
- a plan never awaits: it runs to its end in the database thread (or greenlet).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable

from mss.store.sqlite_driver import SqliteConnection, ThreadStatement

T = TypeVar("T")
THREAD_READS_KEY = "mss.thread_reads"
"""Where `Store.reading()` leaves its ThreadReads in the session's `info` (SQLite only)."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    statement: ThreadStatement
    results: tuple[Callable[[Any], Any] | None, ...]
    processed: bool

    def rows(self, conn: sqlite3.Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        found = self.statement.execute(conn, values)
        if not self.processed:
            return found
        results = self.results
        return [tuple(value if process is None or value is None else process(value)
                      for process, value in zip(results, row, strict=True)) for row in found]


class PreparedStatement:
    """A Core statement built once, with named bind parameters (`bindparam("b_folder")`),
    compiled once per dialect for the thread path: a SELECT, or (in a writing
    transaction's plan) an INSERT, UPDATE or DELETE, with RETURNING or without."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            thread = ThreadStatement.compile(self.statement, dialect)  # type: ignore[arg-type]
            columns = self.statement.compile(dialect=dialect)._result_columns  # type: ignore[attr-defined]
            results = tuple(entry[3]._cached_result_processor(dialect, None)  # as the engine
                            for entry in columns)
            found = self._compiled[dialect.name] = _Compiled(
                thread, results, any(p is not None for p in results))
        return found


PreparedRead = PreparedStatement


class Reads(Protocol):
    """What a plan is given: rows of prepared statements, in one snapshot (or in the
    writing transaction it runs in)."""

    def rows(self, query: PreparedStatement, **values: Any) -> list[tuple[Any, ...]]: ...

    def first(self, query: PreparedStatement, **values: Any) -> tuple[Any, ...] | None: ...

    def scalar(self, query: PreparedStatement, **values: Any) -> Any: ...

    def execute_many(self, query: PreparedStatement, rows: list[dict[str, Any]]) -> None: ...


class _ReadsBase:
    def rows(self, query: PreparedStatement, **values: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def first(self, query: PreparedStatement, **values: Any) -> tuple[Any, ...] | None:
        found = self.rows(query, **values)
        return found[0] if found else None

    def scalar(self, query: PreparedStatement, **values: Any) -> Any:
        row = self.first(query, **values)
        return None if row is None else row[0]


class SqliteReads(_ReadsBase):
    """In a connection's thread: compiled SQL on the sqlite3 connection itself."""

    def __init__(self, conn: sqlite3.Connection, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect

    def rows(self, query: PreparedStatement, **values: Any) -> list[tuple[Any, ...]]:
        return query.compiled(self._dialect).rows(self._conn, values)

    def execute_many(self, query: PreparedStatement, rows: list[dict[str, Any]]) -> None:
        if rows:
            query.compiled(self._dialect).statement.execute_many(self._conn, rows)


class _CoreReads(_ReadsBase):
    """On a SQLAlchemy connection (PostgreSQL, or a writing transaction): Core."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def rows(self, query: PreparedStatement, **values: Any) -> list[tuple[Any, ...]]:
        result = self._connection.execute(query.statement, values)
        return [tuple(row) for row in result] if result.returns_rows else []

    def execute_many(self, query: PreparedStatement, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._connection.execute(query.statement, rows)


READ_CACHE_KIB = 32 * 1024
READ_MMAP_BYTES = 256 * 1024 * 1024


def _read_pragmas(conn: sqlite3.Connection) -> None:
    """A read connection's page cache and memory map: a SORT of 100,000 entries joins
    100,000 message rows, far more pages than SQLite's default 2 MB cache holds (the
    map reads them from the OS page cache without a copy; WAL readers may map). Sorts
    in memory rather than in temporary files."""
    conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
    conn.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
    conn.execute("PRAGMA temp_store=MEMORY")


def _in_snapshot(conn: sqlite3.Connection, dialect: Dialect,
                 plan: Callable[[Reads], T]) -> T:
    """In the thread: the plan between BEGIN and COMMIT (one WAL snapshot)."""
    conn.execute("BEGIN")
    try:
        return plan(SqliteReads(conn, dialect))
    finally:
        conn.execute("COMMIT")  # a read-only transaction: nothing to make durable


class ThreadReads:
    """A few read-only SQLite connections, each with its thread, for plans."""

    def __init__(self, path: str, dialect: Dialect, *, size: int = 2,
                 synchronous: str = "FULL") -> None:
        self._path = path
        self._dialect = dialect
        self._size = size
        self._synchronous = synchronous
        self._idle: list[SqliteConnection] = []
        self._opened: list[SqliteConnection] = []
        self._waiting: deque[asyncio.Future[SqliteConnection]] = deque()
        self._opening = 0

    async def _acquire(self) -> SqliteConnection:
        if self._idle:
            return self._idle.pop()
        if len(self._opened) + self._opening < self._size:
            self._opening += 1
            try:
                conn = await SqliteConnection.open(self._path, read_only=True,
                                                   synchronous=self._synchronous)
                raw = conn._conn
                await conn._run(lambda: _read_pragmas(raw))
            finally:
                self._opening -= 1
            self._opened.append(conn)
            return conn
        waiter: asyncio.Future[SqliteConnection] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over as the caller went away
            raise

    def _release(self, conn: SqliteConnection) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    async def run(self, plan: Callable[[Reads], T]) -> T:
        """The plan's result, read in one hop to a connection's thread."""
        conn = await self._acquire()
        try:
            raw, dialect = conn._conn, self._dialect
            return await conn._run(lambda: _in_snapshot(raw, dialect, plan))  # type: ignore[no-any-return]
        finally:
            self._release(conn)

    async def close(self) -> None:
        opened, self._opened, self._idle = self._opened, [], []
        for conn in opened:
            await conn.close()


async def run_read(session: AsyncSession, plan: Callable[[Reads], T]) -> T:
    """Run `plan` for a caller holding `session`: in a read connection's thread when the
    session is a `Store.reading()` one on SQLite, else on the session's own connection
    (same transaction, so a writer sees its own changes)."""
    reads: ThreadReads | None = session.info.get(THREAD_READS_KEY)
    if reads is not None:
        return await reads.run(plan)

    def on_session(sync: Session) -> T:
        if sync.new or sync.dirty or sync.deleted:
            sync.flush()  # what the session holds is part of what it reads (autoflush)
        return plan(_CoreReads(sync.connection()))

    return await session.run_sync(on_session)


async def run_in_transaction(connection: AsyncConnection, plan: Callable[[Reads], T]) -> T:
    """Run `plan` inside the writing transaction of `connection` (a UnitOfWork's): on
    SQLite in one call to the connection's thread, after its pending BEGIN; elsewhere
    through Core on the same connection. The caller flushed the ORM session first."""
    driver = (await connection.get_raw_connection()).driver_connection
    if isinstance(driver, SqliteConnection):
        dialect = connection.dialect
        return await driver.run(lambda conn: plan(SqliteReads(conn, dialect)))
    return await connection.run_sync(lambda sync: plan(_CoreReads(sync)))
