"""Signed checkpoints of every audit chain's head, kept outside the database
(docs/audit.md).

A keyed chain stops anyone without the key from rewriting rows, but not from cutting
its end off (delete the last rows, move the head back to a row that was once the head)
nor from dropping a whole chain. Each node therefore appends, every
`store.audit_checkpoint_seconds` and when it stops, one line to a file of its own data
folder: every chain's head (its name, sequence number, MAC and `keyed_from`), signed
with the Ed25519 key derived from the master key. The verifier requires every
checkpointed row to be there with that MAC, in every chain: rows can vanish unnoticed
only after the last checkpoint (the documented bound: one interval). A node's file
covers the other nodes' chains too, so that losing one node's file loses nothing.

Lines written before schema 0021 (`{"seq": …, "hash": …, "keyed_from": …}`, one head)
name the chain "" and are still read.

Invariants:
- a checkpoint is written only from committed heads, read without a lock in one
  statement (it never waits for, nor holds up, a writer: no cluster-wide lock);
- a line is appended and fsynced before it is logged; a torn last line (a crash while
  writing) is reported, not taken as tampering of the lines before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.clock import Clock
from mss.store.audit import SINGLE_CHAIN, AuditSeal, verify_signature
from mss.store.tables import AuditHead

log = logging.getLogger(__name__)
_SIGNED_TAG = b"mss-audit-checkpoint-v1|"  # one head (before schema 0021)
_HEADS_TAG = b"mss-audit-checkpoint-v2|"  # every chain's head
_FIELDS = ("seq", "hash", "keyed_from", "at", "node")
_HEADS_FIELDS = ("heads", "at", "node")


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that row `seq` of `chain` had MAC `hash` at `at` (one head of
    a checkpoint line: a line names every chain's head)."""

    seq: int
    hash: str
    keyed_from: int
    at: str
    node: str
    line: int = 0  # in its file, for the messages
    chain: str = SINGLE_CHAIN


Head = tuple[str, int, str, int]  # chain, seq, MAC, keyed_from


class StoreReader(Protocol):
    """What the checkpoints need of the store: a reading transaction."""

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class CheckpointFileError(Exception):
    """The checkpoint file cannot be read, or a line is not a checkpoint of this key."""


def _signed_bytes(values: dict[str, object]) -> bytes:
    if "heads" in values:
        return _HEADS_TAG + json.dumps([values[k] for k in _HEADS_FIELDS],
                                       separators=(",", ":"), ensure_ascii=True).encode()
    return _SIGNED_TAG + json.dumps([values[k] for k in _FIELDS], separators=(",", ":"),
                                    ensure_ascii=True).encode()


def checkpoint_line(seal: AuditSeal, *, heads: list[Head], at: str, node: str) -> str:
    """One signed line naming every chain's head, in chain order."""
    values: dict[str, object] = {"heads": [list(h) for h in sorted(heads)], "at": at,
                                 "node": node}
    return json.dumps({**values, "sig": seal.sign(_signed_bytes(values))},
                      separators=(",", ":")) + "\n"


def _points(values: dict[str, object], line: int) -> tuple[list[Checkpoint], set[str]]:
    """The heads a line names, and the fields it should have."""
    at, node = str(values["at"]), str(values["node"])
    if "heads" in values:
        heads = values["heads"]
        if not isinstance(heads, list):
            raise TypeError("heads")
        return [Checkpoint(seq=int(seq), hash=str(digest), keyed_from=int(keyed_from),
                           at=at, node=node, line=line, chain=str(chain))
                for chain, seq, digest, keyed_from in heads], set(_HEADS_FIELDS)
    return [Checkpoint(seq=int(str(values["seq"])), hash=str(values["hash"]),
                       keyed_from=int(str(values["keyed_from"])), at=at, node=node,
                       line=line)], set(_FIELDS)


@dataclass
class CheckpointFile:
    checkpoints: list[Checkpoint]
    faults: list[str]  # lines that are not good checkpoints, one message each


def read_checkpoints(path: Path, seal: AuditSeal) -> CheckpointFile:
    """Every signed checkpoint of `path` (none when the file does not exist yet)."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return CheckpointFile([], [])
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointFileError(f"{path}: cannot read the audit checkpoints ({exc})") from None
    found: list[Checkpoint] = []
    faults: list[str] = []
    lines = text.split("\n")
    torn = lines[-1] != ""  # no newline at the end: the last write did not finish
    for number, line in enumerate(lines[:-1] if not torn else lines, start=1):
        if not line:
            continue
        try:
            values = json.loads(line)
            sig = values.pop("sig")
            points, fields = _points(values, number)
            good = set(values) == fields and verify_signature(
                seal.public_key, _signed_bytes(values), str(sig))
        except (ValueError, KeyError, TypeError, AttributeError):
            if torn and number == len(lines):
                log.warning("%s: line %d is incomplete (a write cut short), ignored",
                            path, number)
                continue
            faults.append(f"{path}: line {number} is not a checkpoint")
            continue
        if not good:
            faults.append(f"{path}: line {number}: signature does not verify (not written "
                          "with this operator's key)")
            continue
        found.extend(points)
    return CheckpointFile(found, faults)


async def read_heads(session: AsyncSession) -> list[Head]:
    """Every chain's committed head that has rows, in one statement (one snapshot)."""
    rows = (await session.execute(
        select(AuditHead.chain, AuditHead.seq, AuditHead.hash, AuditHead.keyed_from)
        .where(AuditHead.seq > 0).order_by(AuditHead.chain)
    )).all()
    return [(str(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]


class AuditCheckpointer:
    """Writes this node's checkpoints (the caller logs each head: `audit.checkpoint`)."""

    def __init__(self, path: Path, seal: AuditSeal, clock: Clock, node: str) -> None:
        self.path = path
        self._seal = seal
        self._clock = clock
        self._node = node
        self._last: list[Head] | None = None

    async def write_now(self, session: AsyncSession) -> list[Checkpoint]:
        """Checkpoint every committed head if one moved since this node's last line
        (nothing written, and [] returned, otherwise)."""
        heads = await read_heads(session)
        if not heads or heads == self._last:
            return []
        at = self._clock.now().isoformat(timespec="seconds")
        line = checkpoint_line(self._seal, heads=heads, at=at, node=self._node)
        await asyncio.to_thread(_append_synced, self.path, line.encode())
        self._last = heads
        return [Checkpoint(seq, digest, keyed_from, at, self._node, chain=chain)
                for chain, seq, digest, keyed_from in heads]


def _append_synced(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


async def checkpoint_once(checkpointer: AuditCheckpointer, store: StoreReader,
                          on_written: Callable[[Checkpoint], None]) -> None:
    async with store.reading() as session:
        points = await checkpointer.write_now(session)
    for point in points:
        on_written(point)


async def run_checkpoints(checkpointer: AuditCheckpointer, store: StoreReader,
                          on_written: Callable[[Checkpoint], None], every: float) -> None:
    """Checkpoint the head forever at a fixed interval (a background task of the app)."""
    while True:
        try:
            await checkpoint_once(checkpointer, store, on_written)
        except Exception:
            log.exception("audit checkpoint failed")
        await asyncio.sleep(every)
