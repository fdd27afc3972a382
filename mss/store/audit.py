"""The audit trail: append-only rows in chains, one per writer, each chained by a keyed
MAC (docs/architecture.md §5, docs/audit.md: tamper evident against whoever can write
the database).

Rows name principal, action, target and outcome, never message content. Each node's
writer (its node id: `server.node_id`, one per process) appends to a chain of its own
with its own head row, so that no row of the database is locked by every writer of the
cluster. Each row's `hash` is an HMAC-SHA256, under a key derived from the master key
(`AuditSeal`), of its chain's name, its sequence number in that chain, the previous
row's MAC and its content: rewriting, deleting, reordering rows or moving them to
another chain and recomputing the rest needs that key, which the database never holds.
The one chain written before schema 0021 is the chain "" (its MACs do not name a chain);
its rows written before the key came (schema 0011) keep their plain SHA-256 hash, and
its head says from which row it is keyed (`keyed_from`). Cutting the end of a chain, or
dropping a whole chain, is caught by the signed checkpoints of every head, written
outside the database (`mss/store/audit_checkpoints.py`); the checks are in
`mss/store/audit_verify.py`.

Invariants:
- a chain's head row is locked by each writing transaction only just before COMMIT
  (`AuditChain.save`, after every job of a group-commit batch), and only by the writers
  of that chain (the processes sharing a node id), so that a chain never forks and
  other nodes never wait for it; a row's content is serialised when it is appended, so
  that inside the lock only the MAC of (chain, seq, previous MAC, content) is computed;
- the MAC key and the checkpoint signing key are derived from the master key
  (`Keyring.derive`), never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mss.identity import Principal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.keys import Keyring
from mss.store.sqlite_driver import SqliteConnection, ThreadStatement
from mss.store.tables import AuditEvent, AuditHead

GENESIS = "0" * 64
SINGLE_CHAIN = ""  # the one chain of the trail before schema 0021
_MAC_LABEL = b"mss-audit-chain-mac-v1"
_SIGN_LABEL = b"mss-audit-checkpoint-ed25519-v1"
_MAC_TAG = b"mss-audit-v2|"  # rows of the chain "" (schema 0011 to 0020)
_CHAIN_MAC_TAG = b"mss-audit-v3|"  # rows of a writer's chain: the MAC names the chain

# Core statements built once: every writing transaction runs them (docs/design-notes.md,
# Performance: through the ORM, the chain's three statements cost more than a delivery's).
_HEAD = AuditHead.__table__
_LOCK_HEAD = (select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.chain == bindparam("b_chain"))
              .with_for_update())
_MOVE_HEAD = (update(_HEAD).where(_HEAD.c.chain == bindparam("b_chain"))
              .values(seq=bindparam("b_seq"), hash=bindparam("b_hash")))
_NEW_HEAD = {"seq": 0, "keyed_from": 1}
# A chain's first writer creates its head; one that raced it finds the head made. A new
# chain starts from the last MAC of the chain "" (GENESIS when it has no rows): its
# first row's MAC covers it, so that the rows of that closed chain (plain ones too)
# cannot be rewritten without breaking every chain written after it.
_SINGLE_HEAD = select(_HEAD.c.hash).where(_HEAD.c.chain == SINGLE_CHAIN)
_CREATE_HEAD_PG = postgresql.insert(_HEAD).values(_NEW_HEAD).on_conflict_do_nothing()
_CREATE_HEAD_SQLITE = sqlite.insert(_HEAD).values(_NEW_HEAD).on_conflict_do_nothing()
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

    def mac(self, chain: str, seq: int, prev_hash: str, body: bytes) -> str:
        if chain == SINGLE_CHAIN:
            message = b"%s%d|%s|%s" % (_MAC_TAG, seq, prev_hash.encode(), body)
        else:  # the name length-prefixed: no two (chain, seq) read as the same bytes
            name = chain.encode()
            message = b"%s%d:%s|%d|%s|%s" % (_CHAIN_MAC_TAG, len(name), name, seq,
                                             prev_hash.encode(), body)
        return hmac.digest(self._mac_key, message, "sha256").hex()

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
    """One writing transaction's audit rows, chained onto its writer's head when saved.

    The head of chain `name` is read (locked: FOR UPDATE; on SQLite the transaction
    holds the write lock) and the rows MACed at `save`, just before commit, in the order
    they were appended: a chain's order is the commit order of its writers. On SQLite
    reading the head, writing the rows and moving the head are one call to the
    connection's thread (docs/design-notes.md, Performance: the head used to be read at
    the start of each batch, a round trip of its own)."""

    def __init__(self, seal: AuditSeal, name: str) -> None:
        if name == SINGLE_CHAIN:
            raise ValueError("the chain \"\" is the trail before schema 0021: closed")
        self._seal = seal
        self.name = name
        self._pending: list[tuple[dict[str, object], bytes]] = []  # appended, not yet chained
        self.saved: list[dict[str, object]] = []  # what the transaction wrote, for metrics

    def append(
        self, *, at: datetime, principal: Principal | str,
        action: AuditAction, target: str = "", outcome: AuditOutcome = AuditOutcome.OK,
        subject: str = "", detail: str = "",
    ) -> dict[str, object]:
        who = principal if isinstance(principal, str) else principal.label()
        row: dict[str, object] = dict(
            chain=self.name, at=at, principal=who, action=action.value, target=target,
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
                partial(_save_in_thread, statements, self._seal, self.name, pending))
            return
        which = {"b_chain": self.name}
        asked = time.perf_counter()
        head = (await connection.execute(_LOCK_HEAD, which)).one_or_none()
        if head is None:  # this chain's first rows
            start = (await connection.execute(_SINGLE_HEAD)).scalar_one_or_none()
            await connection.execute(_CREATE_HEAD_PG, {"chain": self.name,
                                                       "hash": start or GENESIS})
            head = (await connection.execute(_LOCK_HEAD, which)).one()
        waited = time.perf_counter() - asked
        for listener in self._seal.head_lock_listeners:
            listener(waited)
        rows = chained(self.name, head, pending, self._seal)
        await connection.execute(_INSERT_EVENTS, rows)
        last = rows[-1]
        await connection.execute(_MOVE_HEAD, {**which, "b_seq": last["seq"],
                                              "b_hash": last["hash"]})
        self.saved = rows


def chained(chain: str, head: Any, pending: Iterable[tuple[dict[str, object], bytes]],
            seal: AuditSeal) -> list[dict[str, object]]:
    """`pending` rows with seq, prev_hash and MAC, following `head` of `chain`."""
    seq, previous = head[0], head[1]
    rows = []
    for row, body in pending:
        seq += 1
        digest = seal.mac(chain, seq, previous, body)
        rows.append({**row, "seq": seq, "prev_hash": previous, "hash": digest})
        previous = digest
    return rows


_ROW_KEYS = ["chain", "at", "principal", "action", "target", "outcome", "subject", "detail", "seq",
             "prev_hash", "hash"]
_THREAD_STATEMENTS: dict[str, tuple[ThreadStatement, ...]] = {}


def _thread_statements(dialect: Dialect) -> tuple[ThreadStatement, ...]:
    compiled = _THREAD_STATEMENTS.get(dialect.name)
    if compiled is None:
        compiled = _THREAD_STATEMENTS[dialect.name] = (
            ThreadStatement.compile(_LOCK_HEAD, dialect),
            ThreadStatement.compile(_INSERT_EVENTS, dialect, _ROW_KEYS),
            ThreadStatement.compile(_MOVE_HEAD, dialect),
            ThreadStatement.compile(_CREATE_HEAD_SQLITE, dialect, ["chain", "hash"]),
            ThreadStatement.compile(_SINGLE_HEAD, dialect),
        )
    return compiled


def _save_in_thread(
    statements: tuple[ThreadStatement, ...], seal: AuditSeal, chain: str,
    pending: list[tuple[dict[str, object], bytes]], conn: sqlite3.Connection,
) -> list[dict[str, object]]:
    lock_head, insert_events, move_head, create_head, single_head = statements
    which = {"b_chain": chain}
    found = lock_head.execute(conn, which)
    if not found:  # this chain's first rows (the transaction holds the write lock)
        start = single_head.execute(conn, {})
        create_head.execute(conn, {"chain": chain, "hash": start[0][0] if start else GENESIS})
        found = lock_head.execute(conn, which)
    rows = chained(chain, found[0], pending, seal)
    insert_events.execute_many(conn, rows)
    last = rows[-1]
    move_head.execute(conn, {**which, "b_seq": last["seq"], "b_hash": last["hash"]})
    return rows


async def events_for_subject(
    session: AsyncSession, subject: str, *, before_id: int | None = None, limit: int = 50,
) -> list[AuditEvent]:
    """A patient's traces, newest first, paged by id."""
    query = select(AuditEvent).where(AuditEvent.subject == subject)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars().all())
