"""Rules decided after DATA, per recipient, in the order of docs/architecture.md §4: S1, S2, S3."""

from __future__ import annotations

from mss.policy.attachment_types import forbidden_kind
from mss.policy.codes import Cause
from mss.policy.facts import Content, Correspondent, OperatorFacts
from mss.policy.refusals import accepted, refusal
from mss.policy.verdict import Verdict

INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
"""Confidentiality code of a document the patient must never receive (docs/architecture.md §9)."""


def decide_content(operator: OperatorFacts, content: Content, recipient: Correspondent) -> Verdict:
    """The content verdict for one recipient: size (S1), attachment types (S2),
    documents invisible to the patient (S3)."""
    to_patient = recipient.is_patient
    limit = operator.limits.for_recipient(to_patient)
    if content.size > limit:  # MSS policy S1
        cause = Cause.TOO_LARGE_FOR_PATIENT if to_patient else Cause.TOO_LARGE
        return refusal(cause, limit=limit)
    for attachment in content.attachments:  # MSS policy S2
        if forbidden_kind(attachment) is not None:
            return refusal(Cause.FORBIDDEN_ATTACHMENT, name=attachment.filename or "")
    if to_patient and any(  # MSS policy S3
        INVISIBLE_PATIENT in {code.strip().upper() for code in a.confidentiality_codes}
        for a in content.attachments
    ):
        return refusal(Cause.INVISIBLE_TO_PATIENT)
    return accepted()
