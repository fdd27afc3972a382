"""Import of the national directory extract: streamed, all or nothing, idempotent.

Invariants:
- all or nothing: the lines go by batches of BATCH_SIZE into a temporary staging table
  (short transactions, so a running server keeps writing meanwhile); then ONE
  transaction brings the directory in line with it (rows gone from the file removed,
  changed ones updated, new ones inserted). A failure before that transaction (bad
  header, I/O error, database error, Ctrl-C) changes nothing;
- constant memory apart from the set of addresses seen (duplicates);
- idempotent: a row whose digest is unchanged is left as it is; the `generation`
  column names the import that last wrote a row (its `directory_imports` id);
- the real extract's encoding: UTF-8 when the whole file decodes as UTF-8, otherwise
  Windows-1252 (Latin-1 for the five bytes cp1252 leaves undefined); the report says
  which, and the first line that is not UTF-8;
- an address repeated in the file keeps its first line (the address is the key);
- refused lines are counted by reason with their first line numbers (`refusal_summary`);
  the rest is imported.
SQL stays here (the directory owns these tables, docs/design-notes.md).
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, delete, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.directory.identifiers import BulkAddressChecker
from mss.directory.national_extract import ROW_FIELDS, check_header, parse_row
from mss.directory.tables import DirectoryEntryRow, DirectoryImport
from mss.identity import SYSTEM, Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

BATCH_SIZE = 2000
MAX_REJECT_DETAILS = 1000
ENTRIES = DirectoryEntryRow.__table__
_VALUE_COLUMNS = tuple(
    c.name for c in ENTRIES.columns if c.name not in ("id", "address", "generation")
)
_STAGED_COLUMNS = ROW_FIELDS  # the staging table's columns, in parse_row's order
assert set(_STAGED_COLUMNS) == {"address", *_VALUE_COLUMNS}, "ROW_FIELDS != the table"
_LATIN1_FALLBACK = "mss-cp1252-latin1"


def _undefined_cp1252_as_latin1(error: UnicodeError) -> tuple[str, int]:
    """cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; read them as Latin-1."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error(_LATIN1_FALLBACK, _undefined_cp1252_as_latin1)


def detect_encoding(path: Path, chunk_size: int = 1 << 20) -> tuple[str, int | None]:
    """("utf-8", None) when the whole file is UTF-8, else ("cp1252", first line that is
    not). Streamed: one pass in binary, constant memory."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines = 0
    with path.open("rb") as source:
        while chunk := source.read(chunk_size):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return "cp1252", newlines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
            newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252", newlines + 1
    return "utf-8", None


def reason_kind(reason: str) -> str:
    """The kind of a refusal, without the offending value: `bad RPPS '1'` → `bad RPPS`."""
    return reason.split(":", 1)[0].split(" '", 1)[0].strip()


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
    encoding: str = "utf-8"
    first_non_utf8_line: int | None = None
    # reason kind -> (count, first line numbers, up to 3), over every refused line
    refusals_by_kind: dict[str, tuple[int, list[int]]] = field(default_factory=dict)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REJECT_DETAILS:
            self.rejects.append(RejectedLine(line, reason))
        count, lines = self.refusals_by_kind.get(reason_kind(reason), (0, []))
        self.refusals_by_kind[reason_kind(reason)] = (
            count + 1, lines if len(lines) >= 3 else [*lines, line])

    def summary(self) -> str:
        return (f"read {self.rows_read}, created {self.created}, updated {self.updated}, "
                f"unchanged {self.unchanged}, removed {self.removed}, "
                f"duplicates {self.duplicates}, rejected {self.rejected}")

    def refusal_summary(self) -> list[str]:
        """One line per kind of refusal (count, first lines), the first refusal in full."""
        if not self.rejects:
            return []
        first = self.rejects[0]
        lines = [f"first refused line {first.line}: {first.reason}"]
        for kind, (count, numbers) in sorted(self.refusals_by_kind.items(),
                                             key=lambda item: -item[1][0]):
            more = ", ..." if count > len(numbers) else ""
            lines.append(f"refused {count} line(s): {kind} "
                         f"(line {', '.join(map(str, numbers))}{more})")
        return lines

    def encoding_note(self) -> str:
        if self.first_non_utf8_line is None:
            return "encoding: UTF-8"
        return (f"encoding: Windows-1252 (not UTF-8 from line {self.first_non_utf8_line})")


class _BatchReader:
    """Parses the file batch by batch; runs in a worker thread so that parsing the next
    batch overlaps the database writing the previous one. Only this reader touches the
    parse-side counters of the report (rows_read, rejects, duplicates)."""

    def __init__(self, lines: Iterator[str], report: ImportReport) -> None:
        self._numbered = enumerate(lines, start=2)
        self._report = report
        self._addresses = BulkAddressChecker()
        self._seen: set[str] = set()

    def read(self) -> list[tuple[str, ...]]:
        """The next BATCH_SIZE good rows (tuples in _STAGED_COLUMNS order); [] at the end."""
        batch: list[tuple[str, ...]] = []
        report, seen, addresses = self._report, self._seen, self._addresses
        read = 0
        try:
            for number, line in self._numbered:
                if not line.strip():
                    continue
                read += 1
                parsed = parse_row(line, addresses)
                if isinstance(parsed, str):
                    report.reject(number, parsed)
                elif parsed[0] in seen:
                    report.duplicates += 1
                else:
                    seen.add(parsed[0])
                    batch.append(parsed)
                    if len(batch) >= BATCH_SIZE:
                        break
        finally:
            report.rows_read += read
        return batch


def _staging_table() -> Table:
    """A temporary table shaped like the directory's value columns (one per connection:
    it vanishes with the connection, whatever happens)."""
    columns = [Column(ENTRIES.c[name].name, ENTRIES.c[name].type) for name in _STAGED_COLUMNS]
    return Table("directory_staging", MetaData(), *columns, prefixes=["TEMPORARY"])


async def _analyze(conn: AsyncConnection, table: str) -> None:
    """PostgreSQL plans the joins of the swap from fresh statistics (temporary tables are
    never analysed by autovacuum; a table that grew from empty looks tiny)."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(f"ANALYZE {table}")


