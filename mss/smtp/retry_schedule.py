"""When the outbound queue tries again, and whether a failure is worth trying again.

Pure functions over injected times (docs/architecture.md §8.8): the queue worker passes its clock's
now.

Schedule: after the n-th failed attempt the next one waits `first_delay * 2**(n-1)`,
capped at `max_delay` (1 min, 2, 4, 8, 16, 32, then every hour), until `expiry` after
the first attempt; a last attempt is made at the expiry instant itself, then the message
bounces. Postfix doubles from `minimal_backoff_time` to `maximal_backoff_time` (5 min to
4000 s by default) with `maximal_queue_lifetime` 5 days; MSS starts lower because its
peers are a few known operators on a closed network, where a short outage is the usual
cause, and keeps the same 5 days (RFC 5321 §4.5.4.1: give up after 4-5 days).
A delay DSN is due once, `delay_warning_after` (4 h, as sendmail and Postfix's
`delay_warning_time` examples) after the first attempt.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Literal

FailureClass = Literal["temporary", "permanent"]

DEFAULT_FIRST_DELAY = timedelta(minutes=1)
DEFAULT_MAX_DELAY = timedelta(hours=1)
DEFAULT_EXPIRY = timedelta(days=5)
DEFAULT_DELAY_WARNING_AFTER = timedelta(hours=4)


class FailureKind(enum.StrEnum):
    """What went wrong when there was no SMTP reply to judge by."""

    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_LOST = "connection_lost"
    TIMEOUT = "timeout"
    HOST_NOT_FOUND = "host_not_found"
    TLS_HANDSHAKE = "tls_handshake"
    STARTTLS_NOT_OFFERED = "starttls_not_offered"
    # The peer's certificate does not chain to the trusted CA, or its DN is not the one
    # the trust list gives for the recipient domain.
    PEER_CERTIFICATE_REFUSED = "peer_certificate_refused"
    # The peer announced a SIZE smaller than the message (RFC 1870 §6.1).
    MESSAGE_TOO_BIG_FOR_PEER = "message_too_big_for_peer"
    PROTOCOL_ERROR = "protocol_error"


_PERMANENT_KINDS = frozenset({FailureKind.MESSAGE_TOO_BIG_FOR_PEER})


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError("retry times need a time zone")


def retry_delay(
    attempt_number: int,
    *,
    first_delay: timedelta = DEFAULT_FIRST_DELAY,
    max_delay: timedelta = DEFAULT_MAX_DELAY,
) -> timedelta:
    """The wait after the `attempt_number`-th failed attempt (1-based), doubling, capped."""
    if attempt_number < 1:
        raise ValueError("attempts are counted from 1")
    if attempt_number > 32:  # far past the cap; avoids huge powers
        return max_delay
    return min(first_delay * (1 << (attempt_number - 1)), max_delay)


def next_attempt(
    attempt_number: int,
    first_attempt_at: datetime,
    now: datetime,
    *,
    expiry: timedelta = DEFAULT_EXPIRY,
    first_delay: timedelta = DEFAULT_FIRST_DELAY,
    max_delay: timedelta = DEFAULT_MAX_DELAY,
) -> datetime | None:
    """When to try again after the `attempt_number`-th attempt failed at `now`.

    None once `now` has reached `first_attempt_at + expiry`: the message is bounced with
    a failure DSN (RFC 5321 §4.5.4.1, RFC 3464 Action: failed).
    """
    _require_aware(first_attempt_at, now)
    deadline = first_attempt_at + expiry
    if now >= deadline:
        return None
    delay = retry_delay(attempt_number, first_delay=first_delay, max_delay=max_delay)
    return min(now + delay, deadline)


def delay_warning_due(
    first_attempt_at: datetime,
    now: datetime,
    *,
    already_warned: bool,
    after: timedelta = DEFAULT_DELAY_WARNING_AFTER,
) -> bool:
    """Whether to send the one "delayed" DSN now (RFC 3464 Action: delayed)."""
    _require_aware(first_attempt_at, now)
    return not already_warned and now - first_attempt_at >= after


def classify_failure(
    code: int | None, enhanced: str | None = None, kind: FailureKind | None = None
) -> FailureClass:
    """Temporary (queue and retry) or permanent (bounce now) (RFC 5321 §4.2.1, §4.5.4.1).

    - a reply code decides first: 5yz permanent, 4yz temporary (RFC 5321 §4.2.1); the
      reply code wins over a contradicting enhanced code (RFC 3463 §2);
    - except `552 5.5.3` (too many recipients), which RFC 5321 §4.5.3.1.10 says to treat
      as temporary and retry the remaining recipients later;
    - a reply outside 4yz/5yz where a failure was seen is a protocol error: temporary;
    - without a reply: network, DNS, timeout and TLS failures are temporary
      (RFC 5321 §4.5.4.1: retry when the host cannot be reached);
    - a peer certificate refused against the trust list is temporary too (MSS choice):
      trust lists are refreshed and operator certificates rotate every 3 years, so a DN
      mismatch is most often a list not yet updated; as with DANE (RFC 7672 §2.2), the
      message is held back, never sent elsewhere or in clear, and bounces at expiry;
    - a message larger than the SIZE the peer announced is permanent (RFC 1870 §6.1).
    """
    if code is not None:
        if not 200 <= code <= 599:
            raise ValueError(f"not an SMTP reply code: {code}")
        if code == 552 and enhanced == "5.5.3":
            return "temporary"
        if 500 <= code <= 599:
            return "permanent"
        return "temporary"
    if kind in _PERMANENT_KINDS:
        return "permanent"
    return "temporary"
