"""`extract_documents`: from a message bound for a patient to a DepositPlan (docs/architecture.md
§6).

Pure: no database, no clock, no I/O. Hostile input never raises; every attachment that
is not deposited becomes a DocumentProblem of the plan.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import Message

from mss.store.header_dates import parse_header_date
from mss.store.header_fields import address_pairs, field_text
from mss.vault.attachments import (
    DOCUMENT_TYPES,
    ZIP,
    Attachment,
    collect_attachments,
    sniff_content_type,
)
from mss.vault.cda_attachment import cda_attachment, is_cda_candidate
from mss.vault.classification import classify
from mss.vault.documents import (
    DepositPlan,
    DocumentOrigin,
    DocumentProblem,
    ProblemKind,
    VaultDocument,
)
from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits
from mss.vault.pdf_copy import link_pdf_copies
from mss.vault.subject import strip_xdm_prefix
from mss.vault.xdm_archive import is_xdm_archive_name
from mss.vault.xdm_deposit import XdmEntryOutcome, deposit_xdm_archive


def header_text(message: Message, name: str) -> str:
    """A header as text, '' when absent; as sent when unparseable (mss.store.header_fields)."""
    return field_text(message, name)


def sender_display(message: Message) -> str | None:
    pairs = address_pairs([header_text(message, "From")])
    if not pairs:
        return None
    name, address = pairs[0]
    return name or address or None


def sent_at(message: Message) -> datetime | None:
    """The Date field's instant (aware UTC), None when it cannot be read."""
    return parse_header_date(header_text(message, "Date"))


def plain_document(
    attachment: Attachment, subject: str, author: str | None, created_at: datetime | None
) -> VaultDocument | DocumentProblem:
    """A PDF or image without metadata, classified by file name then subject keywords."""
    content_type = sniff_content_type(attachment.content)
    name = attachment.file_name or "document"
    if content_type not in DOCUMENT_TYPES:
        return DocumentProblem(name, ProblemKind.UNSUPPORTED_TYPE,
                               "not a PDF, an image, a CDA R2 document or an XDM archive "
                               "(content sniffed)")
    return VaultDocument(
        file_name=name,
        content_type=content_type,
        content=attachment.content,
        sha256=hashlib.sha256(attachment.content).hexdigest(),
        classification=classify(file_name=name, subject=subject),
        title=name,
        origin=DocumentOrigin.ATTACHMENT,
        author=author,
        created_at=created_at,
    )


def extract_documents(
    message: Message, recipient_ins: str, limits: ExtractionLimits = DEFAULT_LIMITS
) -> DepositPlan:
    """The documents to deposit for the patient `recipient_ins`, and the problems found.

    XDM archives (IHE_XDM.zip, any case, or any zip) give their documents by metadata;
    a CDA R2 attached alone is read like one inside; other PDFs and images are plain
    documents; a PDF copy of an XDM document gets `copy_of` (mss.vault.pdf_copy). Every
    attachment ends as a document or a problem.
    """
    subject = strip_xdm_prefix(header_text(message, "Subject"))
    author = sender_display(message)
    created_at = sent_at(message)
    walk = collect_attachments(message, limits)
    entries: list[XdmEntryOutcome] = []
    plain: list[VaultDocument] = []
    problems: list[DocumentProblem] = []
    if walk.truncated:
        problems.append(DocumentProblem("", ProblemKind.TOO_MANY_ATTACHMENTS,
                                        "attachments or nesting beyond the limits"))
    for attachment in walk.attachments:
        if is_xdm_archive_name(attachment.file_name) or (
                sniff_content_type(attachment.content) == ZIP):
            outcome = deposit_xdm_archive(
                attachment.content, attachment.file_name or "archive.zip", recipient_ins,
                subject, limits,
            )
            entries.extend(outcome.entries)
            if outcome.archive_problem is not None:
                problems.append(outcome.archive_problem)
            continue
        if sniff_content_type(attachment.content) is None and is_cda_candidate(attachment):
            entries.append(cda_attachment(attachment, recipient_ins, subject, author,
                                          created_at, limits))
            continue
        result = plain_document(attachment, subject, author, created_at)
        if isinstance(result, DocumentProblem):
            problems.append(result)
        else:
            plain.append(result)
    plain, copy_problems = link_pdf_copies(plain, entries)
    problems.extend(copy_problems)
    problems.extend(e.problem for e in entries if e.problem is not None)
    documents = [e.document for e in entries if e.document is not None] + plain
    return DepositPlan(tuple(documents), tuple(problems))
