"""The audit trail: append-only rows chained by a keyed MAC (docs/architecture.md §5,
docs/audit.md: tamper evident against whoever can write the database).

Rows name principal, action, target and outcome, never message content. Each row's
`hash` is an HMAC-SHA256, under a key derived from the master key (`AuditSeal`), of its
sequence number, the previous row's MAC and its content: rewriting, deleting or
reordering rows and recomputing the rest needs that key, which the database never holds.
Rows written before the key came (schema 0011) keep their plain SHA-256 hash; the head
says from which row the chain is keyed (`keyed_from`). Truncating the end is caught by
the signed checkpoints written outside the database (`mss/store/audit_checkpoints.py`).

Invariants:
- the chain head row is locked by each writing transaction only just before COMMIT
  (`AuditChain.save`, after every job of a group-commit batch), so that concurrent
  writers, on one node or several, never fork the chain and wait for it as briefly as
  they can; a row's content is serialised when it is appended, so that inside the lock
  only the MAC of (seq, previous MAC, content) is computed;
- the MAC key and the checkpoint signing key are derived from the master key
  (`Keyring.derive`), never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mss.identity import Principal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.keys import Keyring
from mss.store.sqlite_driver import SqliteConnection, ThreadStatement
from mss.store.tables import AuditEvent, AuditHead

GENESIS = "0" * 64
_MAC_LABEL = b"mss-audit-chain-mac-v1"
_SIGN_LABEL = b"mss-audit-checkpoint-ed25519-v1"
_MAC_TAG = b"mss-audit-v2|"

# Core statements built once: every writing transaction runs them (docs/design-notes.md,
# Performance: through the ORM, the chain's three statements cost more than a delivery's).
_HEAD = AuditHead.__table__
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_MOVE_HEAD = (update(_HEAD).where(_HEAD.c.id == 1)
              .values(seq=bindparam("b_seq"), hash=bindparam("b_hash")))
_CREATE_HEAD = insert(_HEAD)
_INSERT_EVENTS = insert(AuditEvent.__table__)


class AuditSeal:
    """The keys that make the trail tamper evident, derived from the master key: an
    HMAC key for the rows, an Ed25519 key that signs the checkpoints (whose public half
    lets anyone check a checkpoint file offline)."""

    def __init__(self, mac_key: bytes, signing_seed: bytes) -> None:
        self._mac_key = mac_key
        self._signing = Ed25519PrivateKey.from_private_bytes(signing_seed)
        self.public_key: Ed25519PublicKey = self._signing.public_key()
        # each wait for the head's row lock (PostgreSQL's FOR UPDATE), in seconds: the
        # node's metrics and the benches listen (docs/audit.md, Scale-out)
        self.head_lock_listeners: list[Callable[[float], None]] = []

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> AuditSeal:
        return cls(keyring.derive(_MAC_LABEL), keyring.derive(_SIGN_LABEL))

    def mac(self, seq: int, prev_hash: str, body: bytes) -> str:
        return hmac.digest(self._mac_key, b"%s%d|%s|%s" % (
            _MAC_TAG, seq, prev_hash.encode(), body), "sha256").hex()

    def sign(self, data: bytes) -> str:
        return self._signing.sign(data).hex()

    def public_key_hex(self) -> str:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def verify_signature(public_key: Ed25519PublicKey, data: bytes, signature_hex: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def row_body(*, at: datetime, principal: str, action: str, target: str, outcome: str,
             subject: str, detail: str) -> bytes:
    """A row's content as the MAC covers it (canonical JSON)."""
    return json.dumps([at.isoformat(), principal, action, target, outcome, subject, detail],
                      ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(
    *, seq: int, at: datetime, principal: str, action: str, target: str, outcome: str,
    subject: str, detail: str, prev_hash: str,
) -> str:
    """The plain SHA-256 of rows written before the key (schema 0011); never written now."""
    canonical = json.dumps(
        [seq, at.isoformat(), principal, action, target, outcome, subject, detail, prev_hash],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditChain:
    """One writing transaction's audit rows, chained onto the head when saved.

    The head is read (locked: FOR UPDATE; on SQLite the transaction holds the write
    lock) and the rows MACed at `save`, just before commit, in the order they were
    appended: the chain order is the commit order, on one node or several. On SQLite
    reading the head, writing the rows and moving the head are one call to the
    connection's thread (docs/design-notes.md, Performance: the head used to be read at
    the start of each batch, a round trip of its own)."""

    def __init__(self, seal: AuditSeal) -> None:
        self._seal = seal
        self._pending: list[tuple[dict[str, object], bytes]] = []  # appended, not yet chained
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
        body = row_body(at=at, principal=who, action=action.value, target=target,
                        outcome=outcome.value, subject=subject, detail=detail)
        self._pending.append((row, body))
        return row

    async def save(self, connection: AsyncConnection) -> None:
        """Chain the appended rows onto the head, write them and move the head."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, SqliteConnection):
            statements = _thread_statements(connection.dialect)
            self.saved = await driver.run(
                partial(_save_in_thread, statements, self._seal, pending))
            return
        asked = time.perf_counter()
        head = (await connection.execute(_LOCK_HEAD)).one_or_none()
        waited = time.perf_counter() - asked
        for listener in self._seal.head_lock_listeners:
            listener(waited)
        rows = chained(head, pending, self._seal)
        await connection.execute(_INSERT_EVENTS, rows)
        last = rows[-1]
        if head is not None:
            await connection.execute(_MOVE_HEAD, {"b_seq": last["seq"], "b_hash": last["hash"]})
        else:
            await connection.execute(_CREATE_HEAD, {"id": 1, "seq": last["seq"],
                                                    "hash": last["hash"], "keyed_from": 1})
        self.saved = rows


def chained(head: Any, pending: Iterable[tuple[dict[str, object], bytes]],
            seal: AuditSeal) -> list[dict[str, object]]:
    """`pending` rows with seq, prev_hash and MAC, following `head` (None: genesis)."""
    seq, previous = (head[0], head[1]) if head is not None else (0, GENESIS)
    rows = []
    for row, body in pending:
        seq += 1
        digest = seal.mac(seq, previous, body)
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
            ThreadStatement.compile(_CREATE_HEAD, dialect, ["id", "seq", "hash", "keyed_from"]),
        )
    return compiled


def _save_in_thread(
    statements: tuple[ThreadStatement, ...], seal: AuditSeal,
    pending: list[tuple[dict[str, object], bytes]], conn: sqlite3.Connection,
) -> list[dict[str, object]]:
    lock_head, insert_events, move_head, create_head = statements
    found = lock_head.execute(conn, {})
    rows = chained(found[0] if found else None, pending, seal)
    insert_events.execute_many(conn, rows)
    last = rows[-1]
    if found:
        move_head.execute(conn, {"b_seq": last["seq"], "b_hash": last["hash"]})
    else:
        create_head.execute(conn, {"id": 1, "seq": last["seq"], "hash": last["hash"],
                                   "keyed_from": 1})
    return rows


@dataclass(frozen=True)
class ChainFault:
    seq: int
    problem: str


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that row `seq` of the chain had MAC `hash` at `at`."""

    seq: int
    hash: str
    keyed_from: int
    at: str
    node: str
    line: int = 0  # in its file, for the messages


@dataclass
class ChainReport:
    rows: int = 0
    keyed_from: int = 1
    last_seq: int = 0
    checkpoints: int = 0
    faults: list[ChainFault] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults

    def first_fault(self) -> str:
        fault = self.faults[0]
        more = f" ({len(self.faults)} faults in all)" if len(self.faults) > 1 else ""
        return f"audit row {fault.seq}: {fault.problem}{more}"


async def check_chain(session: AsyncSession, seal: AuditSeal, *,
                      checkpoints: Sequence[Checkpoint] = (), batch: int = 5000) -> ChainReport:
    """Recompute every MAC in order; report deleted, edited and reordered rows, a head
    that disagrees, and rows the signed checkpoints saw that are gone or changed."""
    report = ChainReport()
    head = await session.get(AuditHead, 1)
    keyed_from = head.keyed_from if head is not None else 1
    report.keyed_from = keyed_from
    wanted = {c.seq: c for c in checkpoints}
    faults = report.faults
    prev, expected_seq = GENESIS, 1
    async for row in _rows_in_order(session, batch):
        report.rows += 1
        if row.seq != expected_seq:
            missing = (f"row {expected_seq} is missing" if row.seq == expected_seq + 1
                       else f"rows {expected_seq} to {row.seq - 1} are missing")
            faults.append(ChainFault(expected_seq, f"{missing} (deleted)"))
        elif row.prev_hash != prev:
            faults.append(ChainFault(row.seq, "does not follow the row before it "
                                     "(rows reordered, replaced or deleted)"))
        elif row.seq >= keyed_from:
            body = row_body(at=row.at, principal=row.principal, action=row.action,
                            target=row.target, outcome=row.outcome, subject=row.subject,
                            detail=row.detail)
            if not hmac.compare_digest(seal.mac(row.seq, row.prev_hash, body), row.hash):
                faults.append(ChainFault(row.seq, "edited: its MAC does not match its "
                                         "content (rewriting a row needs the audit key)"))
        elif row_hash(seq=row.seq, at=row.at, principal=row.principal, action=row.action,
                      target=row.target, outcome=row.outcome, subject=row.subject,
                      detail=row.detail, prev_hash=row.prev_hash) != row.hash:
            faults.append(ChainFault(row.seq, "edited: its hash does not match its content"))
        seen = wanted.get(row.seq)
        if seen is not None and seen.hash != row.hash:
            faults.append(ChainFault(row.seq, f"differs from the signed checkpoint of "
                                     f"{seen.at} (line {seen.line}): rewritten"))
        prev, expected_seq, report.last_seq = row.hash, row.seq + 1, row.seq
    last = report.last_seq
    for seen in sorted(checkpoints, key=lambda c: c.seq):
        report.checkpoints += 1
        if seen.keyed_from != keyed_from:
            faults.append(ChainFault(keyed_from, f"the chain head says rows are keyed from "
                                     f"row {keyed_from}, the signed checkpoint of {seen.at} "
                                     f"says from row {seen.keyed_from}"))
    beyond = [c for c in checkpoints if c.seq > last]
    if beyond:
        seen = max(beyond, key=lambda c: c.seq)
        faults.append(ChainFault(last + 1, f"the chain ends at row {last} but the signed "
                                 f"checkpoint of {seen.at} (line {seen.line}) saw row "
                                 f"{seen.seq}: rows deleted from the end (truncated)"))
    if head is None and last:
        faults.append(ChainFault(last, "the chain head row is missing"))
    if head is not None and (head.seq != last or head.hash != prev):
        faults.append(ChainFault(head.seq, f"the chain head names row {head.seq} but the "
                                 f"chain ends at row {last}" if head.seq != last else
                                 "the chain head does not match the last row"))
    faults.sort(key=lambda f: f.seq)
    return report


async def verify_chain(session: AsyncSession, seal: AuditSeal, *,
                       checkpoints: Sequence[Checkpoint] = (),
                       batch: int = 5000) -> list[ChainFault]:
    """The faults of `check_chain`, first bad row first."""
    return (await check_chain(session, seal, checkpoints=checkpoints, batch=batch)).faults


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
