"""Search of the national directory copy (for the webmail's address book).

Criteria combine (AND): name prefix (accent- and case-insensitive, on the stored name
key), RPPS/ADELI, profession code, postcode prefix, department, mailbox kind. A name
prefix is a key range, so the index answers it on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from mss.directory.national_extract import name_key
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import DirectoryEntryRow

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class DirectoryQuery:
    name: str | None = None  # prefix of "last first" (PER) or of the service name (ORG)
    rpps: str | None = None  # RPPS or ADELI
    profession_code: str | None = None
    postcode: str | None = None  # prefix: "75" finds all of Paris
    department: str | None = None
    kind: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    address: str
    kind: str
    id_type: str
    ident: str
    civility: str
    last_name: str
    first_name: str
    profession_code: str
    profession_label: str
    specialty_code: str
    specialty_label: str
    service: str
    structure_name: str
    city: str
    postcode: str
    department: str

    @property
    def display_name(self) -> str:
        person = " ".join(p for p in (self.civility, self.first_name, self.last_name) if p)
        return person or self.service or self.structure_name or self.address


def _after(prefix: str) -> str:
    """The least string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def build_query(query: DirectoryQuery) -> Select[DirectoryEntryRow]:
    row = DirectoryEntryRow
    statement = select(row)
    if query.name:
        key = name_key(query.name)
        if key:
            statement = statement.where(row.name_key >= key, row.name_key < _after(key))
    if query.rpps:
        statement = statement.where(row.ident == query.rpps.strip())
    if query.profession_code:
        statement = statement.where(row.profession_code == query.profession_code.strip())
    if query.postcode:
        code = query.postcode.strip()
        statement = statement.where(row.postcode >= code, row.postcode < _after(code))
    if query.department:
        statement = statement.where(row.department == query.department.strip())
    if query.kind:
        statement = statement.where(row.kind == query.kind.strip().upper())
    limit = max(1, min(query.limit, MAX_LIMIT))
    return statement.order_by(row.name_key, row.address).limit(limit)


def _entry(r: DirectoryEntryRow) -> DirectoryEntry:
    return DirectoryEntry(
        r.address, r.kind, r.id_type, r.ident, r.civility, r.last_name, r.first_name,
        r.profession_code, r.profession_label, r.specialty_code, r.specialty_label,
        r.service, r.structure_name, r.city, r.postcode, r.department,
    )


async def search_directory(source: ReadSource, query: DirectoryQuery) -> list[DirectoryEntry]:
    async with reading_session(source) as session:
        return [_entry(r) for r in (await session.execute(build_query(query))).scalars()]


async def find_directory_entry(source: ReadSource, address: str) -> DirectoryEntry | None:
    async with reading_session(source) as session:
        statement = select(DirectoryEntryRow).where(
            DirectoryEntryRow.address == address.strip().lower()
        )
        row = (await session.execute(statement)).scalar_one_or_none()
        return _entry(row) if row is not None else None
