"""A CDA R2 document attached on its own, outside any IHE_XDM.zip (CI-SIS, docs/architecture.md §6).

It is read, checked and classified like a CDA inside an archive: parsed safely, the
`recordTarget` INS must be the recipient's (903/904/905), a confidentiality code
INVISIBLE_PATIENT refuses it, and its `code` picks the space. XML that is not a
`ClinicalDocument` is refused with that reason, never dropped.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from mss.vault.attachments import Attachment
from mss.vault.cda import CDA_CONTENT_TYPE, CDA_DECLARED_TYPES, looks_like_xml, read_cda_header
from mss.vault.classification import classify
from mss.vault.confidentiality_codes import INVISIBLE_PATIENT, has_code
from mss.vault.documents import DocumentOrigin, DocumentProblem, ProblemKind, VaultDocument
from mss.vault.errors import VaultExtractionError
from mss.vault.hl7_time import parse_hl7_time
from mss.vault.limits import ExtractionLimits
from mss.vault.xdm_deposit import XdmEntryOutcome, ins_problem, worst_ins_check


def is_cda_candidate(attachment: Attachment) -> bool:
    """An attachment named `.xml`, declared as XML, or whose bytes open like XML."""
    return (attachment.file_name.casefold().endswith(".xml")
            or attachment.declared_type.casefold() in CDA_DECLARED_TYPES
            or looks_like_xml(attachment.content))


def cda_attachment(
    attachment: Attachment, recipient_ins: str, subject: str, sender: str | None,
    received: datetime | None, limits: ExtractionLimits,
) -> XdmEntryOutcome:
    """The document or the refusal, as an outcome a PDF copy beside it can follow
    (its hashes include the embedded body of a CDA N1, see mss.vault.pdf_copy)."""
    name = attachment.file_name or "document.xml"
    hashes = {hashlib.sha256(attachment.content).hexdigest()}

    def refused(kind: ProblemKind, reason: str, title: str = name) -> XdmEntryOutcome:
        return XdmEntryOutcome(name, title, None, DocumentProblem(name, kind, reason),
                               frozenset(hashes))

    try:
        header = read_cda_header(attachment.content, limits)
    except VaultExtractionError as exc:
        return refused(ProblemKind.UNSAFE_DOCUMENT, exc.reason)
    if header is None:
        return refused(ProblemKind.UNSUPPORTED_TYPE, "XML that is not a CDA R2 ClinicalDocument")
    if header.embedded is not None:
        hashes.add(header.embedded.sha256)
    title = header.title or name
    ins_check, ins = worst_ins_check([header.patient_ins], recipient_ins)
    if (problem := ins_problem(ins_check)) is not None:
        return refused(*problem, title=title)
    codes = (header.confidentiality_code,) if header.confidentiality_code else ()
    if has_code(codes, INVISIBLE_PATIENT):
        return refused(ProblemKind.INVISIBLE_PATIENT, "confidentiality INVISIBLE_PATIENT",
                       title=title)
    document = VaultDocument(
        file_name=name,
        content_type=CDA_CONTENT_TYPE,
        content=attachment.content,
        sha256=hashlib.sha256(attachment.content).hexdigest(),
        classification=classify(cda_code=header.code, file_name=name, subject=subject),
        title=title,
        origin=DocumentOrigin.CDA,
        type_code=header.code,
        confidentiality_codes=codes,
        author=header.author or sender,
        created_at=parse_hl7_time(header.effective_time) or received,
        patient_id=ins.value if ins else None,
    )
    return XdmEntryOutcome(name, title, document, None, frozenset(hashes))
