"""Linking the PDF copy that travels beside an IHE_XDM.zip to the document it renders.

Professional software sends the archive plus a PDF copy (mssante-facts, message
conventions). A PDF beside an archive is a copy when its name stem equals the stem or the
title of an archive entry, or when it is the only PDF of the message (then it copies the
archive's first entry, the main document by convention). A copy takes the space,
confidentiality codes and patient of its original, and is refused when its original was
refused: the copy of another patient's letter is still another patient's letter (MSS choice).
"""

from __future__ import annotations

from dataclasses import replace

from mss.vault.attachments import PDF
from mss.vault.classification import Classification, ClassificationBasis, fold_text
from mss.vault.documents import DocumentProblem, ProblemKind, VaultDocument
from mss.vault.xdm_deposit import XdmEntryOutcome


def name_stem(file_name: str) -> str:
    return fold_text(file_name.rsplit(".", 1)[0] if "." in file_name else file_name).strip()


def find_original(
    pdf: VaultDocument, entries: list[XdmEntryOutcome], only_pdf: bool
) -> XdmEntryOutcome | None:
    stem = name_stem(pdf.file_name)
    for entry in entries:
        if stem and stem in (name_stem(entry.file_name), fold_text(entry.title).strip()):
            return entry
    if only_pdf and entries:
        return entries[0]
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
    plain: list[VaultDocument], entries: list[XdmEntryOutcome], archive_failed: bool
) -> tuple[list[VaultDocument], list[DocumentProblem]]:
    """Plain documents with copies linked, and the copies refused with their original.

    `archive_failed`: an archive of the message could not be read at all; then the only
    PDF beside it is refused too, since nothing proves whose document it copies.
    """
    pdfs = [d for d in plain if d.content_type == PDF]
    only_pdf = len(pdfs) == 1
    kept: list[VaultDocument] = []
    problems: list[DocumentProblem] = []
    for document in plain:
        if document.content_type != PDF:
            kept.append(document)
            continue
        original = find_original(document, entries, only_pdf)
        if original is None and only_pdf and archive_failed:
            problems.append(DocumentProblem(
                document.file_name, ProblemKind.UNREADABLE_ARCHIVE,
                "copy beside an unreadable XDM archive"
            ))
        elif original is None:
            kept.append(document)
        elif original.document is not None:
            kept.append(as_copy(document, original.document))
        elif original.problem is not None:
            problems.append(DocumentProblem(
                document.file_name, original.problem.kind,
                f"copy of a refused document: {original.problem.reason}",
            ))
    return kept, problems

