"""What extraction hands to the store: documents to deposit and problems found (docs/architecture.md
§6).

A PDF copy travelling beside an XDM archive is kept as its own document whose `copy_of`
holds the SHA-256 of the XDM document it renders: the store shows it as a rendition of
that document, never as a second entry of the patient's list (MSS choice).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from mss.vault.classification import Classification
from mss.vault.confidentiality_codes import INVISIBLE_PATIENT, MASQUE_PS, has_code
from mss.vault.errors import ProcessingErrorCode
from mss.vault.spaces import PatientSpace


class DocumentOrigin(enum.StrEnum):
    XDM = "xdm"  # a document entry of an IHE_XDM.zip
    ATTACHMENT = "attachment"  # a plain PDF or image of the message
    CDA = "cda"  # a CDA R2 document attached outside any XDM archive


@dataclass(frozen=True, slots=True)
class VaultDocument:
    file_name: str
    content_type: str
    content: bytes = field(repr=False)
    sha256: str
    classification: Classification
    title: str
    origin: DocumentOrigin
    type_code: str | None = None
    class_code: str | None = None
    confidentiality_codes: tuple[str, ...] = ()
    author: str | None = None
    created_at: datetime | None = None
    patient_id: str | None = None
    """The INS the document names (XDM patientId or CDA recordTarget), None for plain files."""
    archive_path: str | None = None
    """Path inside the XDM archive, for XDM documents."""
    unique_id: str | None = None
    """XDSDocumentEntry.uniqueId, for XDM documents."""
    copy_of: str | None = None
    """SHA-256 of the XDM document this PDF is the copy of (see module docstring)."""

    @property
    def space(self) -> PatientSpace:
        return self.classification.space

    @property
    def reason(self) -> str:
        """Why this space, e.g. `metadata typeCode 11502-2` or `subject keyword radio`."""
        return self.classification.describe()

    @property
    def hidden_from_professionals(self) -> bool:
        """MASQUE_PS: professionals do not see it, the patient does (docs/architecture.md §6)."""
        return has_code(self.confidentiality_codes, MASQUE_PS)

    @property
    def invisible_to_patient(self) -> bool:
        return has_code(self.confidentiality_codes, INVISIBLE_PATIENT)


class ProblemKind(enum.StrEnum):
    UNREADABLE_ARCHIVE = "unreadable archive"
    MISSING_METADATA = "missing metadata"
    MISSING_FILE = "missing file"
    INTEGRITY = "size or SHA-1 mismatch"
    INS_MISSING = "INS missing"
    INS_INCOMPLETE = "INS incomplete"
    INS_MISMATCH = "INS mismatch"
    INVISIBLE_PATIENT = "invisible to the patient"
    NESTED_ARCHIVE = "nested archive"
    UNSAFE_DOCUMENT = "unsafe document"
    UNSUPPORTED_TYPE = "not a document type"
    TOO_MANY_ATTACHMENTS = "too many attachments"


_ACK_CODES: dict[ProblemKind, ProcessingErrorCode] = {
    ProblemKind.INS_MISSING: ProcessingErrorCode.INS_MISSING,
    ProblemKind.INS_INCOMPLETE: ProcessingErrorCode.INS_INCOMPLETE,
    ProblemKind.INS_MISMATCH: ProcessingErrorCode.INS_MISMATCH,
}
"""Every other problem is 906: the sender is told of every attachment not filed."""

_ACK_PRIORITY = (
    ProcessingErrorCode.INS_MISMATCH,
    ProcessingErrorCode.INS_INCOMPLETE,
    ProcessingErrorCode.INS_MISSING,
    ProcessingErrorCode.OTHER,
)
"""The code reported when several documents fail: the wrong patient first (MSS choice)."""


@dataclass(frozen=True, slots=True)
class DocumentProblem:
    """A document or attachment that is not deposited, and why (safe to log: no content)."""

    file_name: str
    kind: ProblemKind
    reason: str

    @property
    def processing_error(self) -> ProcessingErrorCode:
        """The acknowledgement code of this refusal."""
        return _ACK_CODES.get(self.kind, ProcessingErrorCode.OTHER)


@dataclass(frozen=True, slots=True)
class DepositPlan:
    documents: tuple[VaultDocument, ...] = ()
    problems: tuple[DocumentProblem, ...] = ()

    @property
    def listed_documents(self) -> tuple[VaultDocument, ...]:
        """Documents the patient's list shows: PDF copies are folded into their original."""
        return tuple(d for d in self.documents if d.copy_of is None)

    @property
    def processing_error(self) -> ProcessingErrorCode | None:
        """The error of the processing acknowledgement (MDN), None when all went well."""
        codes = {p.processing_error for p in self.problems}
        return next((code for code in _ACK_PRIORITY if code in codes), None)
