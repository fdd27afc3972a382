"""Lines of the national directory extract ("Extraction Correspondance MSSanté").

UTF-8, `|`-separated, one header line, 31 columns (docs/architecture.md §9: national directory).
Pure functions: a line becomes the values of one directory row, or the reason it is
refused (wrong column count, bad RPPS/ADELI, bad address, unknown mailbox type).
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from mss.directory.identifiers import (
    BulkAddressChecker,
    InvalidIdentifier,
    is_valid_adeli,
    is_valid_rpps,
)

COLUMNS = (
    "Type de BAL", "Adresse BAL", "Type Identifiant PP", "Identifiant PP",
    "Identification nationale PP", "Type identifiant structure", "Identification Structure",
    "Service de rattachement", "Civilité d'exercice", "Nom d'exercice", "Prénom d'exercice",
    "Catégorie profession", "Libellé de catégorie profession", "Code Profession",
    "Libellé Profession", "Code savoir-faire", "Libellé savoir-faire", "Dématérialisation",
    "Raison Sociale structure BAL", "Enseigne commerciale structure BAL",
    "L2COMPLEMENTLOCALISATION structure BAL", "L3COMPLEMENTDISTRIBUTION structure BAL",
    "L4NUMEROVOIE structure BAL", "L4COMPLEMENTNUMEROVOIE structure BAL",
    "NL4TYPEVOIE structure BAL", "L4LIBELLEVOIE structure BAL",
    "L5LIEUDITMENTION structure BAL", "L6LIGNEACHEMINEMENT structure BAL",
    "Code postal structure BAL", "Département structure BAL", "Pays structure BAL",
)
COLUMN_COUNT = len(COLUMNS)  # 31
HEADER = "|".join(COLUMNS)
# Mailbox types of the directory: PER and ORG in the extract; APP and CAB exist too.
KNOWN_KINDS = frozenset({"PER", "ORG", "APP", "CAB"})
# "Type Identifiant PP": 8 = RPPS, 0 = ADELI (Annuaire Santé codes), or the names.
RPPS_TYPES = frozenset({"8", "RPPS"})
ADELI_TYPES = frozenset({"0", "ADELI"})


class ExtractHeaderError(ValueError):
    """The file does not start with the 31-column header of the extract."""


def check_header(line: str) -> None:
    fields = line.lstrip("\ufeff").rstrip("\r\n").split("|")
    if len(fields) != COLUMN_COUNT or fields[0].strip() != COLUMNS[0]:
        raise ExtractHeaderError(
            f"not a national directory extract: header has {len(fields)} columns "
            f"starting {fields[0][:40]!r}, expected {COLUMN_COUNT} starting {COLUMNS[0]!r}"
        )


def name_key(text: str) -> str:
    """Accent- and case-insensitive search key: `Élodie  d'Orléans` → `elodie d orleans`."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        kept.append(char.lower() if char.isalnum() else " ")
    return " ".join("".join(kept).split())


def _identifier(id_type: str, ident: str) -> tuple[str, str | None]:
    """(normalised type, error or None) for the professional identifier columns."""
    if not ident:
        return "", None
    if id_type in RPPS_TYPES:
        return ("RPPS", None) if is_valid_rpps(ident) else ("RPPS", f"bad RPPS {ident!r}")
    if id_type in ADELI_TYPES:
        return ("ADELI", None) if is_valid_adeli(ident) else ("ADELI", f"bad ADELI {ident!r}")
    if is_valid_rpps(ident):  # unknown type code but a valid RPPS: keep it
        return "RPPS", None
    return "", f"unknown identifier type {id_type!r} for {ident!r}"


# The values of a parsed line, in the order `parse_row` gives them (`row_hash` last).
ROW_FIELDS = (
    "address", "kind", "id_type", "ident", "national_id", "structure_id_type",
    "structure_id", "service", "civility", "last_name", "first_name", "profession_code",
    "profession_label", "specialty_code", "specialty_label", "structure_name", "trade_name",
    "city", "postcode", "department", "name_key", "row_hash",
)
# row_hash digests the values in the alphabetical order of their names (the digests
# stored by earlier imports stay valid): positions in a `parse_row` tuple, in that order.
_HASH_ORDER = tuple(sorted(range(len(ROW_FIELDS) - 1), key=ROW_FIELDS.__getitem__))
_blake2b = hashlib.blake2b


def parse_row(line: str, addresses: BulkAddressChecker) -> tuple[str, ...] | str:
    """The row values of one data line as a tuple in ROW_FIELDS order, or the reason it
    is refused. One tuple per line and no dictionary: the import's hot path."""
    fields = line.rstrip("\r\n").split("|")
    if len(fields) != COLUMN_COUNT:
        return f"wrong column count: {len(fields)} instead of {COLUMN_COUNT}"
    fields = [f.strip() for f in fields]
    kind = fields[0].upper()
    if kind not in KNOWN_KINDS:
        return f"unknown mailbox type {fields[0]!r}"
    try:
        address = addresses.check(fields[1])
    except InvalidIdentifier:
        return f"bad address {fields[1]!r}"
    id_type, problem = _identifier(fields[2].upper(), fields[3])
    if problem is not None:
        return problem
    last, first = fields[9], fields[10]
    key_source = f"{last} {first}" if last else (fields[7] or fields[19] or fields[18])
    row = (
        address, kind, id_type, fields[3], fields[4], fields[5], fields[6], fields[7],
        fields[8], last, first, fields[13], fields[14], fields[15], fields[16], fields[18],
        fields[19], fields[27], fields[28], fields[29], name_key(key_source),
    )
    text = "\x1f".join([row[i] for i in _HASH_ORDER])
    return (*row, _blake2b(text.encode(), digest_size=16).hexdigest())


def parse_line(line: str, addresses: BulkAddressChecker | None = None) -> dict[str, Any] | str:
    """The row values of one data line (by ROW_FIELDS name), or the reason it is refused."""
    row = parse_row(line, addresses or BulkAddressChecker())
    return row if isinstance(row, str) else dict(zip(ROW_FIELDS, row, strict=True))


def row_hash(values: dict[str, Any]) -> str:
    """A digest of what the extract says of a mailbox: equal digests, nothing to update."""
    text = "\x1f".join(str(values[k]) for k in sorted(values) if k != "row_hash")
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
