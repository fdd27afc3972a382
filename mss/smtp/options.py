"""SMTP limits and outbound settings, with the defaults MSS ships.

Message size and recipients per message come from `Settings.limits`, the rest from
`Settings.smtp` (defaults are Postfix's where it has one); tests and benchmarks may
override the whole set per App (`App(smtp_options=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from mss.config import Settings
from mss.smtp.retry_schedule import DEFAULT_EXPIRY, DEFAULT_FIRST_DELAY, DEFAULT_MAX_DELAY


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    max_message_bytes: int = 50 * 1024 * 1024  # advertised SIZE (RFC 1870)
    max_recipients: int = 100  # RFC 5321 §4.5.3.1.8: at least 100
    connections_per_address: int = 50  # Postfix smtpd_client_connection_count_limit
    commands_per_session: int = 10_000  # per command verb (aiosmtpd command_call_limit)
    auth_attempts_per_session: int = 3
    errors_per_session: int = 20  # Postfix smtpd_hard_error_limit
    idle_timeout: float = 300.0  # seconds; RFC 5321 §4.5.3.2.7: 5 minutes
    dkim_selector: str = "mss"
    dkim_rsa_selector: str = "mss-rsa"
    queue_expiry: timedelta = DEFAULT_EXPIRY
    retry_first_delay: timedelta = DEFAULT_FIRST_DELAY
    retry_max_delay: timedelta = DEFAULT_MAX_DELAY
    relay_timeout: float = 60.0  # seconds per SMTP exchange with a peer
    queue_batch: int = 20


def smtp_options(settings: Settings, override: SmtpOptions | None = None) -> SmtpOptions:
    """The options in force: `override` if given, with the size limits of `settings`."""
    base = override or SmtpOptions()
    if override is not None:
        return base
    smtp = settings.smtp
    return replace(
        base,
        max_message_bytes=settings.limits.max_message_bytes,
        max_recipients=settings.limits.max_recipients,
        connections_per_address=smtp.connections_per_address,
        errors_per_session=smtp.errors_per_session,
        idle_timeout=float(smtp.idle_timeout_seconds),
        dkim_selector=smtp.dkim_selector,
        dkim_rsa_selector=smtp.dkim_rsa_selector,
        queue_expiry=timedelta(hours=smtp.queue_expiry_hours),
        retry_first_delay=timedelta(seconds=smtp.retry_first_delay_seconds),
        retry_max_delay=timedelta(seconds=smtp.retry_max_delay_seconds),
        relay_timeout=float(smtp.relay_timeout_seconds),
    )
