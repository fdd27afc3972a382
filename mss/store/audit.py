"""The audit trail: append-only rows chained by hash (docs/architecture.md §5, tamper evident).

Rows name principal, action, target and outcome, never message content. The chain head
row is locked by each writing transaction so that concurrent writers, on one node or
several, never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mss.identity import Principal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.sqlite_driver import SqliteConnection, ThreadStatement
from mss.store.tables import AuditEvent, AuditHead

GENESIS = "0" * 64

# Core statements built once: every writing transaction runs them (docs/design-notes.md,
# Performance: through the ORM, the chain's three statements cost more than a delivery's).
_HEAD = AuditHead.__table__
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_MOVE_HEAD = (update(_HEAD).where(_HEAD.c.id == 1)
              .values(seq=bindparam("b_seq"), hash=bindparam("b_hash")))
_CREATE_HEAD = insert(_HEAD)
_INSERT_EVENTS = insert(AuditEvent.__table__)


def row_hash(
    *, seq: int, at: datetime, principal: str, action: str, target: str, outcome: str,
    subject: str, detail: str, prev_hash: str,
) -> str:
    canonical = json.dumps(
        [seq, at.isoformat(), principal, action, target, outcome, subject, detail, prev_hash],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditChain:
    """One writing transaction's audit rows, chained onto the head when saved.

    The head is read (locked: FOR UPDATE; on SQLite the transaction holds the write
    lock) and the rows hashed at `save`, just before commit, in the order they were
    appended: the chain order is the commit order, on one node or several. On SQLite
    reading the head, writing the rows and moving the head are one call to the
    connection's thread (docs/design-notes.md, Performance: the head used to be read at the start of
    each
    batch, a round trip of its own)."""

    def __init__(self) -> None:
        self._pending: list[dict[str, object]] = []  # appended, not yet chained
        self.saved: list[dict[str, object]] = []  # what the transaction wrote, for metrics

    def append(
        self, *, at: datetime, principal: Principal | str,
        action: AuditAction, target: str = "", outcome: AuditOutcome = AuditOutcome.OK,
        subject: str = "", detail: str = "",
    ) -> dict[str, object]:
        who = principal if isinstance(principal, str) else principal.label()
        row: dict[str, object] = dict(
            at=at, principal=who, action=action.value, target=target,
            outcome=outcome.value, subject=subject, detail=detail,
        )
        self._pending.append(row)
        return row

    async def save(self, connection: AsyncConnection) -> None:
        """Chain the appended rows onto the head, write them and move the head."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, SqliteConnection):
            statements = _thread_statements(connection.dialect)
            self.saved = await driver.run(partial(_save_in_thread, statements, pending))
            return
        head = (await connection.execute(_LOCK_HEAD)).one_or_none()
        rows = chained(head, pending)
        await connection.execute(_INSERT_EVENTS, rows)
        last = rows[-1]
        if head is not None:
            await connection.execute(_MOVE_HEAD, {"b_seq": last["seq"], "b_hash": last["hash"]})
        else:
            await connection.execute(_CREATE_HEAD,
                                     {"id": 1, "seq": last["seq"], "hash": last["hash"]})
        self.saved = rows


def chained(head: Any, pending: list[dict[str, object]]) -> list[dict[str, object]]:
    """`pending` rows with seq, prev_hash and hash, following `head` (None: genesis)."""
    seq, previous = (head[0], head[1]) if head is not None else (0, GENESIS)
    rows = []
    for row in pending:
        seq += 1
        digest = row_hash(seq=seq, prev_hash=previous, **row)  # type: ignore[arg-type]
        rows.append({**row, "seq": seq, "prev_hash": previous, "hash": digest})
        previous = digest
    return rows


_ROW_KEYS = ["at", "principal", "action", "target", "outcome", "subject", "detail", "seq",
             "prev_hash", "hash"]
_THREAD_STATEMENTS: dict[str, tuple[ThreadStatement, ...]] = {}


def _thread_statements(dialect: Dialect) -> tuple[ThreadStatement, ...]:
    compiled = _THREAD_STATEMENTS.get(dialect.name)
    if compiled is None:
        compiled = _THREAD_STATEMENTS[dialect.name] = (
            ThreadStatement.compile(_LOCK_HEAD, dialect),
            ThreadStatement.compile(_INSERT_EVENTS, dialect, _ROW_KEYS),
            ThreadStatement.compile(_MOVE_HEAD, dialect),
            ThreadStatement.compile(_CREATE_HEAD, dialect, ["id", "seq", "hash"]),
        )
    return compiled


def _save_in_thread(
    statements: tuple[ThreadStatement, ...], pending: list[dict[str, object]],
    conn: sqlite3.Connection,
) -> list[dict[str, object]]:
    lock_head, insert_events, move_head, create_head = statements
    found = lock_head.execute(conn, {})
    rows = chained(found[0] if found else None, pending)
    insert_events.execute_many(conn, rows)
    last = rows[-1]
    if found:
        move_head.execute(conn, {"b_seq": last["seq"], "b_hash": last["hash"]})
    else:
        create_head.execute(conn, {"id": 1, "seq": last["seq"], "hash": last["hash"]})
    return rows


@dataclass(frozen=True)
class ChainFault:
    seq: int
    problem: str


async def verify_chain(session: AsyncSession, batch: int = 5000) -> list[ChainFault]:
    """Recompute every hash in order; report gaps, edits and a head that disagrees."""
    faults: list[ChainFault] = []
    prev, expected_seq, last_seq = GENESIS, 1, 0
    async for row in _rows_in_order(session, batch):
        if row.seq != expected_seq:
            faults.append(ChainFault(row.seq, f"sequence gap: expected {expected_seq}"))
        if row.prev_hash != prev:
            faults.append(ChainFault(row.seq, "previous hash does not match"))
        digest = row_hash(
            seq=row.seq, at=row.at, principal=row.principal, action=row.action,
            target=row.target, outcome=row.outcome, subject=row.subject, detail=row.detail,
            prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            faults.append(ChainFault(row.seq, "row content does not match its hash"))
        prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
    head = await session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.hash != prev):
        faults.append(ChainFault(head.seq, "chain head does not match the last row"))
    return faults


async def _rows_in_order(session: AsyncSession, batch: int) -> AsyncIterator[AuditEvent]:
    after = 0
    while True:
        rows: Sequence[AuditEvent] = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
                .limit(batch)
            )
        ).scalars().all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seq


async def events_for_subject(
    session: AsyncSession, subject: str, *, before_id: int | None = None, limit: int = 50,
) -> list[AuditEvent]:
    """A patient's traces, newest first, paged by id."""
    query = select(AuditEvent).where(AuditEvent.subject == subject)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars().all())
