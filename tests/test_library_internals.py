"""Private internals of libraries MSS leans on, each used from one module: these fail
loudly when a library release renames or drops one, before a listener misbehaves.

- `asyncio.StreamReader._limit` (mss/smtp/reader_limit.py): the line bound;
- `asyncio.sslproto.SSLProtocol.max_size` (mss/imap/server.py): the per-connection TLS
  read buffer;
- SQLAlchemy's compiled statement internals (mss/store/sqlite_driver.py
  `ThreadStatement.compile`): parameter order, binds and bind processors.
"""

from __future__ import annotations

import asyncio
from asyncio import sslproto

import pytest
from sqlalchemy import bindparam, insert
from sqlalchemy.dialects import sqlite

from mss.smtp.reader_limit import line_limit, set_line_limit
from mss.store.sqlite_driver import ThreadStatement
from mss.store.tables import AuditEvent


async def test_the_stream_reader_line_bound_is_read_and_enforced() -> None:
    reader = asyncio.StreamReader(limit=100)
    assert line_limit(reader) == 100
    set_line_limit(reader, 10)
    reader.feed_data(b"x" * 20 + b"\n")
    with pytest.raises(ValueError):  # LimitOverrunError is turned into ValueError
        await reader.readline()


def test_the_tls_read_buffer_size_is_a_class_attribute() -> None:
    assert isinstance(sslproto.SSLProtocol.max_size, int)


def test_a_compiled_statement_exposes_what_the_sqlite_thread_needs() -> None:
    statement = ThreadStatement.compile(
        insert(AuditEvent.__table__).values(action=bindparam("action")), sqlite.dialect())
    assert statement.sql.startswith("INSERT INTO audit_events")
    assert "action" in statement.names
