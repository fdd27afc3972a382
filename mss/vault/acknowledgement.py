"""Processing acknowledgement of a message deposited in a patient space: an MDN (RFC 8098).

MSSanté form (docs/architecture.md §9, read receipts): `Disposition:
automatic-action/MDN-sent-automatically; processed` or `...; processed/Error: <code>^<label>`.
The same `<code>^<label>` is repeated in an RFC 8098 §3.2.7 `Error` field, so that
readers that only know the RFC find it too, with one more `Error` field per further
refused attachment (MSS choice). Each label names the refused file and says what is wrong
with it (mss.vault.problem_text); the human-readable part lists every refused file in
French and English. The report carries no document content, and no third part with the
original headers (RFC 8098 §3: optional).
Pure: the caller passes the time and the Message-ID (docs/architecture.md §8.8).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import format_datetime

from mss.store.header_fields import field_text, field_values, plain_addresses
from mss.vault.documents import DocumentProblem
from mss.vault.errors import ProcessingErrorCode
from mss.vault.problem_text import problem_text

DISPOSITION_PROCESSED = "automatic-action/MDN-sent-automatically; processed"
REPORTING_UA_PRODUCT = "MSS"
_REPORT_POLICY = policy.default.clone(max_line_length=998)
"""No folding: the Disposition line stays whole as MSSanté readers expect (RFC 5322 §2.1.1)."""
_UNSAFE_LABEL = re.compile(r"[^\x20-\x7e]|\^")
_MAX_LABEL = 200


def disposition_value(error: ProcessingErrorCode | None, label: str | None = None) -> str:
    """`...; processed` or `...; processed/Error: 904^INS non concordant`."""
    if error is None:
        return DISPOSITION_PROCESSED
    return f"{DISPOSITION_PROCESSED}/Error: {error_text(error, label)}"


def error_text(error: ProcessingErrorCode, label: str | None = None) -> str:
    """`<code>^<label>`, the label reduced to printable ASCII without `^` or line breaks."""
    shown = _UNSAFE_LABEL.sub(" ", label if label is not None else error.label)
    return f"{int(error)}^{' '.join(shown.split())[:_MAX_LABEL]}"


def notification_addresses(original: Message) -> list[str]:
    """Addresses of `Disposition-Notification-To` (RFC 8098 §2.1); empty when not asked."""
    values = field_values(original, "Disposition-Notification-To")
    return plain_addresses(values[:1])


def ascii_text(text: str) -> str:
    """Accents dropped (`différent` → `different`): RFC 8098 fields are plain ASCII here."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def problem_label(problem: DocumentProblem) -> str:
    """`Erreur de traitement - DOC0001.XML : la taille ou l'empreinte SHA-1 differe...`."""
    shown = problem.file_name or "message"
    return ascii_text(f"{problem.processing_error.label} - {shown} : "
                      f"{problem_text(problem.kind)}")


def ordered_problems(
    error: ProcessingErrorCode | None, problems: Sequence[DocumentProblem]
) -> list[DocumentProblem]:
    """The refusals, those of the reported code first."""
    return sorted(problems, key=lambda p: p.processing_error is not error)


_ADVICE = {
    True: ("Vérifiez l'identité (INS) du patient et renvoyez les documents concernés.",
           "Check the patient's identity (INS) and send the documents concerned again."),
    False: ("Corrigez les documents concernés et renvoyez-les.",
            "Correct the documents concerned and send them again."),
}


