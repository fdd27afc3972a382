"""Import of the national directory extract: streamed, batched, idempotent.

Invariants:
- constant memory: the file is read line by line, rows go to the database by batches
  of BATCH_SIZE, one transaction per batch;
- idempotent: each run stamps the rows it sees with its generation (the id of its
  `directory_imports` row); a row whose digest is unchanged is only re-stamped, a
  changed one is updated, a new one inserted; at the end, rows of older generations
  (gone from the file) are removed. A run that stops half-way leaves the old rows in
  place, and the next complete run settles everything;
- an address repeated in the file keeps its first line (the address is the key);
- refused lines are reported by line number with the reason; the rest is imported.
SQL stays here (DESIGN §2: the directory owns these tables).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.directory.identifiers import BulkAddressChecker
from mss.directory.national_extract import check_header, parse_line
from mss.directory.tables import DirectoryEntryRow, DirectoryImport
from mss.identity import SYSTEM, Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

BATCH_SIZE = 2000
ANALYZE_EVERY = 50  # batches; PostgreSQL plans the IN lookups from fresh statistics
MAX_REJECT_DETAILS = 1000
ENTRIES = DirectoryEntryRow.__table__
_VALUE_COLUMNS = tuple(
    c.name for c in ENTRIES.columns if c.name not in ("id", "address", "generation")
)
_UPDATE_CHANGED = (
    update(ENTRIES)
    .where(ENTRIES.c.address == bindparam("b_address"))
    .values({name: bindparam(f"b_{name}") for name in (*_VALUE_COLUMNS, "generation")})
)


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects: list[RejectedLine] = field(default_factory=list)  # first MAX_REJECT_DETAILS
    generation: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REJECT_DETAILS:
            self.rejects.append(RejectedLine(line, reason))

    def summary(self) -> str:
        return (f"read {self.rows_read}, created {self.created}, updated {self.updated}, "
                f"unchanged {self.unchanged}, removed {self.removed}, "
                f"duplicates {self.duplicates}, rejected {self.rejected}")


async def _write_batch(
    conn: AsyncConnection, batch: dict[str, dict[str, Any]], generation: int,
    report: ImportReport,
) -> None:
    known_query = select(ENTRIES.c.address, ENTRIES.c.row_hash, ENTRIES.c.generation).where(
        ENTRIES.c.address.in_(list(batch))
    )
    known = {row[0]: (row[1], row[2]) for row in await conn.execute(known_query)}
    created: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    same: list[str] = []
    for address, values in batch.items():
        previous = known.get(address)
        if previous is None:
            created.append({**values, "generation": generation})
        elif previous[1] == generation:  # seen earlier in this very file
            report.duplicates += 1
        elif previous[0] == values["row_hash"]:
            same.append(address)
        else:
            changed.append({f"b_{k}": v for k, v in values.items()} | {
                "b_generation": generation})
    if created:
        await conn.execute(insert(ENTRIES), created)
    if changed:
        await conn.execute(_UPDATE_CHANGED, changed)
    if same:
        await conn.execute(
            update(ENTRIES).where(ENTRIES.c.address.in_(same)).values(generation=generation)
        )
    report.created += len(created)
    report.updated += len(changed)
    report.unchanged += len(same)


class _BatchReader:
    """Parses the file batch by batch; runs in a worker thread so that parsing the next
    batch overlaps the database writing the previous one. Only this reader touches the
    parse-side counters of the report (rows_read, rejects, in-batch duplicates)."""

    def __init__(self, lines: Iterator[str], report: ImportReport) -> None:
        self._numbered = enumerate(lines, start=2)
        self._report = report
        self._addresses = BulkAddressChecker()
        self.duplicates = 0

    def read(self) -> dict[str, dict[str, Any]]:
        batch: dict[str, dict[str, Any]] = {}
        for number, line in self._numbered:
            if not line.strip():
                continue
            self._report.rows_read += 1
            parsed = parse_line(line, self._addresses)
            if isinstance(parsed, str):
                self._report.reject(number, parsed)
            elif parsed["address"] in batch:
                self.duplicates += 1
            else:
                batch[parsed["address"]] = parsed
                if len(batch) >= BATCH_SIZE:
                    break
        return batch


async def _refresh_statistics(store: Store) -> None:
    """PostgreSQL: without fresh statistics a table that grew from empty is planned as
    tiny, and each batch's IN lookup becomes a sequential scan (quadratic import)."""
    engine = store.write_engine
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f"ANALYZE {ENTRIES.name}")


async def import_extract(
    store: Store, path: Path | str, *, principal: Principal = SYSTEM
) -> ImportReport:
    """Bring the directory copy in line with the extract at `path`."""
    path = Path(path)
    engine = store.write_engine
    report = ImportReport()
    with path.open(encoding="utf-8", newline="") as lines:
        check_header(next(lines, ""))
        async with engine.begin() as conn:
            result = await conn.execute(
                insert(DirectoryImport.__table__).values(
                    source=str(path)[:500], started_at=store.clock.now()
                ).returning(DirectoryImport.__table__.c.id)
            )
            report.generation = generation = int(result.scalar_one())
        await _refresh_statistics(store)
        reader = _BatchReader(lines, report)
        batch = await asyncio.to_thread(reader.read)
        number = 0
        while batch:
            following = asyncio.ensure_future(asyncio.to_thread(reader.read))
            try:
                async with engine.begin() as conn:
                    await _write_batch(conn, batch, generation, report)
            finally:
                batch = await following
            number += 1
            if number % ANALYZE_EVERY == 0:
                await _refresh_statistics(store)
        report.duplicates += reader.duplicates
    async with engine.begin() as conn:
        removed = await conn.execute(
            delete(ENTRIES).where(ENTRIES.c.generation != generation)
        )
        report.removed = int(removed.rowcount or 0)
        await conn.execute(
            update(DirectoryImport.__table__)
            .where(DirectoryImport.__table__.c.id == generation)
            .values(finished_at=store.clock.now(), rows_read=report.rows_read,
                    created=report.created, updated=report.updated,
                    unchanged=report.unchanged, removed=report.removed,
                    rejected=report.rejected)
        )

    await _refresh_statistics(store)

    async def audit(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.DIRECTORY_IMPORTED, principal, target=path.name,
                  detail=report.summary())

    await store.write(audit)
    return report
