"""Private internals of libraries MSS leans on, each used from one module: these fail
loudly when a library release renames or drops one, before a listener misbehaves.

- `asyncio.StreamReader._limit` (mss/smtp/reader_limit.py): the line bound;
- `asyncio.sslproto.SSLProtocol.max_size` (mss/imap/server.py): the per-connection TLS
  read buffer;
- aiosmtpd's `SMTP` members that `mss/smtp/protocol.py` (its one subclass) overrides or
  reads: `_smtp_methods` (the command table, gated), `_call_handler_hook`,
  `_set_post_data_state`, `_original_transport`, `_reader`, `_writer`, and asyncio's
  `StreamReaderProtocol._stream_reader`;
- SQLAlchemy's compiled statement internals (mss/store/sqlite_driver.py
  `ThreadStatement.compile`): parameter order, binds and bind processors.
"""

from __future__ import annotations

import asyncio
import inspect
from asyncio import sslproto

import aiosmtpd.smtp
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


def test_the_aiosmtpd_members_the_protocol_subclass_leans_on_exist() -> None:
    source = inspect.getsource(aiosmtpd.smtp.SMTP)
    for attribute in ("_smtp_methods", "_original_transport", "_reader", "_writer"):
        assert f"self.{attribute} =" in source or f"self.{attribute}:" in source, attribute
    for method in ("_call_handler_hook", "_set_post_data_state", "connection_made",
                   "connection_lost", "smtp_DATA"):
        assert callable(getattr(aiosmtpd.smtp.SMTP, method)), method
    assert "self._smtp_methods[" in source or "_smtp_methods.get(" in source  # dispatch
    assert "self._stream_reader" in inspect.getsource(asyncio.StreamReaderProtocol)


def test_the_tls_read_buffer_size_is_a_class_attribute() -> None:
    assert isinstance(sslproto.SSLProtocol.max_size, int)


def test_a_compiled_statement_exposes_what_the_sqlite_thread_needs() -> None:
    statement = ThreadStatement.compile(
        insert(AuditEvent.__table__).values(action=bindparam("action")), sqlite.dialect())
    assert statement.sql.startswith("INSERT INTO audit_events")
    assert "action" in statement.names
