"""Linking a PDF that travels beside an IHE_XDM.zip to the document it renders.

Professional software sends the archive plus a PDF copy (docs/architecture.md §9, message
conventions), but a PDF beside an archive may just as well be a document of its own (an
ordonnance beside a lettre de liaison). A PDF is a copy only when:
- the same content is inside an archive: its bytes equal an entry's file, or the
  base64 body of a CDA "N1" entry (`nonXMLBody`); or
- the XDM metadata names it: its name stem equals the stem of an entry's `URI`
  (`DOC0001.pdf` beside `DOC0001.XML`) or an entry's title.
Otherwise it is filed as its own document. A copy takes the space, confidentiality
codes and patient of its original, and is refused when its original was refused: the
copy of another patient's letter is still another patient's letter (MSS choice).
"""

from __future__ import annotations

from dataclasses import replace

from mss.vault.attachments import PDF
from mss.vault.classification import Classification, ClassificationBasis, fold_text
from mss.vault.documents import DocumentProblem, VaultDocument
from mss.vault.xdm_deposit import XdmEntryOutcome


def name_stem(file_name: str) -> str:
    return fold_text(file_name.rsplit(".", 1)[0] if "." in file_name else file_name).strip()


def find_original(pdf: VaultDocument, entries: list[XdmEntryOutcome]) -> XdmEntryOutcome | None:
    """The entry `pdf` is the copy of, by content first, then by the metadata's names."""
    for entry in entries:
        if pdf.sha256 in entry.content_sha256s:
            return entry
    stem = name_stem(pdf.file_name)
    for entry in entries:
        if stem and stem in (name_stem(entry.file_name), fold_text(entry.title).strip()):
            return entry
    return None


def as_copy(pdf: VaultDocument, original: VaultDocument) -> VaultDocument:
    return replace(
        pdf,
        copy_of=original.sha256,
        classification=Classification(
            original.space, ClassificationBasis.PDF_COPY, original.file_name
        ),
        title=original.title,
        type_code=original.type_code,
        class_code=original.class_code,
        confidentiality_codes=original.confidentiality_codes,
        patient_id=original.patient_id,
        author=original.author,
        created_at=original.created_at,
    )


def link_pdf_copies(
    plain: list[VaultDocument], entries: list[XdmEntryOutcome]
) -> tuple[list[VaultDocument], list[DocumentProblem]]:
    """Plain documents with copies linked, and the copies refused with their original."""
    kept: list[VaultDocument] = []
    problems: list[DocumentProblem] = []
    for document in plain:
        original = find_original(document, entries) if document.content_type == PDF else None
        if original is None:
            kept.append(document)
        elif original.document is not None:
            if original.document.sha256 == document.sha256:
                continue  # the very same file as the archive's entry: filed once
            kept.append(as_copy(document, original.document))
        elif original.problem is not None:
            problems.append(DocumentProblem(
                document.file_name, original.problem.kind,
                f"copy of the refused document {original.problem.file_name}: "
                f"{original.problem.reason}",
            ))
    return kept, problems
