"""From an IHE_XDM.zip to documents of the recipient patient (IHE ITI-32, docs/architecture.md §6).

Per document entry, in this order: the file named by `URI` exists in the subset; its size
and SHA-1 equal the metadata (docs/architecture.md §9: a receiver rejects a mismatch); it is not
itself an archive; a PDF or image really is one (webmail serves it by that type); a CDA
is parsed safely; the INS of the metadata (and of the CDA recordTarget) is the
recipient's (903/904/905); it is not INVISIBLE_PATIENT. A rejected entry does not stop
the others. Entries are kept, rejected or not, so that a PDF copy
beside the archive can follow the fate of its original.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mss.vault.attachments import DOCUMENT_TYPES, sniff_content_type
from mss.vault.cda import CdaHeader, looks_like_xml, read_cda_header
from mss.vault.classification import classify
from mss.vault.confidentiality_codes import INVISIBLE_PATIENT, has_code
from mss.vault.documents import DocumentOrigin, DocumentProblem, ProblemKind, VaultDocument
from mss.vault.errors import VaultExtractionError
from mss.vault.hl7_time import parse_hl7_time
from mss.vault.limits import ExtractionLimits
from mss.vault.patient_id import InsCheck, PatientIdentifier, check_ins
from mss.vault.xdm_archive import XdmArchive, check_entry_name, read_xdm_archive
from mss.vault.xdm_metadata import XdmDocumentEntry, parse_xdm_metadata

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
_INS_PROBLEMS = {
    InsCheck.MISSING: (ProblemKind.INS_MISSING, "no INS in the document's patientId"),
    InsCheck.INCOMPLETE: (ProblemKind.INS_INCOMPLETE, "INS malformed or with a wrong key"),
    InsCheck.MISMATCH: (ProblemKind.INS_MISMATCH, "INS of another patient"),
}
_INS_SEVERITY = (InsCheck.MISMATCH, InsCheck.INCOMPLETE, InsCheck.MISSING, InsCheck.MATCHES)


@dataclass(frozen=True, slots=True)
class XdmEntryOutcome:
    """One entry of the metadata, or a CDA attached alone: deposited (document) or not
    (problem)."""

    file_name: str
    title: str
    document: VaultDocument | None
    problem: DocumentProblem | None
    content_sha256s: frozenset[str] = frozenset()
    """SHA-256 of the entry's bytes and of a CDA's embedded body: a PDF beside the
    archive with one of these is the same content (see mss.vault.pdf_copy)."""


@dataclass(frozen=True, slots=True)
class XdmOutcome:
    entries: tuple[XdmEntryOutcome, ...]
    archive_problem: DocumentProblem | None
    """Set when the archive as a whole could not be read: nothing in it is deposited."""


def deposit_xdm_archive(
    archive_bytes: bytes,
    archive_name: str,
    recipient_ins: str,
    subject: str,
    limits: ExtractionLimits,
) -> XdmOutcome:
    try:
        archive = read_xdm_archive(archive_bytes, limits)
        metadata_paths = archive.metadata_paths()
        if not metadata_paths:
            problem = DocumentProblem(
                archive_name, ProblemKind.MISSING_METADATA, "no IHE_XDM/<subset>/METADATA.XML"
            )
            return XdmOutcome((), problem)
        subsets = [
            (path.rsplit("/", 1)[0], parse_xdm_metadata(archive.files[path], limits))
            for path in metadata_paths
        ]
    except VaultExtractionError as exc:
        return XdmOutcome((), DocumentProblem(archive_name, ProblemKind.UNREADABLE_ARCHIVE,
                                              exc.reason))
    outcomes = [
        deposit_entry(entry, subset_dir, archive, recipient_ins, subject, limits)
        for subset_dir, entries in subsets
        for entry in entries
    ]
    return XdmOutcome(tuple(outcomes), None)


def deposit_entry(
    entry: XdmDocumentEntry,
    subset_dir: str,
    archive: XdmArchive,
    recipient_ins: str,
    subject: str,
    limits: ExtractionLimits,
) -> XdmEntryOutcome:
    uri = entry.uri or ""
    file_name = uri.rsplit("/", 1)[-1]
    title = entry.title or file_name

    hashes: set[str] = set()

    def rejected(kind: ProblemKind, reason: str) -> XdmEntryOutcome:
        shown = file_name or entry.entry_id or "METADATA.XML entry"
        return XdmEntryOutcome(file_name, title, None, DocumentProblem(shown, kind, reason),
                               frozenset(hashes))

    if not uri:
        return rejected(ProblemKind.MISSING_FILE, "metadata entry without URI")
    path = f"{subset_dir}/{uri}"
    try:
        check_entry_name(path)
    except VaultExtractionError as exc:
        return rejected(ProblemKind.UNSAFE_DOCUMENT, f"URI refused: {exc.reason}")
    content = archive.find(path)
    if content is None:
        return rejected(ProblemKind.MISSING_FILE, "file named by URI not in the archive")
    hashes.add(hashlib.sha256(content).hexdigest())
    if entry.size is None or entry.sha1 is None:
        return rejected(ProblemKind.INTEGRITY, "metadata lacks size or hash (ITI-32)")
    if len(content) != entry.size:
        return rejected(ProblemKind.INTEGRITY, "size differs from metadata")
    if hashlib.sha1(content, usedforsecurity=False).hexdigest() != entry.sha1:
        return rejected(ProblemKind.INTEGRITY, "SHA-1 differs from metadata")
    if content.startswith(_ZIP_MAGIC) or entry.mime_type in _ZIP_TYPES:
        return rejected(ProblemKind.NESTED_ARCHIVE, "archive inside the archive, not opened")
    if entry.mime_type in DOCUMENT_TYPES and sniff_content_type(content) != entry.mime_type:
        return rejected(ProblemKind.UNSAFE_DOCUMENT, "content is not the declared mimeType")
    cda: CdaHeader | None = None
    if "xml" in entry.mime_type or looks_like_xml(content):
        try:
            cda = read_cda_header(content, limits)
        except VaultExtractionError as exc:
            return rejected(ProblemKind.UNSAFE_DOCUMENT, exc.reason)
    if cda is not None and cda.embedded is not None:
        hashes.add(cda.embedded.sha256)
    ins_check, ins = worst_ins_check([entry.patient_id, cda.patient_ins if cda else None],
                                     recipient_ins)
    if ins_check is not InsCheck.MATCHES:
        kind, reason = _INS_PROBLEMS[ins_check]
        return rejected(kind, reason)
    if has_code(entry.confidentiality_codes, INVISIBLE_PATIENT):
        return rejected(ProblemKind.INVISIBLE_PATIENT, "confidentiality INVISIBLE_PATIENT")
    classification = classify(
        type_code=entry.type_code,
        cda_code=cda.code if cda else None,
        class_code=entry.class_code,
        file_name=file_name,
        subject=subject,
    )
    if cda and cda.title and not entry.title:
        title = cda.title
    document = VaultDocument(
        file_name=file_name,
        content_type=entry.mime_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        classification=classification,
        title=title,
        origin=DocumentOrigin.XDM,
        type_code=entry.type_code or (cda.code if cda else None),
        class_code=entry.class_code,
        confidentiality_codes=entry.confidentiality_codes,
        author=entry.author or (cda.author if cda else None),
        created_at=parse_hl7_time(entry.creation_time)
        or parse_hl7_time(cda.effective_time if cda else None),
        patient_id=ins.value if ins else None,
        archive_path=path,
        unique_id=entry.unique_id,
    )
    return XdmEntryOutcome(file_name, title, document, None, frozenset(hashes))


def ins_problem(ins_check: InsCheck) -> tuple[ProblemKind, str] | None:
    """The problem of a document whose INS is not the recipient's (903/904/905)."""
    return None if ins_check is InsCheck.MATCHES else _INS_PROBLEMS[ins_check]


def worst_ins_check(
    identifiers: list[PatientIdentifier | None], recipient_ins: str
) -> tuple[InsCheck, PatientIdentifier | None]:
    """Every INS the document states must be the recipient's; none at all is 903."""
    stated = [i for i in identifiers if i and i.is_ins]
    if not stated:
        return InsCheck.MISSING, None
    checks = {check_ins(identifier, recipient_ins) for identifier in stated}
    worst = next(check for check in _INS_SEVERITY if check in checks)
    return worst, stated[0]
