"""DSN messages (RFC 3464) and the DSN ESMTP parameters (RFC 3461)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mss.smtp.dsn import RecipientStatus, build_dsn, should_send_dsn
from mss.smtp.dsn_parameters import (
    MailDsnParameters,
    Notify,
    OriginalRecipient,
    RcptDsnParameters,
    Ret,
    parse_mail_dsn_parameters,
    parse_rcpt_dsn_parameters,
    xtext_decode,
    xtext_encode,
)
from mss.smtp.line_endings import find_bare_line_ending
from mss.smtp.replies import SmtpReply

NOW = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
ORIGINAL = (
    b"From: Dr A <a@hopital-a.mssante.fr>\r\n"
    b"To: b@clinique-b.mssante.fr\r\n"
    b"Subject: Compte rendu\r\n"
    b"Message-ID: <42@hopital-a.mssante.fr>\r\n"
    b"\r\n"
    b"Le corps du message.\r\n"
)
FAILED = RecipientStatus(
    final_recipient="b@clinique-b.mssante.fr",
    original_recipient=OriginalRecipient("rfc822", "B@Clinique-B.mssante.fr"),
    action="failed",
    status="5.1.1",
    diagnostic="smtp; 550 5.1.1 Adresse inconnue / Recipient address unknown",
    remote_mta="mx.clinique-b.mssante.fr",
    last_attempt=NOW - timedelta(minutes=1),
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def dsn_parts(raw: bytes) -> tuple[EmailMessage, list[Message]]:
    message = parse(raw)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    parts = message.get_payload()
    assert isinstance(parts, list)
    return message, parts


def status_blocks(part: Message) -> list[Message]:
    assert part.get_content_type() == "message/delivery-status"
    blocks = part.get_payload()
    assert isinstance(blocks, list)
    return blocks


def test_failure_dsn_has_the_three_parts_in_order() -> None:
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", recipients=[FAILED], now=NOW, envid="QQ 314",
    )
    message, parts = dsn_parts(raw)
    assert message["To"] == "a@hopital-a.mssante.fr"
    assert message["Auto-Submitted"] == "auto-replied"
    assert str(message["Subject"]).startswith("Non remis / Undelivered")
    assert [part.get_content_type() for part in parts] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers",
    ]
    per_message, per_recipient = status_blocks(parts[1])
    assert per_message["Reporting-MTA"] == "dns; mx.mss.example"
    assert per_message["Original-Envelope-Id"] == "QQ+20314"
    assert per_recipient["Final-Recipient"] == "rfc822; b@clinique-b.mssante.fr"
    assert per_recipient["Original-Recipient"] == "rfc822; B@Clinique-B.mssante.fr"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.1.1"
    assert per_recipient["Remote-MTA"] == "dns; mx.clinique-b.mssante.fr"
    assert " ".join(per_recipient["Diagnostic-Code"].split()) == FAILED.diagnostic
    assert per_recipient["Last-Attempt-Date"] == "Thu, 15 Jan 2026 07:59:00 +0000"


def test_human_part_is_french_then_english() -> None:
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", recipients=[FAILED], now=NOW,
    )
    _, parts = dsn_parts(raw)
    text = parts[0].get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    french = text.index("Votre message n'a pas pu être remis")
    english = text.index("Your message could not be delivered")
    assert french < english
    assert "<b@clinique-b.mssante.fr>" in text


def test_default_returns_headers_only() -> None:
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", recipients=[FAILED], now=NOW,
    )
    _, parts = dsn_parts(raw)
    returned = parts[2].get_payload()
    assert "Subject: Compte rendu" in str(returned)
    assert b"Le corps du message." not in raw


def test_ret_full_returns_the_whole_message() -> None:
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", recipients=[FAILED], now=NOW, ret=Ret.FULL,
    )
    _, parts = dsn_parts(raw)
    assert parts[2].get_content_type() == "message/rfc822"
    inner = parts[2].get_payload()[0]  # type: ignore[index]
    assert inner["Message-ID"] == "<42@hopital-a.mssante.fr>"
    assert b"Le corps du message.\r\n" in raw


def test_ret_full_over_the_limit_falls_back_to_headers() -> None:
    big = ORIGINAL + b"x" * 2000 + b"\r\n"
    raw = build_dsn(
        original=big, envelope_from="a@hopital-a.mssante.fr", reporting_mta="mx.mss.example",
        recipients=[FAILED], now=NOW, ret=Ret.FULL, full_size_limit=1000,
    )
    _, parts = dsn_parts(raw)
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"x" * 2000 not in raw


def test_dsn_is_all_crlf_with_short_lines() -> None:
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", now=NOW, ret=Ret.FULL,
        recipients=[
            FAILED,
            RecipientStatus("c@x.fr", "failed", "5.7.1", "smtp; 550 5.7.1 " + "y " * 200),
        ],
    )
    assert find_bare_line_ending(raw) is None
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_expired_message_fails_with_its_transient_status() -> None:
    expired = RecipientStatus("b@x.fr", "failed", "4.4.7", "smtp; 421 4.4.2 timeout")
    raw = build_dsn(original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
                    reporting_mta="mx.mss.example", recipients=[expired], now=NOW)
    _, parts = dsn_parts(raw)
    assert status_blocks(parts[1])[1]["Status"] == "4.4.7"


def test_delay_dsn_reports_will_retry_until() -> None:
    delayed = RecipientStatus(
        "b@clinique-b.mssante.fr", "delayed", "4.4.1", "smtp; 421 4.4.1 busy",
        will_retry_until=NOW + timedelta(days=5),
    )
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", recipients=[delayed], now=NOW,
    )
    message, parts = dsn_parts(raw)
    assert "Delayed Mail" in str(message["Subject"])
    assert status_blocks(parts[1])[1]["Will-Retry-Until"] == "Tue, 20 Jan 2026 08:00:00 +0000"


def test_non_ascii_diagnostic_is_made_ascii_in_the_status_part() -> None:
    refused = RecipientStatus("p@patient.mss.example", "failed", "5.7.1",
                              "smtp; 550 5.7.1 Échange clôturé")
    raw = build_dsn(
        original=ORIGINAL, envelope_from="a@hopital-a.mssante.fr",
        reporting_mta="mx.mss.example", recipients=[refused], now=NOW,
    )
    _, parts = dsn_parts(raw)
    assert status_blocks(parts[1])[1]["Diagnostic-Code"] == "smtp; 550 5.7.1 Echange cloture"


def test_no_dsn_is_built_for_the_null_reverse_path() -> None:
    with pytest.raises(ValueError):
        build_dsn(original=ORIGINAL, envelope_from="", reporting_mta="mx.mss.example",
                  recipients=[FAILED], now=NOW)


@pytest.mark.parametrize(("action", "status"), [("failed", "2.0.0"), ("delayed", "5.1.1"),
                                                ("delivered", "5.0.0"), ("failed", "5.1"),
                                                ("bounced", "5.0.0")])
def test_status_must_fit_the_action(action: str, status: str) -> None:
    with pytest.raises(ValueError):
        RecipientStatus("b@x.fr", action, status)  # type: ignore[arg-type]


F, D, S = Notify.FAILURE, Notify.DELAY, Notify.SUCCESS


@pytest.mark.parametrize(
    ("sender", "action", "notify", "expected"),
    [
        ("", "failed", None, False),  # never a DSN about a DSN
        ("<>", "failed", frozenset({F}), False),
        ("a@x.fr", "failed", None, True),
        ("a@x.fr", "failed", frozenset(), False),  # NOTIFY=NEVER
        ("a@x.fr", "failed", frozenset({D}), False),
        ("a@x.fr", "delayed", None, True),
        ("a@x.fr", "delayed", frozenset({F}), False),
        ("a@x.fr", "delayed", frozenset({F, D}), True),
        ("a@x.fr", "delivered", None, False),
        ("a@x.fr", "delivered", frozenset({S}), True),
        ("a@x.fr", "relayed", frozenset({S, F}), True),
    ],
)
def test_should_send_dsn(
    sender: str, action: str, notify: frozenset[Notify] | None, expected: bool
) -> None:
    assert should_send_dsn(sender, action, notify) is expected  # type: ignore[arg-type]


# --- parameters ---------------------------------------------------------------------------


def test_mail_parameters_are_parsed_and_others_ignored() -> None:
    parsed = parse_mail_dsn_parameters(
        ["SIZE=1000", "RET=HDRS", "ENVID=QQ314159+2B1", "BODY=8BITMIME"]
    )
    assert parsed == MailDsnParameters(ret=Ret.HDRS, envid="QQ314159+1")


def test_rcpt_parameters_are_parsed() -> None:
    parsed = parse_rcpt_dsn_parameters(["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;Bob+2Bx@example.fr"])
    assert parsed == RcptDsnParameters(
        notify=frozenset({Notify.SUCCESS, Notify.DELAY}),
        orcpt=OriginalRecipient("rfc822", "Bob+x@example.fr"),
    )


def test_notify_never_is_the_empty_set() -> None:
    assert parse_rcpt_dsn_parameters(["NOTIFY=NEVER"]).notify == frozenset()


def test_absent_parameters_are_none() -> None:
    assert parse_rcpt_dsn_parameters([]) == RcptDsnParameters()
    assert parse_mail_dsn_parameters(["SMTPUTF8"]) == MailDsnParameters()


@pytest.mark.parametrize(
    "options",
    [["RET=ALL"], ["RET"], ["RET=FULL", "RET=HDRS"], ["ENVID=a+2"], ["ENVID=a+2b"],
     ["ENVID=a=b"], ["ENVID=" + "x" * 101], ["ENVID=+0A"]],
)
def test_bad_mail_parameters_are_501_5_5_4(options: list[str]) -> None:
    with pytest.raises(SmtpReply) as caught:
        parse_mail_dsn_parameters(options)
    assert (caught.value.code, caught.value.enhanced) == (501, "5.5.4")


@pytest.mark.parametrize(
    "options",
    [["NOTIFY=NEVER,FAILURE"], ["NOTIFY=SOMETIMES"], ["NOTIFY=FAILURE,FAILURE"], ["NOTIFY="],
     ["ORCPT=b@x.fr"], ["ORCPT=;b@x.fr"], ["ORCPT=rfc822;"], ["ORCPT=rfc822;a b"],
     ["ORCPT=rfc822;" + "x" * 500], ["ORCPT=rfc822;+FF"]],
)
def test_bad_rcpt_parameters_are_501_5_5_4(options: list[str]) -> None:
    with pytest.raises(SmtpReply) as caught:
        parse_rcpt_dsn_parameters(options)
    assert caught.value.render().startswith("501 5.5.4 ")


def test_xtext_encodes_plus_equals_space_and_controls() -> None:
    assert xtext_encode("a+b=c d\r\n") == "a+2Bb+3Dc+20d+0D+0A"
    assert xtext_decode("a+2Bb+3Dc+20d") == "a+b=c d"


@given(st.text(max_size=60))
def test_xtext_round_trips_any_text(text: str) -> None:
    encoded = xtext_encode(text)
    assert all(33 <= ord(char) <= 126 for char in encoded)
    assert xtext_decode(encoded) == text


def test_parameters_render_back_to_what_was_parsed() -> None:
    rcpt = parse_rcpt_dsn_parameters(["NOTIFY=FAILURE,SUCCESS", "ORCPT=rfc822;a+2Bb@x.fr"])
    assert rcpt.to_parameters() == ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;a+2Bb@x.fr"]
    assert parse_rcpt_dsn_parameters(rcpt.to_parameters()) == rcpt
    mail = parse_mail_dsn_parameters(["ENVID=id+3D1", "RET=FULL"])
    assert mail.to_parameters() == ["RET=FULL", "ENVID=id+3D1"]
    assert parse_rcpt_dsn_parameters(["NOTIFY=NEVER"]).to_parameters() == ["NOTIFY=NEVER"]
