"""Which of the nine patient spaces a document belongs to, and why.

Order (docs/architecture.md §9, vault categories): the metadata typeCode, then the CDA `code` (a
type code carried by the document itself when the metadata is thin), then the metadata
classCode, then keywords of the file name and of the message subject, then the default
space. Biologie and Prévention exist only as type codes, so the type code comes first.

Class code 95 (document de gestion) has no space of its own: MSS files it under Comptes
rendus, the default space, rather than hiding it (MSS choice).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from mss.vault.spaces import DEFAULT_SPACE, PatientSpace

_S = PatientSpace

TYPE_CODE_SPACES: dict[str, PatientSpace] = {
    **dict.fromkeys(("60591-5", "SYNTH", "34133-9", "18761-7"), _S.SYNTHESES),
    **dict.fromkeys(
        ("11490-0", "34112-3", "34874-8", "11488-4", "15507-7", "15508-5", "34794-8"),
        _S.COMPTES_RENDUS,
    ),
    **dict.fromkeys(("11502-2", "60568-3"), _S.BIOLOGIE),
    **dict.fromkeys(("18748-4", "52040-3", "IMG-KOS"), _S.IMAGERIE_MEDICALE),
    **dict.fromkeys(
        ("57833-6", "57832-8", "57828-6", "60593-1", "18776-5", "80565-5"),
        _S.TRAITEMENTS_ET_SOINS,
    ),
    **dict.fromkeys(("87273-9", "11369-6", "75492-9", "75482-0"), _S.PREVENTION),
    **dict.fromkeys(("89601-9", "CERT_DECL", "96874-3"), _S.CERTIFICATS),
    "REMB": _S.DONNEES_DE_REMBOURSEMENT,
}
"""Type codes (LOINC and French CI-SIS codes) of the usual documents (docs/architecture.md §9
table)."""

TYPE_CODE_PREFIX_SPACES: tuple[tuple[str, PatientSpace], ...] = (
    ("PRESC-", _S.TRAITEMENTS_ET_SOINS),
    ("DOCPAT", _S.ESPACE_PERSONNEL),
    ("EXPPAT_", _S.ESPACE_PERSONNEL),
)

CLASS_CODE_SPACES: dict[str, PatientSpace] = {
    "10": _S.COMPTES_RENDUS,
    "11": _S.SYNTHESES,
    "31": _S.IMAGERIE_MEDICALE,
    "42": _S.TRAITEMENTS_ET_SOINS,
    "43": _S.TRAITEMENTS_ET_SOINS,
    "44": _S.TRAITEMENTS_ET_SOINS,
    "45": _S.TRAITEMENTS_ET_SOINS,
    "52": _S.CERTIFICATS,
    "60": _S.DONNEES_DE_REMBOURSEMENT,
    "90": _S.ESPACE_PERSONNEL,
    "95": _S.COMPTES_RENDUS,
}
"""Class codes of OID 1.2.250.1.213.1.1.4.1 (docs/architecture.md §9); 95 is an MSS choice."""


class KeywordMatch(enum.Enum):
    WHOLE_WORD = "whole word"
    WORD_PREFIX = "word prefix"


KEYWORD_SPACES: tuple[tuple[str, KeywordMatch, PatientSpace], ...] = (
    ("ordonnance", KeywordMatch.WORD_PREFIX, _S.TRAITEMENTS_ET_SOINS),
    ("biolog", KeywordMatch.WORD_PREFIX, _S.BIOLOGIE),
    ("analyse", KeywordMatch.WORD_PREFIX, _S.BIOLOGIE),
    ("imagerie", KeywordMatch.WORD_PREFIX, _S.IMAGERIE_MEDICALE),
    ("radio", KeywordMatch.WORD_PREFIX, _S.IMAGERIE_MEDICALE),
    ("irm", KeywordMatch.WHOLE_WORD, _S.IMAGERIE_MEDICALE),
    ("scanner", KeywordMatch.WORD_PREFIX, _S.IMAGERIE_MEDICALE),
    ("echograph", KeywordMatch.WORD_PREFIX, _S.IMAGERIE_MEDICALE),
    ("certificat", KeywordMatch.WORD_PREFIX, _S.CERTIFICATS),
    ("vaccin", KeywordMatch.WORD_PREFIX, _S.PREVENTION),
)
"""Keywords for documents without metadata, in priority order (MSS choice, docs/architecture.md §9).

Matched on words of accent- and case-folded text, so that `IRM` does not match inside
`infirmier` and `Échographie` matches `echograph`.
"""


class ClassificationBasis(enum.StrEnum):
    """Why a document went to its space: kept with the document for the patient and audit."""

    METADATA_TYPE_CODE = "metadata typeCode"
    CDA_CODE = "CDA code"
    METADATA_CLASS_CODE = "metadata classCode"
    FILE_NAME_KEYWORD = "file name keyword"
    SUBJECT_KEYWORD = "subject keyword"
    PDF_COPY = "copy of an XDM document"
    DEFAULT = "default space"


@dataclass(frozen=True, slots=True)
class Classification:
    space: PatientSpace
    basis: ClassificationBasis
    evidence: str
    """The code or keyword that decided, e.g. `11502-2` or `radio`."""

    def describe(self) -> str:
        return f"{self.basis.value} {self.evidence}".strip()


def space_for_type_code(type_code: str) -> PatientSpace | None:
    code = type_code.strip()
    if code in TYPE_CODE_SPACES:
        return TYPE_CODE_SPACES[code]
    upper = code.upper()
    for prefix, space in TYPE_CODE_PREFIX_SPACES:
        if upper.startswith(prefix):
            return space
    return None


def space_for_class_code(class_code: str) -> PatientSpace | None:
    return CLASS_CODE_SPACES.get(class_code.strip())


def fold_text(text: str) -> str:
    """Lower-case, accent-free text: `Échographie` → `echographie`."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_WORD = re.compile(r"[a-z0-9]+")


def find_keyword(text: str) -> tuple[str, PatientSpace] | None:
    """The first keyword (in priority order) found in `text`, with its space."""
    words = _WORD.findall(fold_text(text))
    for keyword, match, space in KEYWORD_SPACES:
        for word in words:
            if word == keyword or (
                match is KeywordMatch.WORD_PREFIX and word.startswith(keyword)
            ):
                return keyword, space
    return None


def classify(
    *,
    type_code: str | None = None,
    cda_code: str | None = None,
    class_code: str | None = None,
    file_name: str = "",
    subject: str = "",
) -> Classification:
    """Pick the space of one document by the rules of the module docstring."""
    if type_code and (space := space_for_type_code(type_code)):
        return Classification(space, ClassificationBasis.METADATA_TYPE_CODE, type_code)
    if cda_code and (space := space_for_type_code(cda_code)):
        return Classification(space, ClassificationBasis.CDA_CODE, cda_code)
    if class_code and (space := space_for_class_code(class_code)):
        return Classification(space, ClassificationBasis.METADATA_CLASS_CODE, class_code)
    if found := find_keyword(file_name):
        return Classification(found[1], ClassificationBasis.FILE_NAME_KEYWORD, found[0])
    if found := find_keyword(subject):
        return Classification(found[1], ClassificationBasis.SUBJECT_KEYWORD, found[0])
    return Classification(DEFAULT_SPACE, ClassificationBasis.DEFAULT, "")
