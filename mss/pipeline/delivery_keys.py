"""A delivery key per accepted message, so that a retry is not delivered twice.

A client whose `250` was lost (the connection dropped after the final dot, or the
database connection was lost during COMMIT and the client heard `451` although the
message was stored) sends the same message again. Mature servers accept that as
at-least-once delivery; MSS, whose messages land in patients' records, recognises the
retry instead (issue 17 §7): the key is a SHA-256 of who sent it (principal, and the
peer certificate's subject on the MX), the envelope sender, the Message-ID the sender
wrote and the body (the header section is not the same twice: each attempt gets its
own `Received:` field). The key is written inside the transaction
that accepts the message; recipients accepted under it within `limits.retry_window_hours`
are answered as accepted again and not delivered again.

A message is first accepted as if seen for the first time: its key row is claimed with
the batch's other writes, in the transaction's last hop (`claim_delivery_key`), so that
the shared write transaction (and, on SQLite, the cross-process write lock) is not held
across a read per message (issue 19: that hold was what capped the MX). A key already
there fails that one job with `DeliveryKeyTaken`, nothing of it written; the pipeline
then runs the message again through `accepted_before`, inside the transaction.

Invariants:
- a message without a Message-ID of its sender's has no key (two such messages cannot
  be told from a retry): it is delivered every time, as before;
- a key row commits with the deliveries it records, or not at all;
- two nodes accepting the same retry at once: the second's claim finds the first's row
  (on PostgreSQL after waiting for the first's commit) and it is answered from the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.pipeline.tables import DeliveryKey
from mss.store.insert_once import insert_once
from mss.store.thread_reads import PreparedStatement, Reads, run_in_transaction
from mss.store.unit_of_work import DeferredWriteFailed, UnitOfWork

_TABLE = DeliveryKey.__table__
# Read and written with every accepted message: built and compiled once, run in the
# transaction's own connection (mss.store.thread_reads), not rebuilt per message.
_READ_KEY = PreparedStatement(
    select(_TABLE.c.queue_id, _TABLE.c.recipients, _TABLE.c.accepted_at)
    .where(_TABLE.c.key == bindparam("b_key")))
_ADD_KEY = PreparedStatement(insert(_TABLE).values(
    key=bindparam("b_key"), queue_id=bindparam("b_queue_id"),
    recipients=bindparam("b_recipients"), accepted_at=bindparam("b_accepted_at")))


# SQLite's claims, one row at a time in the thread (PostgreSQL's: one statement per batch).
_CLAIM_ON_SQLITE = PreparedStatement(
    insert_once(sqlite.dialect(), _TABLE, ["key"]).values(
        key=bindparam("b_key"), queue_id=bindparam("b_queue_id"),
        recipients=bindparam("b_recipients"), accepted_at=bindparam("b_accepted_at"))
    .returning(_TABLE.c.key))


class DeliveryKeyTaken(Exception):
    """The message's key is already recorded: it may be a retry (module docstring)."""


@dataclass(frozen=True, slots=True)
class _Claim:
    key: str
    queue_id: str
    recipients: str
    accepted_at: datetime


def claim_delivery_key(uow: UnitOfWork, key: str, queue_id: str, accepted: set[str]) -> None:
    """Record `key` for the recipients this job accepts, with the batch's other claims at
    its end; the job fails with `DeliveryKeyTaken` when a row has the key already."""
    uow.defer(_write_claims, _Claim(key, queue_id, "\n".join(sorted(accepted)), uow.now()))


async def _write_claims(connection: AsyncConnection, claims: list[_Claim]) -> None:
    """The batch's claims in one hop (SQLite: raised in it, so that the early COMMIT is not
    made, mss.store.sqlite_driver) or one statement (PostgreSQL); a taken key fails its
    job alone (a second claim of one key in the batch is the taken one)."""
    if connection.dialect.name == "postgresql":
        rows = [{"key": c.key, "queue_id": c.queue_id, "recipients": c.recipients,
                 "accepted_at": c.accepted_at} for c in claims]
        written = set((await connection.execute(
            insert_once(connection.dialect, _TABLE, ["key"]).values(rows)
            .returning(_TABLE.c.key))).scalars())
        claimed: set[str] = set()
        for position, claim in enumerate(claims):
            if claim.key not in written or claim.key in claimed:
                raise DeferredWriteFailed(position, DeliveryKeyTaken(claim.key))
            claimed.add(claim.key)
        return
    def write(db: Reads) -> None:
        for position, claim in enumerate(claims):
            if not db.rows(_CLAIM_ON_SQLITE, b_key=claim.key, b_queue_id=claim.queue_id,
                           b_recipients=claim.recipients, b_accepted_at=claim.accepted_at):
                raise DeferredWriteFailed(position, DeliveryKeyTaken(claim.key))

    await run_in_transaction(connection, write)


@dataclass(frozen=True, slots=True)
class EarlierAcceptance:
    queue_id: str
    recipients: frozenset[str]


def delivery_key(*, sender: str, mail_from: str, message_id: str, body: bytes) -> str:
    """SHA-256 of the fields a retried transaction repeats (module docstring)."""
    digest = hashlib.sha256()
    for part in (b"mss-delivery-key-v1", sender.encode(), mail_from.lower().encode(),
                 message_id.encode(), hashlib.sha256(body).digest()):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.hexdigest()


async def accepted_before(uow: UnitOfWork, key: str, window: timedelta
                          ) -> EarlierAcceptance | None:
    """The recipients accepted under `key` within the window, in this transaction."""
    connection = await uow.core()
    row = await run_in_transaction(connection, lambda db: db.first(_READ_KEY, b_key=key))
    if row is None:
        return None
    queue_id, recipients, accepted_at = row
    if accepted_at < uow.now() - window:
        return EarlierAcceptance("", frozenset())
    return EarlierAcceptance(queue_id, frozenset(filter(None, recipients.split("\n"))))


async def record_acceptance(uow: UnitOfWork, key: str, queue_id: str,
                            earlier: EarlierAcceptance | None, accepted: set[str]) -> None:
    """Write (or widen) the key's row with every recipient accepted under it."""
    connection = await uow.core()
    recipients = "\n".join(sorted(accepted | (earlier.recipients if earlier else set())))
    if earlier is None:
        now = uow.now()
        await run_in_transaction(connection, lambda db: db.rows(
            _ADD_KEY, b_key=key, b_queue_id=queue_id, b_recipients=recipients,
            b_accepted_at=now))
        return
    values: dict[str, object] = {"recipients": recipients}
    if not earlier.queue_id:  # outside the window: a new acceptance
        values.update(queue_id=queue_id, accepted_at=uow.now())
    await connection.execute(update(_TABLE).where(_TABLE.c.key == key).values(**values))


async def forget_old_keys(uow: UnitOfWork, window: timedelta) -> None:
    """Delete the keys older than the window (the node's heartbeat runs it): a retry
    that late is a new delivery anyway."""
    connection = await uow.core()
    await connection.execute(delete(_TABLE).where(_TABLE.c.accepted_at < uow.now() - window))
