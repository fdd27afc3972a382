"""The trace fields' shortcuts give what the code they replace gave (issue 19): forged
Authentication-Results found by name instead of splitting every field (RFC 8601 §5),
Received built from per-session parts kept and a stamp kept per second (RFC 5321 §4.4).
The oracle is that code, written out below as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mss.smtp import trace_headers
from mss.smtp.dkim_signatures import DkimResult
from mss.smtp.trace_headers import (
    _AR_FIELD,
    authentication_results,
    claimed_authserv_id,
    received_header,
    remove_forged_authentication_results,
    split_header_fields,
)

EXAMPLES = settings(max_examples=400, deadline=None)


def reference_remove_forged(raw: bytes, authserv_id: str) -> bytes:
    fields, rest = split_header_fields(raw)
    ours = authserv_id.lower()
    kept = []
    for field in fields:
        if _AR_FIELD.match(field):
            value = field.split(b":", 1)[1].decode("ascii", "replace")
            if claimed_authserv_id(value).lower() == ours:
                continue
        kept.append(field)
    return b"".join(kept) + rest


LINES = st.sampled_from([
    b"Authentication-Results: mx.mss.test; dkim=pass", b"authentication-results :mx.mss.test;",
    b"AUTHENTICATION-RESULTS:\t(c) \"MX.mss.test\"; x", b"Authentication-Results: other.test; y",
    b"Authentication-Results: mx.mss.test.evil; z", b"X-Authentication-Results: mx.mss.test; q",
    b"Authentication-Results mx.mss.test", b" Authentication-Results: mx.mss.test; folded",
    b"\tdkim=fail", b" ", b"Subject: x", b"From: a@b.fr", b"bogus", b"", b"\r", b"\xc3\xa9: x",
    b"Subject: authentication-results: mx.mss.test",
])
ENDINGS = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b""])


@EXAMPLES
@given(st.lists(st.tuples(LINES, ENDINGS).map(b"".join), max_size=10),
       st.sampled_from([b"", b"\r\n", b"\n", b"\r\nAuthentication-Results: mx.mss.test; b\r\n"]),
       st.sampled_from(["mx.mss.test", "MX.MSS.TEST", "other.test"]))
@example([b"Authentication-Results: mx.mss.test; a\r\n", b"\tb\r\n", b"Subject: x\r\n"],
         b"\r\n", "mx.mss.test")
@example([b"\r\n", b"Authentication-Results: mx.mss.test; a\r\n"], b"", "mx.mss.test")
@example([b"X: y\n", b"Authentication-Results: mx.mss.test; a\n", b" b"], b"", "mx.mss.test")
@example([b"Subject: x\n", b"\n", b"Authentication-Results: mx.mss.test; a\n"], b"",
         "mx.mss.test")
@example([b"Subject: x\n", b"\n", b"\r\n", b"Authentication-Results: mx.mss.test; a\r\n"],
         b"", "mx.mss.test")
def test_forged_results_are_removed_as_before(lines: list[bytes], rest: bytes,
                                              authserv_id: str) -> None:
    raw = b"".join(lines) + rest
    assert remove_forged_authentication_results(raw, authserv_id) == reference_remove_forged(
        raw, authserv_id)


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5,
                         minutes=-30)), ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")])


@EXAMPLES
@given(st.lists(st.tuples(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(
    9999, 12, 30)), ZONES), min_size=1, max_size=4))
def test_the_stamp_is_format_datetime(instants: list[tuple[datetime, object]]) -> None:
    for naive, zone in instants:  # in turn: a kept stamp must never serve another time
        now = naive.replace(tzinfo=zone)  # type: ignore[arg-type]
        assert trace_headers._stamp(now) == format_datetime(now)
        assert trace_headers._stamp(now.replace(microsecond=0)) == format_datetime(now)


def test_the_same_second_in_another_zone_is_stamped_in_that_zone() -> None:
    paris = datetime(2026, 1, 15, 9, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    assert trace_headers._stamp(paris).endswith("09:30:05 +0100")
    assert trace_headers._stamp(paris.astimezone(UTC)).endswith("08:30:05 +0000")


SESSION = {"from_helo": "smtp.hopital-a.fr", "from_ip": "192.0.2.10",
           "by_host": "mx.mss.example", "protocol": "ESMTPS", "queue_id": "Q1",
           "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}


@pytest.mark.parametrize("changes", [
    {"from_ip": "not an ip"}, {"cipher": "bad cipher"}, {"from_ip": "x", "cipher": "bad c"},
    {"queue_id": "bad id", "from_ip": "x"}, {"for_rcpt": "<a@b>"},
])
def test_a_refused_value_is_refused_each_time_and_with_the_same_reason(
    changes: dict[str, str]
) -> None:
    now = datetime(2026, 1, 15, 9, 30, 5, tzinfo=UTC)
    reasons = []
    for _ in range(2):
        with pytest.raises(ValueError) as refused:
            received_header(**{**SESSION, **changes, "now": now})  # type: ignore[arg-type]
        reasons.append(str(refused.value))
    assert reasons[0] == reasons[1]
    if "queue_id" in changes:
        assert "queue id" in reasons[0]  # checked before the session's values, as before


def test_kept_parts_do_not_mix_sessions() -> None:
    now = datetime(2026, 1, 15, 9, 30, 5, tzinfo=UTC)
    one = received_header(**SESSION, now=now)  # type: ignore[arg-type]
    other = received_header(**{**SESSION, "from_helo": "bad helo!", "queue_id": "Q2"},  # type: ignore[arg-type]
                            now=now, authenticated_sender="dr.b@x")
    assert "(HELO bad helo!)" in other and "Authenticated sender: dr.b@x" in other
    assert "HELO" not in one and " id Q1;" in one and " id Q2;" in other
    dkim = DkimResult("pass", domain="a.fr", selector="s")
    assert authentication_results("mx.mss.example", dkim, ["x-a=pass"]) != (
        authentication_results("mx.mss.example", dkim, ["x-b=pass"]))
    with pytest.raises(ValueError):
        authentication_results("mx.mss.example", dkim, ["x-a=pass; dkim=pass"])
    with pytest.raises(ValueError):
        authentication_results("mx.mss.example", dkim, ["x-a=pass; dkim=pass"])
