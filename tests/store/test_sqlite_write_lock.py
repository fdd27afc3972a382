"""The SQLite driver's cross-process write lock and its commit queued with the writes.

Writers in several processes (MX processes, issue #5) take an exclusive flock before
BEGIN, so that a second writer waits in the kernel for the first one's COMMIT instead
of polling SQLite's busy handler. Two connections in one process hold two open file
descriptions of the lock file, so they exclude each other exactly as two processes do.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mss.store.sqlite_driver import SqliteConnection


async def _writer(path: Path) -> SqliteConnection:
    conn = await SqliteConnection.open(str(path))
    # no busy handler: without the flock, a second writer would fail at once
    await conn.run(lambda c: c.execute("PRAGMA busy_timeout=0"))
    return conn


async def test_a_second_writer_waits_for_the_first_commit_instead_of_failing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mss.db"
    first, second = await _writer(path), await _writer(path)
    try:
        await first.run(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
        first.begin_deferred("BEGIN IMMEDIATE")
        await first.run(lambda c: c.execute("INSERT INTO t VALUES (1)"))
        assert (tmp_path / "mss.db-writelock").exists()

        second.begin_deferred("BEGIN IMMEDIATE")
        waiting = asyncio.ensure_future(
            second.run(lambda c: c.execute("INSERT INTO t VALUES (2)").rowcount))
        # the second writer's thread is blocked in flock: the first one can still
        # read and commit in its own thread, and only then the second one proceeds
        assert await first.run(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == 1
        assert not waiting.done()
        await first.commit()
        assert await asyncio.wait_for(waiting, 10) == 1
        await second.commit()
        rows = await first.run(lambda c: c.execute("SELECT n FROM t ORDER BY n").fetchall())
        assert rows == [(1,), (2,)]
    finally:
        await first.close()
        await second.close()


async def test_the_lock_is_dropped_when_a_transaction_fails_to_begin(tmp_path: Path) -> None:
    path = tmp_path / "mss.db"
    first, second = await _writer(path), await _writer(path)
    try:
        first.begin_deferred("BEGIN NONSENSE")
        with pytest.raises(sqlite3.OperationalError):
            await first.run(lambda c: None)
        second.begin_deferred("BEGIN IMMEDIATE")
        await asyncio.wait_for(second.run(lambda c: None), 10)
        await second.commit()
    finally:
        await first.close()
        await second.close()


async def test_commit_unless_failed_commits_clean_work_and_refuses_what_follows(
    tmp_path: Path,
) -> None:
    conn = await _writer(tmp_path / "mss.db")
    try:
        await conn.run(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
        conn.begin_deferred("BEGIN IMMEDIATE")
        insert = conn.run(lambda c: c.execute("INSERT INTO t VALUES (1)"))
        committed = conn.commit_unless_failed()
        late = conn.run(lambda c: c.execute("INSERT INTO t VALUES (2)"))
        results = await asyncio.gather(insert, committed, late, return_exceptions=True)
        assert results[1] is True
        # queued after the commit, outside any transaction: refused, not autocommitted
        assert isinstance(results[2], sqlite3.OperationalError)
        await conn.commit()  # what SQLAlchemy then does: nothing left to commit
        assert await conn.run(lambda c: c.execute("SELECT n FROM t").fetchall()) == [(1,)]
    finally:
        await conn.close()


async def test_commit_unless_failed_leaves_a_failed_transaction_to_roll_back(
    tmp_path: Path,
) -> None:
    conn = await _writer(tmp_path / "mss.db")
    try:
        await conn.run(lambda c: c.execute("CREATE TABLE t (n INTEGER NOT NULL)"))
        conn.begin_deferred("BEGIN IMMEDIATE")
        results = await asyncio.gather(
            conn.run(lambda c: c.execute("INSERT INTO t VALUES (1)")),
            conn.run(lambda c: c.execute("INSERT INTO t VALUES (NULL)")),
            conn.commit_unless_failed(), return_exceptions=True)
        assert isinstance(results[1], sqlite3.IntegrityError)
        assert results[2] is False
        await conn.rollback()
        assert await conn.run(lambda c: c.execute("SELECT n FROM t").fetchall()) == []
    finally:
        await conn.close()


async def test_corked_calls_take_the_write_lock_only_with_their_commit(tmp_path: Path) -> None:
    """`cork` holds a transaction's calls until its `commit_unless_failed`, then sends them
    as one hop: the write lock is not taken (another writer still commits) until then,
    and the calls' results, a failing one's error included, reach their callers."""
    path = tmp_path / "mss.db"
    conn, other = await _writer(path), await _writer(path)
    try:
        await conn.run(lambda c: c.execute("CREATE TABLE t (n INTEGER NOT NULL)"))
        conn.begin_deferred("BEGIN IMMEDIATE")
        conn.cork()
        first = asyncio.ensure_future(
            conn.run(lambda c: c.execute("INSERT INTO t VALUES (1)").rowcount))
        second = asyncio.ensure_future(
            conn.run(lambda c: c.execute("INSERT INTO t VALUES (2)").rowcount))
        other.begin_deferred("BEGIN IMMEDIATE")
        await asyncio.wait_for(other.run(lambda c: c.execute("INSERT INTO t VALUES (3)")), 10)
        await other.commit()  # not blocked: the held calls have not begun the transaction
        assert not first.done() and not second.done()  # made (tasks ran), held
        assert await conn.commit_unless_failed() is True
        assert (await first, await second) == (1, 1)
        await conn.commit()
        rows = await conn.run(lambda c: c.execute("SELECT n FROM t ORDER BY n").fetchall())
        assert rows == [(1,), (2,), (3,)]

        conn.begin_deferred("BEGIN IMMEDIATE")
        conn.cork()
        results = await asyncio.gather(
            conn.run(lambda c: c.execute("INSERT INTO t VALUES (4)")),
            conn.run(lambda c: c.execute("INSERT INTO t VALUES (NULL)")),
            conn.commit_unless_failed(), return_exceptions=True)
        assert isinstance(results[1], sqlite3.IntegrityError) and results[2] is False
        await conn.rollback()
        rows = await conn.run(lambda c: c.execute("SELECT n FROM t ORDER BY n").fetchall())
        assert rows == [(1,), (2,), (3,)]
    finally:
        await conn.close()
        await other.close()
