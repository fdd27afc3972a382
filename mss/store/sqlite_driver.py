"""The SQLite connection SQLAlchemy's async engine drives: one thread hop per statement.

aiosqlite sends every DBAPI call to its thread on its own: creating a cursor, executing,
fetching, closing the cursor, BEGIN, the pool's reset-on-return ROLLBACK. Each hop
wakes the event loop through its self-pipe, and on a 4 KB message the hops cost more
CPU than the SQL (docs/design-notes.md, Performance: a read of one row cost ~1.4 ms). This
connection keeps aiosqlite's interface (SQLAlchemy's `sqlite+aiosqlite` dialect plugs it in through
`async_creator`) but:
- executes a statement and fetches all its rows in one hop; cursors are plain objects;
- holds the BEGIN the engine asks for until the next statement, and sends it in the
  same hop (a transaction that runs no statement costs nothing); the lock and snapshot
  are taken where SQLite takes them anyway, at the first statement;
- skips COMMIT and ROLLBACK when SQLite has no transaction open;
- a writing connection takes an exclusive `flock` on `<database>-writelock` before its
  BEGIN and drops it when the transaction ends: writers in several processes (MX
  processes, docs/design-notes.md, Performance) queue in the kernel and wake the moment the lock is
  free,
  where SQLite's busy handler would poll with sleeps of up to 100 ms.

Invariants:
- one thread per connection, calls run one at a time and in order (sqlite3 objects
  never cross threads concurrently);
- COMMIT returns only after SQLite has committed (with `synchronous=FULL`, after the
  WAL fsync): durability is SQLite's, unchanged;
- sqlite3 exceptions reach SQLAlchemy unchanged (same classes as aiosqlite's).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from queue import SimpleQueue
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

T = TypeVar("T")

_STOP = object()
_Call = tuple["asyncio.Future[Any] | None", Callable[[], Any]]


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _run_group(group: list[_Call]) -> None:
    """In the thread: the calls of one group (`SqliteConnection.cork`) in order, their
    outcomes handed to the event loop in one wake-up."""
    outcomes: list[tuple[asyncio.Future[Any] | None, bool, Any]] = []
    for future, function in group:
        try:
            outcomes.append((future, True, function()))
        except BaseException as error:  # handed to the awaiting caller
            outcomes.append((future, False, error))
    loop = next((f.get_loop() for f, _, _ in outcomes if f is not None), None)
    if loop is not None:
        loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[tuple[asyncio.Future[Any] | None, bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future is not None:
            (_set_result if ok else _set_exception)(future, value)


def _worker(calls: SimpleQueue[_Call]) -> None:
    while True:
        future, function = calls.get()
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller
            if future is not None:
                future.get_loop().call_soon_threadsafe(_set_exception, future, error)
            continue
        if future is not None:
            future.get_loop().call_soon_threadsafe(_set_result, future, result)
        if result is _STOP:
            return


def _pragmas(conn: sqlite3.Connection, synchronous: str, read_only: bool) -> None:
    """docs/architecture.md §5: WAL, synchronous=FULL by default, foreign keys on; a reading
    connection refuses writes (query_only)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    if read_only:
        conn.execute("PRAGMA query_only=ON")


