"""Limits of the IMAP listeners (robustness: line, literal, rate, connections, timers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImapLimits:
    max_line: int = 64 * 1024
    """Longest command line before literals (RFC 7162 §4 asks for at least 8192)."""
    max_literal: int = 50 * 1024 * 1024
    """Largest literal (APPEND); larger ones are refused before any byte is read."""
    autologout_seconds: float = 30 * 60
    """RFC 3501 §5.4: at least 30 minutes of inactivity before an autologout."""
    idle_seconds: float = 31 * 60
    """RFC 2177 §3: clients re-issue IDLE every 29 minutes; one spare minute."""
    commands_per_second: float = 200.0
    command_burst: int = 2000
    connections_per_address: int = 100
    write_buffer_high: int = 256 * 1024
    """Bytes queued for a client before the server waits for it to read (drain)."""
    content_batch: int = 64
    """Messages whose content is read from the blob store at once during FETCH/SEARCH."""


class CommandRate:
    """Token bucket over a monotonic clock passed in (docs/architecture.md §8.8: time is
    injected)."""

    def __init__(self, per_second: float, burst: int, now: float) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last = now

    def allow(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.per_second)
        self.last = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True