def _human_text(error: ProcessingErrorCode | None, label: str | None,
                problems: Sequence[DocumentProblem]) -> str:
    if error is None:
        return (
            "Votre message a été traité : les documents ont été déposés dans l'espace "
            "santé du patient.\n\n"
            "Your message was processed: the documents were filed in the patient's "
            "health space.\n"
        )
    code = error_text(error, label)
    french = [f"- {p.file_name or 'message'} : {problem_text(p.kind)} "
              f"({int(p.processing_error)})" for p in problems]
    english = [f"- {p.file_name or 'message'}: {problem_text(p.kind, 'en')} "
               f"({int(p.processing_error)}; {p.reason})" for p in problems]
    if not problems:  # the vault itself failed: nothing names one file
        french = ["- le dépôt a échoué dans la messagerie du patient ; aucun document "
                  "n'a été déposé"]
        english = ["- filing failed in the patient's mail service; no document was filed"]
    ins_related = error is not ProcessingErrorCode.OTHER
    advice_fr, advice_en = _ADVICE[ins_related]
    return (
        f"Votre message a été traité avec une erreur ({code}). Les pièces suivantes n'ont "
        "pas été déposées dans l'espace santé du patient :\n"
        + "".join(f"{line}\n" for line in french)
        + f"{advice_fr} Les autres documents ont été déposés.\n\n"
        f"Your message was processed with an error ({code}). These attachments were not "
        "filed in the patient's health space:\n"
        + "".join(f"{line}\n" for line in english)
        + f"{advice_en} The other documents were filed.\n"
    )


def _notification_fields(
    original: Message,
    reporting_host: str,
    final_recipient: str,
    error: ProcessingErrorCode | None,
    label: str | None,
    problems: Sequence[DocumentProblem],
) -> Message:
    fields = Message(policy=_REPORT_POLICY)
    fields["Reporting-UA"] = f"{reporting_host}; {REPORTING_UA_PRODUCT}"
    value = field_text(original, "Original-Recipient")  # read without raising
    if value:
        fields["Original-Recipient"] = value if ";" in value else f"rfc822;{value}"
    fields["Final-Recipient"] = f"rfc822;{final_recipient}"
    original_id = field_text(original, "Message-ID")
    if original_id:
        fields["Original-Message-ID"] = original_id
    fields["Disposition"] = disposition_value(error, label)
    if error is not None:
        fields["Error"] = error_text(error, label)
        for problem in problems[1:]:
            fields["Error"] = error_text(problem.processing_error, problem_label(problem))
    return fields


def build_processing_acknowledgement(
    original: Message,
    *,
    reporting_host: str,
    final_recipient: str,
    message_id: str,
    now: datetime,
    error: ProcessingErrorCode | None = None,
    label: str | None = None,
    problems: Sequence[DocumentProblem] = (),
    recipients: Sequence[str] | None = None,
) -> EmailMessage | None:
    """The MDN for `original`, or None when it asked for none (no Disposition-Notification-To).

    `final_recipient` is the patient mailbox; it is also the From of the report (RFC 8098
    §2.1: the MDN is sent on behalf of the recipient). `label` overrides the code's label;
    without it, the first refused file of `problems` with the code `error` names it.
    `recipients`: those it goes to (mss.policy.automatic_replies), when not all asked.
    """
    refused = ordered_problems(error, problems) if error is not None else []
    if label is None and refused:
        label = problem_label(refused[0])
    addresses = list(recipients) if recipients is not None else notification_addresses(original)
    if not addresses:
        return None
    report = EmailMessage(policy=_REPORT_POLICY)
    report["From"] = final_recipient
    report["To"] = ", ".join(addresses)
    report["Subject"] = "Accusé de traitement / Processing acknowledgement"
    report["Date"] = format_datetime(now)
    report["Message-ID"] = message_id
    original_id = field_text(original, "Message-ID")
    if original_id:
        report["In-Reply-To"] = original_id
        report["References"] = original_id
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    report["MIME-Version"] = "1.0"
    human = EmailMessage(policy=policy.default.clone(max_line_length=76))  # RFC 2045 §6.7
    human.set_content(_human_text(error, label, refused), cte="quoted-printable")
    del human["MIME-Version"]  # only the top level carries it (RFC 2045 §4)
    notification = EmailMessage(policy=_REPORT_POLICY)
    notification["Content-Type"] = "message/disposition-notification"
    notification.set_payload(
        [_notification_fields(original, reporting_host, final_recipient, error, label,
                              refused)]
    )
    report.make_mixed()
    report.attach(human)
    report.attach(notification)
    report.replace_header(
        "Content-Type", 'multipart/report; report-type="disposition-notification"'
    )
    report.set_boundary("=_mdn_" + hashlib.sha256(message_id.encode()).hexdigest()[:32])
    return report
