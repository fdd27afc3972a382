"""Signed checkpoints of the audit chain head, kept outside the database (docs/audit.md).

A keyed chain stops anyone without the key from rewriting rows, but not from cutting
its end off (delete the last rows, move the head back to a row that was once the
head). Each node therefore appends, every `store.audit_checkpoint_seconds` and when it
stops, one line to a file of its own data folder: the head's sequence number and MAC,
signed with the Ed25519 key derived from the master key. The verifier requires every
checkpointed row to be there with that MAC: rows can vanish unnoticed only after the
last checkpoint (the documented bound: one interval).

Invariants:
- a checkpoint is written only from a committed head, read without a lock (it never
  waits for, nor holds up, a writer: no cluster-wide lock);
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
from mss.store.audit import AuditSeal, Checkpoint, verify_signature
from mss.store.tables import AuditHead

log = logging.getLogger(__name__)
_SIGNED_TAG = b"mss-audit-checkpoint-v1|"
_FIELDS = ("seq", "hash", "keyed_from", "at", "node")


class StoreReader(Protocol):
    """What the checkpoints need of the store: a reading transaction."""

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class CheckpointFileError(Exception):
    """The checkpoint file cannot be read, or a line is not a checkpoint of this key."""


def _signed_bytes(values: dict[str, object]) -> bytes:
    return _SIGNED_TAG + json.dumps([values[k] for k in _FIELDS], separators=(",", ":"),
                                    ensure_ascii=True).encode()


def checkpoint_line(seal: AuditSeal, *, seq: int, hash: str, keyed_from: int, at: str,
                    node: str) -> str:
    values: dict[str, object] = {"seq": seq, "hash": hash, "keyed_from": keyed_from,
                                 "at": at, "node": node}
    return json.dumps({**values, "sig": seal.sign(_signed_bytes(values))},
                      separators=(",", ":")) + "\n"


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
            point = Checkpoint(seq=int(values["seq"]), hash=str(values["hash"]),
                               keyed_from=int(values["keyed_from"]), at=str(values["at"]),
                               node=str(values["node"]), line=number)
            good = set(values) == set(_FIELDS) and verify_signature(
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
        found.append(point)
    return CheckpointFile(found, faults)


async def read_head(session: AsyncSession) -> tuple[int, str, int] | None:
    row = (await session.execute(
        select(AuditHead.seq, AuditHead.hash, AuditHead.keyed_from).where(AuditHead.id == 1)
    )).one_or_none()
    return (int(row[0]), str(row[1]), int(row[2])) if row is not None else None


class AuditCheckpointer:
    """Writes this node's checkpoints (the caller logs each one: `audit.checkpoint`)."""

    def __init__(self, path: Path, seal: AuditSeal, clock: Clock, node: str) -> None:
        self.path = path
        self._seal = seal
        self._clock = clock
        self._node = node
        self._last_seq = -1

    async def write_now(self, session: AsyncSession) -> Checkpoint | None:
        """Checkpoint the committed head if it moved since this node's last line."""
        head = await read_head(session)
        if head is None or head[0] == self._last_seq:
            return None
        seq, digest, keyed_from = head
        at = self._clock.now().isoformat(timespec="seconds")
        line = checkpoint_line(self._seal, seq=seq, hash=digest, keyed_from=keyed_from,
                               at=at, node=self._node)
        await asyncio.to_thread(_append_synced, self.path, line.encode())
        self._last_seq = seq
        return Checkpoint(seq, digest, keyed_from, at, self._node)


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
        point = await checkpointer.write_now(session)
    if point is not None:
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