@dataclass(frozen=True, slots=True)
class ThreadStatement:
    """A prebuilt Core statement compiled once for SQLite, to be run by a function given
    to `SqliteConnection.run` (in the connection's thread): SQL text, parameter order,
    literal values and SQLAlchemy's own bind processors, so values are stored exactly
    as the engine would store them."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect,
                keys: Sequence[str] | None = None) -> ThreadStatement:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys or ()) or None)
        names = tuple(compiled.positiontup or ())  # type: ignore[attr-defined]
        constants = {name: bind.effective_value
                     for name, bind in compiled.binds.items()  # type: ignore[attr-defined]
                     if not bind.required and bind.callable is None}
        return cls(str(compiled), names, constants,
                   dict(compiled._bind_processors))  # type: ignore[attr-defined]  # as execution

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name in self.names:
            value = values[name] if name in values else self.constants[name]
            processor = self.processors.get(name)
            out.append(processor(value) if processor is not None and value is not None
                       else value)
        return tuple(out)

    def execute(self, conn: sqlite3.Connection, values: Mapping[str, Any]) -> list[Any]:
        """Run in the connection's thread; all rows (RETURNING) are fetched."""
        return conn.execute(self.sql, self.parameters(values)).fetchall()

    def execute_many(self, conn: sqlite3.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run in the connection's thread, once per row (no RETURNING)."""
        conn.executemany(self.sql, [self.parameters(values) for values in rows])


class SqliteCursor:
    """A cursor whose rows were fetched in the hop that executed its statement."""

    arraysize = 1

    def __init__(self, connection: SqliteConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> SqliteCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def _take(self, outcome: tuple[Any, int, int | None, list[Any]]) -> SqliteCursor:
        self.description, self.rowcount, self.lastrowid, rows = outcome
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> SqliteCursor:
        return self._take(await self._connection._statement(sql, parameters, many=False))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> SqliteCursor:
        return self._take(await self._connection._statement(sql, parameters, many=True))

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size or self.arraysize
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def close(self) -> None:
        self._rows.clear()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class _CallQueue:
    """What SQLAlchemy's isolation-level setter expects of aiosqlite (`_tx.put_nowait`)."""

    def __init__(self, calls: SimpleQueue[_Call]) -> None:
        self._calls = calls

    def put_nowait(self, item: _Call) -> None:
        self._calls.put(item)


class SqliteConnection:
    """A sqlite3 connection owned by one thread, with aiosqlite's async interface."""

    def __init__(self, conn: sqlite3.Connection, calls: SimpleQueue[_Call],
                 thread: threading.Thread, *, read_only: bool = False,
                 write_lock: int | None = None) -> None:
        self._conn = conn
        self._write_lock = write_lock  # a file descriptor to flock, for writing ones
        self._lock_held = False  # read and written in the thread only
        self._read_only = read_only
        self._connection: sqlite3.Connection | None = conn  # SQLAlchemy tests it is open
        self._calls = calls
        self._tx = _CallQueue(calls)
        self._thread = thread
        self._pending_begin: str | None = None
        self._in_transaction = False
        self._failed_in_transaction = False  # read and written in the thread only
        self._committed_early = False  # likewise: commit_unless_failed committed
        self._corked: list[_Call] | None = None  # calls held for one hop (`cork`)

    @classmethod
    async def open(cls, path: str, *, synchronous: str = "FULL", timeout: float = 30.0,
                   read_only: bool = False) -> SqliteConnection:
        calls: SimpleQueue[_Call] = SimpleQueue()
        thread = threading.Thread(target=_worker, args=(calls,), name="mss-sqlite",
                                  daemon=True)
        thread.start()

        def connect() -> tuple[sqlite3.Connection, int | None]:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
            try:
                _pragmas(conn, synchronous, read_only)
                lock = (None if read_only or path == ":memory:" else
                        os.open(f"{path}-writelock", os.O_RDWR | os.O_CREAT, 0o600))
            except BaseException:
                conn.close()
                raise
            return conn, lock

        future = asyncio.get_running_loop().create_future()
        calls.put((future, connect))
        try:
            conn, lock = await future
        except BaseException:
            calls.put((None, lambda: _STOP))
            raise
        return cls(conn, calls, thread, read_only=read_only, write_lock=lock)

    async def _run(self, function: Callable[[], Any]) -> Any:
        return await self._submit(function)

    def _submit(self, function: Callable[[], Any]) -> asyncio.Future[Any]:
        """Queue `function` for the thread (or the cork) now; its outcome, later."""
        if self._connection is None:
            raise ValueError("Connection closed")
        future = asyncio.get_running_loop().create_future()
        self._put((future, function))
        return future

    def _put(self, call: _Call) -> None:
        if self._corked is not None:
            self._corked.append(call)
        else:
            self._calls.put(call)

    def cork(self) -> None:
        """Hold the calls made from now on and send them as one when the transaction's
        `commit_unless_failed` is queued: the thread runs them back to back, and waits
        once (not once per call) for the interpreter lock the event loop holds; on a
        busy loop each such wait lasted up to the switch interval, with the write
        transaction, and the cross-process write lock, held all along (issue 19)."""
        self._corked = []

    def uncork(self) -> None:
        corked, self._corked = self._corked, None
        if corked:
            self._calls.put((None, partial(_run_group, corked)))

    async def run(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run `function(sqlite3 connection)` in the connection's thread, in order with
        the statements before it and in the same transaction: several statements in
        one hop (see ThreadStatement)."""
        conn = self._conn
        return await self._run(self._in_transaction_of(lambda: function(conn)))  # type: ignore[no-any-return]

    def _in_transaction_of(self, body: Callable[[], T]) -> Callable[[], T]:
        """`body` as the thread runs it: after the pending BEGIN (or refused after an
        early commit), noting a failure and whether a transaction is still open."""
        begin, self._pending_begin = self._pending_begin, None

        def call() -> T:
            try:
                self._begin(begin) if begin is not None else self._refuse_after_commit()
                return body()
            except BaseException:
                self._failed_in_transaction = True
                raise
            finally:
                self._ended()

        return call

    # -- transactions -------------------------------------------------------------------

    def _begin(self, statement: str) -> None:
        """In the thread: the cross-process write lock, then BEGIN."""
        if self._write_lock is not None and not self._lock_held:
            fcntl.flock(self._write_lock, fcntl.LOCK_EX)
            self._lock_held = True
        self._failed_in_transaction = self._committed_early = False
        try:
            self._conn.execute(statement)
        finally:
            self._ended()

    def _transaction_over(self) -> None:
        self._committed_early = False

    def _refuse_after_commit(self) -> None:
        """In the thread: a statement queued behind `commit_unless_failed` would run
        outside the transaction it belongs to (autocommit): refuse it."""
        if self._committed_early:
            raise sqlite3.OperationalError("statement after its transaction was committed")

    def _ended(self) -> None:
        """In the thread, after each call: note whether a transaction is open, and drop
        the write lock once none is."""
        self._in_transaction = self._conn.in_transaction
        if self._lock_held and not self._in_transaction:
            fcntl.flock(self._write_lock, fcntl.LOCK_UN)  # type: ignore[arg-type]
            self._lock_held = False

    def begin_deferred(self, statement: str) -> None:
        """Send `statement` (BEGIN or BEGIN IMMEDIATE) with the next one, in its hop."""
        self._pending_begin = statement

    async def _statement(self, sql: str, parameters: Any, *, many: bool
                         ) -> tuple[Any, int, int | None, list[Any]]:
        conn = self._conn

        def run() -> tuple[Any, int, int | None, list[Any]]:
            cursor = conn.cursor()
            try:
                if many:
                    cursor.executemany(sql, parameters)
                elif parameters is None:
                    cursor.execute(sql)
                else:
                    cursor.execute(sql, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        return await self._run(self._in_transaction_of(run))  # type: ignore[no-any-return]

    async def _finish(self, method: Callable[[], None]) -> None:
        self._pending_begin = None
        if not self._in_transaction:
            # nothing was run since BEGIN, or SQLite (or commit_unless_failed) ended it:
            # the transaction is over for the caller too, so statements may follow
            if not self._read_only:
                self._put((None, self._transaction_over))
            return

        def run() -> None:
            try:
                method()
            finally:
                self._ended()
                self._failed_in_transaction = False

        if self._read_only:
            # a query_only connection's transaction holds nothing to make durable: its
            # end is queued, not awaited; the connection's next call comes after it
            self._in_transaction = False
            self._put((None, run))
            return
        await self._run(run)

    async def commit(self) -> None:
        await self._finish(self._conn.commit)

    async def commit_unless_failed(self) -> bool:
        """COMMIT queued behind the calls already queued, done only if none of this
        transaction's calls failed; False leaves the transaction for a rollback.

        Queued with the transaction's last writes, it saves the group commit a wait on
        the event loop (docs/design-notes.md, Performance); the `commit()` that follows then has
        nothing to do.
        """
        conn = self._conn

        def run() -> bool:
            if self._failed_in_transaction or not conn.in_transaction:
                return not self._failed_in_transaction
            try:
                conn.commit()
                self._committed_early = True
            finally:
                self._ended()
            return True

        committed = self._submit(run)
        self.uncork()  # queued last: the held calls and this COMMIT go as one hop
        return await committed  # type: ignore[no-any-return]

    async def rollback(self) -> None:
        await self._finish(self._conn.rollback)

    # -- the rest of the DBAPI surface SQLAlchemy uses ----------------------------------

    def cursor(self) -> SqliteCursor:
        return SqliteCursor(self)

    async def execute(self, sql: str, parameters: Any = None) -> SqliteCursor:
        return await self.cursor().execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> SqliteCursor:
        return await self.cursor().executemany(sql, parameters)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction or self._pending_begin is not None

    async def create_function(self, *args: Any, **kw: Any) -> None:
        await self._run(lambda: self._conn.create_function(*args, **kw))

    async def close(self) -> None:
        if self._connection is None:
            return
        try:
            await self._run(self._close_in_thread)
        finally:
            self._connection = None
            self._calls.put((None, lambda: _STOP))

    def _close_in_thread(self) -> None:
        try:
            self._conn.close()
        finally:
            if self._write_lock is not None:
                os.close(self._write_lock)  # drops the flock too
                self._write_lock = None
                self._lock_held = False

    def stop(self) -> None:
        """Force-close (SQLAlchemy's terminate): close in the thread, then end it."""
        if self._connection is None:
            return
        self._connection = None
        self._calls.put((None, self._close_in_thread))
        self._calls.put((None, lambda: _STOP))
