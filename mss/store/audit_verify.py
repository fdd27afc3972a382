"""Checking the audit trail: every chain against its MACs, its head and the signed
checkpoints of every head (docs/audit.md, `mss audit verify`, `mss verify`).

Each chain is walked in sequence order and each MAC recomputed, so that a row edited,
deleted, reordered or moved from another chain is named; a chain that ends before a row
a checkpoint saw (its end cut off, or the whole chain dropped) is named too. The walk
reads rows in pages by (chain, seq), so that memory stays bounded on a long trail.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.audit import GENESIS, SINGLE_CHAIN, AuditSeal, row_body, row_hash
from mss.store.audit_checkpoints import Checkpoint
from mss.store.tables import AuditEvent, AuditHead


@dataclass(frozen=True)
class ChainFault:
    seq: int
    problem: str
    chain: str = SINGLE_CHAIN

    def where(self) -> str:
        """`audit row 3` in the chain written before schema 0021, else which chain's."""
        if self.chain == SINGLE_CHAIN:
            return f"audit row {self.seq}"
        return f"audit row {self.seq} of chain {self.chain}"

    def __str__(self) -> str:
        return f"{self.where()}: {self.problem}"


@dataclass
class ChainSummary:
    rows: int = 0
    last_seq: int = 0
    keyed_from: int = 1


@dataclass
class ChainReport:
    rows: int = 0
    checkpoints: int = 0  # signed checkpoint lines
    chains: dict[str, ChainSummary] = field(default_factory=dict)
    faults: list[ChainFault] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults

    @property
    def unkeyed(self) -> int:
        """Rows written before the key (schema 0011), plain SHA-256."""
        return sum(c.keyed_from - 1 for c in self.chains.values())

    def first_fault(self) -> str:
        more = f" ({len(self.faults)} faults in all)" if len(self.faults) > 1 else ""
        return f"{self.faults[0]}{more}"


class _ChainWalk:
    """One chain's rows, fed in sequence order."""

    def __init__(self, chain: str, seal: AuditSeal, keyed_from: int, start: str,
                 checkpoints: Sequence[Checkpoint], faults: list[ChainFault]) -> None:
        self.chain = chain
        self.summary = ChainSummary(keyed_from=keyed_from)
        self._seal = seal
        self._checkpoints = checkpoints
        self._seen = {c.seq: c for c in checkpoints}
        self._faults = faults
        self._prev = start  # what row 1's prev_hash must be
        self._expected = 1

    @property
    def last_hash(self) -> str:
        return self._prev

    def _fault(self, seq: int, problem: str) -> None:
        self._faults.append(ChainFault(seq, problem, self.chain))

    def feed(self, row: AuditEvent) -> None:
        self.summary.rows += 1
        keyed_from = self.summary.keyed_from
        if row.seq != self._expected:
            missing = (f"row {self._expected} is missing" if row.seq == self._expected + 1
                       else f"rows {self._expected} to {row.seq - 1} are missing")
            self._fault(self._expected, f"{missing} (deleted)")
        elif row.prev_hash != self._prev:
            self._fault(row.seq, "does not follow the row before it "
                        "(rows reordered, replaced or deleted)")
        elif row.seq >= keyed_from:
            body = row_body(at=row.at, principal=row.principal, action=row.action,
                            target=row.target, outcome=row.outcome, subject=row.subject,
                            detail=row.detail)
            if not hmac.compare_digest(self._seal.mac(self.chain, row.seq, row.prev_hash,
                                                      body), row.hash):
                self._fault(row.seq, "edited: its MAC does not match its content "
                            "(rewriting a row needs the audit key)")
        elif row_hash(seq=row.seq, at=row.at, principal=row.principal, action=row.action,
                      target=row.target, outcome=row.outcome, subject=row.subject,
                      detail=row.detail, prev_hash=row.prev_hash) != row.hash:
            self._fault(row.seq, "edited: its hash does not match its content")
        seen = self._seen.get(row.seq)
        if seen is not None and seen.hash != row.hash:
            self._fault(row.seq, f"differs from the signed checkpoint of {seen.at} "
                        f"(line {seen.line}): rewritten")
        self._prev, self._expected, self.summary.last_seq = row.hash, row.seq + 1, row.seq

    def finish(self, head: AuditHead | None) -> None:
        """The end of the chain against its head and the checkpoints."""
        last, keyed_from = self.summary.last_seq, self.summary.keyed_from
        for seen in self._checkpoints:
            if seen.keyed_from != keyed_from:
                self._fault(keyed_from, f"the chain head says rows are keyed from row "
                            f"{keyed_from}, the signed checkpoint of {seen.at} says from "
                            f"row {seen.keyed_from}")
        beyond = [c for c in self._checkpoints if c.seq > last]
        if beyond:
            seen = max(beyond, key=lambda c: c.seq)
            gone = ("the whole chain is gone" if head is None and not last
                    else "rows deleted from the end (truncated)")
            self._fault(last + 1, f"the chain ends at row {last} but the signed "
                        f"checkpoint of {seen.at} (line {seen.line}) saw row {seen.seq}: "
                        f"{gone}")
        if head is None and last:
            self._fault(last, "the chain head row is missing")
        if head is not None and (head.seq != last or head.hash != self._prev):
            self._fault(head.seq, f"the chain head names row {head.seq} but the chain "
                        f"ends at row {last}" if head.seq != last else
                        "the chain head does not match the last row")