async def _refresh_statistics(store: Store) -> None:
    """PostgreSQL: the directory's statistics after it changed (planned searches)."""
    if store.write_engine.dialect.name != "postgresql":
        return
    async with store.write_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f"ANALYZE {ENTRIES.name}")


async def _swap(conn: AsyncConnection, staged: Table, generation: int,
                report: ImportReport) -> None:
    """In the caller's transaction: the directory becomes what was staged."""
    same_address = select(staged.c.address).where(staged.c.address == ENTRIES.c.address)
    removed = await conn.execute(delete(ENTRIES).where(~same_address.exists()))
    changed = await conn.execute(
        update(ENTRIES)
        .where(ENTRIES.c.address == staged.c.address, ENTRIES.c.row_hash != staged.c.row_hash)
        .values({name: staged.c[name] for name in _VALUE_COLUMNS} | {"generation": generation})
    )
    known = select(ENTRIES.c.address).where(ENTRIES.c.address == staged.c.address)
    created = await conn.execute(
        insert(ENTRIES).from_select(
            [*_STAGED_COLUMNS, "generation"],
            select(*(staged.c[name] for name in _STAGED_COLUMNS), literal(generation))
            .where(~known.exists()),
        )
    )
    report.removed = int(removed.rowcount or 0)
    report.updated = int(changed.rowcount or 0)
    report.created = int(created.rowcount or 0)


def _staging_insert(conn: AsyncConnection, staged: Table) -> str:
    """The INSERT of one staged row in the driver's own placeholders: the batches go as
    plain tuples to the DBAPI's executemany, without SQLAlchemy building and processing
    a parameter dictionary per row (all the values are strings: nothing to convert)."""
    if conn.dialect.paramstyle == "qmark":
        marks = ", ".join("?" for _ in _STAGED_COLUMNS)
    elif conn.dialect.paramstyle == "numeric_dollar":
        marks = ", ".join(f"${n}" for n in range(1, len(_STAGED_COLUMNS) + 1))
    else:
        raise NotImplementedError(f"paramstyle {conn.dialect.paramstyle}")
    return f"INSERT INTO {staged.name} ({', '.join(_STAGED_COLUMNS)}) VALUES ({marks})"


async def _stage(conn: AsyncConnection, staged: Table, lines: Iterator[str],
                 report: ImportReport) -> int:
    """Every good line into the staging table; returns how many."""
    reader = _BatchReader(lines, report)
    sql = _staging_insert(conn, staged)
    count = 0
    batch = await asyncio.to_thread(reader.read)
    while batch:
        following = asyncio.ensure_future(asyncio.to_thread(reader.read))
        try:
            async with conn.begin():
                await conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
            count += len(batch)
        finally:
            batch = await following
    return count


async def import_extract(
    store: Store, path: Path | str, *, principal: Principal = SYSTEM
) -> ImportReport:
    """Bring the directory copy in line with the extract at `path`, entirely or not at all."""
    path = Path(path)
    report = ImportReport()
    encoding, report.first_non_utf8_line = await asyncio.to_thread(detect_encoding, path)
    report.encoding = encoding
    imports = DirectoryImport.__table__
    with path.open(encoding=encoding, errors="strict" if encoding == "utf-8"
                   else _LATIN1_FALLBACK, newline="") as lines:
        check_header(next(lines, ""))
        async with store.write_engine.connect() as conn:
            staged = _staging_table()
            async with conn.begin():
                await conn.run_sync(staged.create)
            try:
                count = await _stage(conn, staged, lines, report)
                async with conn.begin():
                    await conn.exec_driver_sql(
                        "CREATE INDEX directory_staging_address ON directory_staging (address)")
                    await _analyze(conn, "directory_staging")
                    result = await conn.execute(
                        insert(imports).values(source=str(path)[:500],
                                               started_at=store.clock.now())
                        .returning(imports.c.id))
                    report.generation = generation = int(result.scalar_one())
                    await _swap(conn, staged, generation, report)
                    report.unchanged = count - report.created - report.updated
                    await conn.execute(
                        update(imports).where(imports.c.id == generation)
                        .values(finished_at=store.clock.now(), rows_read=report.rows_read,
                                created=report.created, updated=report.updated,
                                unchanged=report.unchanged, removed=report.removed,
                                rejected=report.rejected))
            except BaseException:
                await conn.invalidate()  # the staging table goes with the connection
                raise
            async with conn.begin():
                await conn.run_sync(staged.drop)
    await _refresh_statistics(store)

    async def audit(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.DIRECTORY_IMPORTED, principal, target=path.name,
                  detail=f"{report.summary()}; {report.encoding_note()}")

    await store.write(audit)
    return report
