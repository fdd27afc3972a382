"""Every reader of headers is total over the header forms of tests/header_forms.py and the
corpus tests/corpus/headers/: the pipeline's facts, the listing summary, IMAP ENVELOPE,
BODYSTRUCTURE and SEARCH decoding, the webmail view, the vault's extraction, the DSN's
subject and the MDN's addresses. None raises; dates are aware UTC or None (RFC 5322 §3.3,
§4; a header MSS cannot read is kept and ignored)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

from hypothesis import HealthCheck, given, settings

from mss.imap.body_structure import body_structure
from mss.imap.envelope import envelope
from mss.imap.mime_tree import parse_message as parse_mime
from mss.imap.search_match import decoded_text_parts
from mss.pipeline.message_facts import parse_message
from mss.smtp.dsn import _original_subject
from mss.store.header_summary import summarise_headers
from mss.vault.acknowledgement import build_processing_acknowledgement, notification_addresses
from mss.vault.extraction import extract_documents
from mss.webmail.message_view import attachment_content, view_message
from tests.header_corpus import addressed, corpus_messages
from tests.header_forms import messages
from tests.imap.client_view import client_parse

FROM = b"From: Dr Alice MARTIN <dr.alice.martin@mss-a.localhost>\r\n"
EXAMPLES = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def read_everything(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed.subject, str)
    summary = summarise_headers(raw)
    assert summary.date is None or summary.date.tzinfo is UTC
    # well-formed: imapclient's parser reads both as one parenthesised list each
    for rendered in (envelope(raw), body_structure(raw)):
        parsed_list, = client_parse(rendered)
        assert isinstance(parsed_list, tuple)
    list(decoded_text_parts(parse_mime(raw)))
    view = view_message(raw)
    assert view.date is None or view.date.tzinfo is UTC
    for attachment in view.attachments:
        attachment_content(raw, attachment.index)
    _original_subject(raw)
    modern = BytesParser(_class=EmailMessage, policy=default_policy).parsebytes(raw)
    for message in (parsed.message, modern):  # what the pipeline hands on, and the stdlib's
        plan = extract_documents(message, "1234567890123")
        assert all(d.created_at is None or d.created_at.tzinfo is UTC for d in plan.documents)
        notification_addresses(message)
        report = build_processing_acknowledgement(
            message, reporting_host="mss.localhost", final_recipient="p@patient.localhost",
            message_id="<r@mss.localhost>", now=datetime(2026, 12, 2, tzinfo=UTC))
        if report is not None:
            report.as_bytes()


@EXAMPLES
@given(messages(FROM))
def test_generated_header_forms_are_read_by_every_reader(raw: bytes) -> None:
    read_everything(raw)


def test_the_header_corpus_is_read_by_every_reader() -> None:
    for name, rest in corpus_messages():
        read_everything(addressed("dr.alice.martin@mss-a.localhost", "b@mss-a.localhost",
                                  name, rest))
