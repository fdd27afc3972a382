"""Outbound retry schedule and failure classification (RFC 5321 §4.2.1, §4.5.4.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mss.clock import ManualClock
from mss.smtp.retry_schedule import (
    FailureKind,
    classify_failure,
    delay_warning_due,
    next_attempt,
    retry_delay,
)

START = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_delays_double_from_one_minute_and_cap_at_one_hour() -> None:
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays == [MINUTE * m for m in (1, 2, 4, 8, 16, 32, 60, 60, 60)]


def test_next_attempt_follows_the_schedule_on_a_moving_clock() -> None:
    clock = ManualClock(START)
    attempts = []
    attempt_number = 1
    while (when := next_attempt(attempt_number, START, clock.now())) is not None:
        attempts.append(when - clock.now())
        clock.advance(when - clock.now())  # the retry happens, and fails again
        attempt_number += 1
    assert attempts[:7] == [MINUTE * m for m in (1, 2, 4, 8, 16, 32, 60)]
    assert clock.now() == START + timedelta(days=5)  # last attempt at the expiry itself
    assert all(delay <= timedelta(hours=1) for delay in attempts)
    assert 110 < len(attempts) < 130  # about one an hour for five days


def test_no_attempt_after_expiry() -> None:
    assert next_attempt(3, START, START + timedelta(days=5)) is None
    assert next_attempt(3, START, START + timedelta(days=6)) is None


def test_last_attempt_is_clamped_to_the_expiry() -> None:
    now = START + timedelta(days=5) - timedelta(minutes=10)
    assert next_attempt(50, START, now) == START + timedelta(days=5)


def test_shorter_expiry_is_honoured() -> None:
    assert next_attempt(1, START, START + timedelta(hours=2), expiry=timedelta(hours=1)) is None


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=7200))
def test_next_attempt_is_always_after_now_and_within_expiry(attempt: int, minutes: int) -> None:
    now = START + timedelta(minutes=minutes)
    when = next_attempt(attempt, START, now)
    if now >= START + timedelta(days=5):
        assert when is None
    else:
        assert when is not None
        assert now < when <= START + timedelta(days=5)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        next_attempt(1, START.replace(tzinfo=None), START)
    with pytest.raises(ValueError):
        retry_delay(0)


def test_delay_warning_is_sent_once_after_four_hours() -> None:
    assert not delay_warning_due(START, START + timedelta(hours=3), already_warned=False)
    assert delay_warning_due(START, START + timedelta(hours=4), already_warned=False)
    assert not delay_warning_due(START, START + timedelta(hours=9), already_warned=True)


@pytest.mark.parametrize(
    ("code", "enhanced", "kind", "expected"),
    [
        (550, "5.1.1", None, "permanent"),
        (554, None, None, "permanent"),
        (552, "5.3.4", None, "permanent"),
        (552, "5.5.3", None, "temporary"),  # RFC 5321 §4.5.3.1.10 too many recipients
        (451, "4.3.0", None, "temporary"),
        (421, "4.4.2", None, "temporary"),
        (450, "5.1.1", None, "temporary"),  # the reply code wins over the enhanced code
        (250, None, FailureKind.PROTOCOL_ERROR, "temporary"),
        (None, None, FailureKind.CONNECTION_REFUSED, "temporary"),
        (None, None, FailureKind.TIMEOUT, "temporary"),
        (None, None, FailureKind.CONNECTION_LOST, "temporary"),
        (None, None, FailureKind.HOST_NOT_FOUND, "temporary"),
        (None, None, FailureKind.TLS_HANDSHAKE, "temporary"),
        (None, None, FailureKind.STARTTLS_NOT_OFFERED, "temporary"),
        (None, None, FailureKind.PEER_CERTIFICATE_REFUSED, "temporary"),
        (None, None, FailureKind.MESSAGE_TOO_BIG_FOR_PEER, "permanent"),
        (None, None, None, "temporary"),
    ],
)
def test_classify_failure(
    code: int | None, enhanced: str | None, kind: FailureKind | None, expected: str
) -> None:
    assert classify_failure(code, enhanced, kind) == expected


def test_classify_refuses_a_non_reply_code() -> None:
    with pytest.raises(ValueError):
        classify_failure(999)