async def check_chain(session: AsyncSession, seal: AuditSeal, *,
                      checkpoints: Sequence[Checkpoint] = (), batch: int = 5000) -> ChainReport:
    """Recompute every MAC of every chain in order; report deleted, edited, reordered and
    moved rows, heads that disagree, and rows or chains the checkpoints saw that are
    gone or changed."""
    report = ChainReport(checkpoints=len({c.line for c in checkpoints}))
    heads = {h.chain: h for h in (await session.execute(select(AuditHead))).scalars()}
    by_chain: dict[str, list[Checkpoint]] = {}
    for point in sorted(checkpoints, key=lambda c: c.seq):
        by_chain.setdefault(point.chain, []).append(point)

    # every writer's chain starts from the last MAC of the chain "" (mss.store.audit):
    # walked first ("" sorts first), so that a rewrite of that chain breaks them all
    start = GENESIS

    def walk_of(chain: str) -> _ChainWalk:
        head = heads.get(chain)
        return _ChainWalk(chain, seal, head.keyed_from if head is not None else 1,
                          GENESIS if chain == SINGLE_CHAIN else start,
                          by_chain.get(chain, ()), report.faults)

    def close(walk: _ChainWalk) -> None:
        nonlocal start
        walk.finish(heads.get(walk.chain))
        report.chains[walk.chain] = walk.summary
        report.rows += walk.summary.rows
        if walk.chain == SINGLE_CHAIN:
            start = walk.last_hash

    walk: _ChainWalk | None = None
    async for row in _rows_in_order(session, batch):
        if walk is None or row.chain != walk.chain:
            if walk is not None:
                close(walk)
            walk = walk_of(row.chain)
        walk.feed(row)
    if walk is not None:
        close(walk)
    for chain in sorted((heads.keys() | by_chain.keys()) - report.chains.keys()):
        close(walk_of(chain))  # a head or checkpoint naming a chain without rows
    report.faults.sort(key=lambda f: (f.chain, f.seq))
    return report


async def verify_chain(session: AsyncSession, seal: AuditSeal, *,
                       checkpoints: Sequence[Checkpoint] = (),
                       batch: int = 5000) -> list[ChainFault]:
    """The faults of `check_chain`, first bad row first."""
    return (await check_chain(session, seal, checkpoints=checkpoints, batch=batch)).faults


async def _rows_in_order(session: AsyncSession, batch: int) -> AsyncIterator[AuditEvent]:
    """Every row by (chain, seq), a page at a time (the unique index serves it)."""
    after: tuple[str, int] = ("", 0)
    key = tuple_(AuditEvent.chain, AuditEvent.seq)
    while True:
        rows: Sequence[AuditEvent] = (
            await session.execute(
                select(AuditEvent).where(key > after)
                .order_by(AuditEvent.chain, AuditEvent.seq).limit(batch)
            )
        ).scalars().all()
        if not rows:
            return
        for row in rows:
            yield row
        after = (rows[-1].chain, rows[-1].seq)
