"""The access matrix: which professions see which documents (MSS default, configurable).

In the style of the DMP's "matrice d'habilitations": each profession code of the national
directory (optionally refined by a specialty code) lists the documents it may read while
the patient is in its care, and the smaller set break-glass opens. The default ships as
`access_matrix.toml` beside this module (its header documents the format, and
docs/vault.md §3 the choices); `vault.access_matrix` names a file that replaces it.
Parsing and decisions are pure; `load_access_matrix` alone reads a file (once per path).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from mss.vault.spaces import PatientSpace

EVERYTHING = "*"


class AccessMatrixError(Exception):
    """The matrix file is not usable; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What the matrix looks at in a document."""

    space: PatientSpace
    type_code: str | None
    class_code: str | None


@dataclass(frozen=True, slots=True)
class Grant:
    """A set of documents: spaces, type codes, class codes, or everything."""

    everything: bool = False
    spaces: frozenset[PatientSpace] = frozenset()
    type_codes: frozenset[str] = frozenset()
    class_codes: frozenset[str] = frozenset()

    def covers(self, document: DocumentFacts) -> bool:
        return (self.everything or document.space in self.spaces
                or (document.type_code or "").strip() in self.type_codes
                or (document.class_code or "").strip() in self.class_codes)

    def describe(self) -> list[str]:
        """The items, as the matrix file writes them (for pages and docs)."""
        if self.everything:
            return [EVERYTHING]
        return ([s.value for s in PatientSpace if s in self.spaces]
                + [f"type:{c}" for c in sorted(self.type_codes)]
                + [f"class:{c}" for c in sorted(self.class_codes)])


PROFILE_SECTIONS = frozenset({"allergies", "history", "treatments", "vaccinations", "measures",
                              "blood_group", "persons_to_warn", "advance_directives"})
"""Sections of the medical profile (mss.profile.sections.Section) a row may name."""


@dataclass(frozen=True, slots=True)
class ProfessionRow:
    key: str
    label: str
    read: Grant
    emergency: Grant
    profile: frozenset[str] = frozenset()
    """Sections of the medical profile this profession adds items to, in care."""


@dataclass(frozen=True, slots=True)
class AccessMatrix:
    rows: dict[str, ProfessionRow]

    def row_for(self, profession: str, specialty: str = "") -> ProfessionRow | None:
        """The specialty's row when there is one, else the profession's."""
        profession, specialty = profession.strip(), specialty.strip()
        if specialty and (row := self.rows.get(f"{profession}:{specialty}")):
            return row
        return self.rows.get(profession)

    def allows(self, profession: str, specialty: str, document: DocumentFacts, *,
               emergency: bool) -> bool:
        row = self.row_for(profession, specialty)
        if row is None:
            return False
        return (row.emergency if emergency else row.read).covers(document)


def _grant(items: object, where: str) -> Grant:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise AccessMatrixError(f"{where}: expected a list of strings")
    spaces: set[PatientSpace] = set()
    types: set[str] = set()
    classes: set[str] = set()
    everything = False
    for item in (i.strip() for i in items):
        if item == EVERYTHING:
            everything = True
        elif item.startswith("type:") and item[5:].strip():
            types.add(item[5:].strip())
        elif item.startswith("class:") and item[6:].strip():
            classes.add(item[6:].strip())
        else:
            try:
                spaces.add(PatientSpace(item))
            except ValueError:
                raise AccessMatrixError(
                    f"{where}: {item!r} is not a space, type:<code>, class:<code> or *"
                ) from None
    return Grant(everything, frozenset(spaces), frozenset(types), frozenset(classes))


def parse_access_matrix(text: str, source: str = "access matrix") -> AccessMatrix:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AccessMatrixError(f"{source}: not TOML ({exc})") from None
    professions = data.get("professions")
    if not isinstance(professions, dict):
        raise AccessMatrixError(f"{source}: no [professions] table")
    rows: dict[str, ProfessionRow] = {}
    for key, value in professions.items():
        where = f"{source}: professions.{key}"
        if not isinstance(value, dict):
            raise AccessMatrixError(f"{where}: expected a table")
        unknown = set(value) - {"label", "read", "emergency", "profile"}
        if unknown:
            raise AccessMatrixError(f"{where}: unknown key {sorted(unknown)[0]}")
        read = _grant(value.get("read", []), f"{where}.read")
        emergency = _grant(value.get("emergency", []), f"{where}.emergency")
        sections = value.get("profile", [])
        if not isinstance(sections, list) or not all(
                isinstance(i, str) and i in PROFILE_SECTIONS for i in sections):
            raise AccessMatrixError(f"{where}.profile: expected sections among "
                                    f"{', '.join(sorted(PROFILE_SECTIONS))}")
        rows[key.strip()] = ProfessionRow(key.strip(), str(value.get("label", key)), read,
                                          emergency, frozenset(sections))
    return AccessMatrix(rows)


@lru_cache(maxsize=8)
def _load(path: str) -> AccessMatrix:
    if not path:
        text = resources.files("mss.vault").joinpath("access_matrix.toml").read_text("utf-8")
        return parse_access_matrix(text, "default access matrix")
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessMatrixError(f"vault.access_matrix: cannot read {path}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
    return parse_access_matrix(text, path)


def load_access_matrix(path: str | Path = "") -> AccessMatrix:
    """The matrix at `path`, or the packaged default when `path` is empty."""
    return _load(str(path))
