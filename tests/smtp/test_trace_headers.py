"""Received (RFC 5321 §4.4, RFC 3848) and Authentication-Results (RFC 8601) fields."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mss.smtp.dkim_signatures import DkimResult
from mss.smtp.trace_headers import (
    address_literal,
    authentication_results,
    claimed_authserv_id,
    prepend_header,
    received_header,
    remove_forged_authentication_results,
    transmission_type,
)

PARIS_WINTER = timezone(timedelta(hours=1))
NOW = datetime(2026, 1, 15, 9, 30, 5, tzinfo=PARIS_WINTER)


def unfold(field: str) -> str:
    return field.replace("\r\n\t", " ").rstrip("\r\n")


def test_received_over_tls_reads_like_a_mature_mta() -> None:
    field = received_header(
        from_helo="smtp-1.hopital-a.fr", from_ip="192.0.2.10", by_host="mx.mss.example",
        protocol="ESMTPS", tls_version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384",
        queue_id="4F2A1B9C", for_rcpt="dr.b@mss.example", now=NOW,
    )
    assert field.endswith("\r\n")
    assert all(line.startswith(("Received:", "\t")) for line in field.split("\r\n")[:-1])
    assert unfold(field) == (
        "Received: from smtp-1.hopital-a.fr ([192.0.2.10])"
        " (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)"
        " by mx.mss.example (MSS) with ESMTPS id 4F2A1B9C"
        " for <dr.b@mss.example>; Thu, 15 Jan 2026 09:30:05 +0100"
    )


def test_received_parses_as_one_header_with_the_stamp_date() -> None:
    field = received_header(
        from_helo="client.example.fr", from_ip="2001:db8::5", by_host="mx.mss.example",
        protocol="ESMTPSA", queue_id="Q1", now=NOW.astimezone(UTC),
    )
    message = email.message_from_bytes(
        prepend_header(b"Subject: x\r\n\r\nbody\r\n", field), policy=email.policy.default
    )
    received = str(message["Received"])
    assert "[IPv6:2001:db8::5]" in received
    assert received.endswith("; Thu, 15 Jan 2026 08:30:05 +0000")
    assert " for " not in received  # no single recipient given: no for clause


def test_received_on_submission_names_the_authenticated_sender() -> None:
    field = received_header(
        from_helo="poste-12", from_ip="192.0.2.7", by_host="mx.mss.example",
        protocol="ESMTPSA", tls_version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256",
        queue_id="Q3", now=NOW, authenticated_sender="CN=Labo (LABO),O=X\r\nBcc: x",
    )
    assert unfold(field) == (
        "Received: from poste-12 ([192.0.2.7])"
        " (using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)"
        " (Authenticated sender: CN=Labo \\(LABO\\),O=X??Bcc: x)"
        " by mx.mss.example (MSS) with ESMTPSA id Q3; Thu, 15 Jan 2026 09:30:05 +0100"
    )


def test_received_without_tls_has_no_cipher_comment() -> None:
    field = received_header(
        from_helo="[192.0.2.10]", from_ip="192.0.2.10", by_host="mx.mss.example",
        protocol="ESMTP", queue_id="Q2", now=NOW,
    )
    assert unfold(field).startswith("Received: from [192.0.2.10] ([192.0.2.10]) by ")
    assert "cipher" not in field


def test_unusable_helo_is_kept_in_a_comment_only() -> None:
    field = received_header(
        from_helo="evil)\r\nX-Injected: yes (", from_ip="192.0.2.10",
        by_host="mx.mss.example", protocol="ESMTP", queue_id="Q3", now=NOW,
    )
    assert "\r\nX-Injected" not in field
    assert unfold(field).startswith(
        "Received: from [192.0.2.10] ([192.0.2.10]) (HELO evil\\)??X-Injected: yes \\() by"
    )


@pytest.mark.parametrize(
    "changes",
    [{"protocol": "HTTP"}, {"queue_id": "a b"}, {"now": NOW.replace(tzinfo=None)},
     {"for_rcpt": "a@b>\r\nX: y"}, {"by_host": "bad host"}, {"cipher": "AES 256"}],
)
def test_received_refuses_values_that_break_the_grammar(changes: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "from_helo": "c.example.fr", "from_ip": "192.0.2.1", "by_host": "mx.mss.example",
        "protocol": "ESMTPS", "queue_id": "Q", "now": NOW, **changes,
    }
    with pytest.raises(ValueError):
        received_header(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("esmtp", "tls", "authenticated", "expected"),
    [(False, False, False, "SMTP"), (True, False, False, "ESMTP"), (True, True, False, "ESMTPS"),
     (True, True, True, "ESMTPSA"), (True, False, True, "ESMTPA")],
)
def test_transmission_type_per_rfc_3848(
    esmtp: bool, tls: bool, authenticated: bool, expected: str
) -> None:
    assert transmission_type(esmtp=esmtp, tls=tls, authenticated=authenticated) == expected


def test_ipv4_mapped_address_is_written_as_ipv4() -> None:
    assert address_literal("::ffff:192.0.2.7") == "[192.0.2.7]"


def test_authentication_results_carries_dkim_and_extra_methods() -> None:
    field = authentication_results(
        "mx.mss.example",
        DkimResult("pass", "hopital-a.fr", "mss2026"),
        extra=["x-mss-peer=pass"],
    )
    assert unfold(field) == (
        "Authentication-Results: mx.mss.example; "
        "dkim=pass header.d=hopital-a.fr header.s=mss2026; x-mss-peer=pass"
    )


def test_authentication_results_quotes_the_reason() -> None:
    field = authentication_results(
        "mx.mss.example", DkimResult("fail", "a.fr", "s1", 'body hash "mismatch"')
    )
    assert 'dkim=fail reason="body hash \\"mismatch\\"" header.d=a.fr header.s=s1' in field


def test_authentication_results_refuses_an_injected_clause() -> None:
    with pytest.raises(ValueError):
        authentication_results("mx.mss.example", DkimResult("none"), ["x=pass\r\nX: y"])


FORGED = (
    b"Authentication-Results: mx.mss.example;\r\n\tdkim=pass header.d=bank.example\r\n"
    b"Authentication-Results: (comment) MX.MSS.EXAMPLE 1; dkim=pass\r\n"
    b'Authentication-Results: "mx.mss.example"; x-mss-peer=pass\r\n'
    b"Authentication-Results: smtp.hopital-a.fr; dkim=pass header.d=hopital-a.fr\r\n"
    b"authentication-results : mx.mss.example; none\r\n"
    b"Subject: Authentication-Results: mx.mss.example; kept, it is a subject\r\n"
    b"\r\n"
    b"Authentication-Results: mx.mss.example; body text is never touched\r\n"
)


def test_forged_results_with_our_authserv_id_are_removed_and_others_kept() -> None:
    cleaned = remove_forged_authentication_results(FORGED, "mx.mss.example")
    assert cleaned == (
        b"Authentication-Results: smtp.hopital-a.fr; dkim=pass header.d=hopital-a.fr\r\n"
        b"Subject: Authentication-Results: mx.mss.example; kept, it is a subject\r\n"
        b"\r\n"
        b"Authentication-Results: mx.mss.example; body text is never touched\r\n"
    )


def test_message_without_forgery_is_unchanged() -> None:
    raw = b"From: a@b.fr\r\nSubject: x\r\n\r\nbody\r\n"
    assert remove_forged_authentication_results(raw, "mx.mss.example") == raw


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" mx.example.fr; none", "mx.example.fr"), (" (a (nested) c) mx 1; x", "mx"),
     (' "quoted\\"id"; none', 'quoted"id'), ("", "")],
)
def test_claimed_authserv_id(value: str, expected: str) -> None:
    assert claimed_authserv_id(value) == expected
