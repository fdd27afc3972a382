"""Processing acknowledgement (RFC 8098 MDN, MSSanté `processed/Error:` form)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from mss.vault.acknowledgement import (
    build_processing_acknowledgement,
    disposition_value,
    error_text,
)
from mss.vault.errors import ProcessingErrorCode

from . import corpus

NOW = datetime(2024, 1, 15, 9, 31, tzinfo=UTC)
REPLY_TO = "secretariat@hopital.mssante.test"


def _original(**headers: str) -> EmailMessage:
    message = corpus.xdm_message(corpus.valid_xdm(), receipt_to=f"Secrétariat <{REPLY_TO}>",
                                 extra_headers=headers)
    return message


def _build(original: EmailMessage, error: ProcessingErrorCode | None = None,
           label: str | None = None) -> EmailMessage | None:
    return build_processing_acknowledgement(
        original,
        reporting_host="mss.example.test",
        final_recipient=corpus.PATIENT_ADDRESS,
        message_id="<ack-1@mss.example.test>",
        now=NOW,
        error=error,
        label=label,
    )


def _notification_fields(report: EmailMessage) -> EmailMessage:
    parsed = corpus.parse_message(report.as_bytes())
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "disposition-notification"
    human, notification = parsed.iter_parts()
    assert human.get_content_type() == "text/plain"
    assert notification.get_content_type() == "message/disposition-notification"
    (fields,) = notification.get_payload()
    return fields


def test_success_says_processed_and_parses_back() -> None:
    report = _build(_original(**{"Original-Recipient": f"rfc822;{corpus.PATIENT_ADDRESS}"}))
    assert report is not None
    fields = _notification_fields(report)
    assert fields["Disposition"] == "automatic-action/MDN-sent-automatically; processed"
    assert fields["Reporting-UA"] == "mss.example.test; MSS"
    assert fields["Original-Recipient"] == f"rfc822;{corpus.PATIENT_ADDRESS}"
    assert fields["Final-Recipient"] == f"rfc822;{corpus.PATIENT_ADDRESS}"
    assert fields["Original-Message-ID"] == "<corpus-1@hopital.mssante.test>"
    assert fields["Error"] is None
    parsed = corpus.parse_message(report.as_bytes())
    assert parsed["To"] == REPLY_TO
    assert parsed["In-Reply-To"] == "<corpus-1@hopital.mssante.test>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Date"].datetime == NOW


@pytest.mark.parametrize("error", list(ProcessingErrorCode))
def test_error_codes_use_the_mssante_form(error: ProcessingErrorCode) -> None:
    report = _build(_original(), error)
    assert report is not None
    fields = _notification_fields(report)
    expected = (
        "automatic-action/MDN-sent-automatically; "
        f"processed/Error: {int(error)}^{error.label}"
    )
    assert fields["Disposition"] == expected
    assert fields["Error"] == f"{int(error)}^{error.label}"
    assert f"Disposition: {expected}\r\n" in report.as_bytes(policy=report.policy.clone(
        linesep="\r\n")).decode("ascii")


def test_904_reads_ins_mismatch() -> None:
    assert disposition_value(ProcessingErrorCode.INS_MISMATCH, "INS mismatch") == (
        "automatic-action/MDN-sent-automatically; processed/Error: 904^INS mismatch"
    )


def test_label_cannot_inject_lines_or_separators() -> None:
    assert error_text(ProcessingErrorCode.OTHER, "bad\r\nBcc: x^é") == "906^bad Bcc: x"


def test_no_disposition_notification_to_means_no_report() -> None:
    message = corpus.xdm_message(corpus.valid_xdm())
    assert _build(message) is None


def test_report_carries_no_document_content() -> None:
    report = _build(_original(), ProcessingErrorCode.INS_MISMATCH)
    assert report is not None
    raw = report.as_bytes()
    assert b"ClinicalDocument" not in raw and b"IHE_XDM" not in raw


def test_report_lines_stay_within_rfc_limits() -> None:
    report = _build(_original(), ProcessingErrorCode.INS_MISMATCH)
    assert report is not None
    human = next(report.iter_parts())
    assert human["Content-Transfer-Encoding"] == "quoted-printable"
    assert all(len(line) <= 76 for line in human.as_string().splitlines()[3:])
    assert all(len(line) <= 998 for line in report.as_string().splitlines())
