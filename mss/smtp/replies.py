"""The protocol's own SMTP replies, and the one error type that carries a reply
(docs/architecture.md §8.3, §8.4); policy refusals come from mss/policy/refusals.py.

Any layer (a handler hook, the DSN parameter parser, the line-ending guard) raises
`SmtpReply`; the aiosmtpd handler boundary catches it once and returns `render()`.
Constants are full reply lines so that handlers and tests compare the same text;
`SmtpReply.parse(CONSTANT)` turns one into an exception.

Enhanced status codes follow RFC 3463 (and RFC 4954 §6, RFC 7372 for AUTH and DKIM);
their class digit always equals the first digit of the reply code (RFC 2034 §3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# --- success (2yz) ---------------------------------------------------------------------
SMTP_OK = "250 2.0.0 OK"
SENDER_OK = "250 2.1.0 Sender OK"  # RFC 3463 X.1.0
RECIPIENT_OK = "250 2.1.5 Recipient OK"  # RFC 3463 X.1.5
QUEUED_AS = "250 2.0.0 OK: queued as {queue_id}"  # format with the queue id, after commit
RESET_OK = "250 2.0.0 Reset OK"
NOOP_OK = "250 2.0.0 OK"
AUTH_SUCCESS = "235 2.7.0 Authentication successful"  # RFC 4954 §6
READY_FOR_TLS = "220 2.0.0 Ready to start TLS"  # RFC 3207 §4
CLOSING = "221 2.0.0 Bye"
START_MAIL_INPUT = "354 End data with <CR><LF>.<CR><LF>"  # RFC 5321 §4.3.2: no enhanced code

# --- temporary failures (4yz) ------------------------------------------------------------
SHUTTING_DOWN = "421 4.3.2 Service shutting down, closing transmission channel"
IDLE_TIMEOUT = "421 4.4.2 Idle timeout, closing transmission channel"  # RFC 5321 §4.5.3.2
TEMP_FAIL = "451 4.3.0 Local error in processing, please try again later"
DISK_FULL = "452 4.3.1 Insufficient system storage"  # RFC 3463 X.3.1
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"  # RFC 5321 §4.5.3.1.10
AUTH_TEMP_FAIL = "454 4.7.0 Temporary authentication failure"  # RFC 4954 §6
TLS_NOT_AVAILABLE = "454 4.7.0 TLS not available due to temporary reason"  # RFC 3207 §4
# A client certificate refused after the handshake (mss.certs.live_trust): temporary, so
# that a peer whose certificate was replaced badly queues its mail instead of bouncing it.
CERTIFICATE_REVOKED = "421 4.7.1 Client certificate revoked, closing transmission channel"
CERTIFICATE_UNVERIFIED = (
    "421 4.7.1 Client certificate not trusted: revocation status unknown, try again later")
CERTIFICATE_UNKNOWN_CA = (  # its CA was taken out of the trust anchors (mss.certs.live_trust)
    "421 4.7.1 Client certificate not trusted: its CA is not trusted here, try again later")

# --- permanent failures (5yz) ------------------------------------------------------------
LINE_TOO_LONG = "500 5.5.2 Error: line too long"  # RFC 5321 §4.5.3.1.6
COMMAND_UNRECOGNIZED = "500 5.5.2 Error: command not recognized"
BARE_LF = "550 5.5.2 Error: bare <LF> received"  # see mss.smtp.line_endings
BARE_CR = "550 5.5.2 Error: bare <CR> received"
SYNTAX_ERROR = "501 5.5.4 Syntax error in parameters or arguments"
COMMAND_NOT_IMPLEMENTED = "502 5.5.1 Command not implemented"
BAD_SEQUENCE = "503 5.5.1 Bad sequence of commands"
UNKNOWN_PARAMETER = "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented"
MUST_STARTTLS = "530 5.7.0 Must issue a STARTTLS command first"  # RFC 3207 §4
AUTH_REQUIRED = "530 5.7.0 Authentication required"  # RFC 4954 §6
AUTH_TOO_WEAK = "534 5.7.9 Authentication mechanism is too weak"  # RFC 4954 §6
AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"  # RFC 4954 §6
ENCRYPTION_REQUIRED = "538 5.7.11 Encryption required for requested authentication mechanism"
# The replies of the trust space's rules (T1-T4, R1-R3, P1, P2, S1-S3) are not here: each
# comes from its Verdict (`Verdict.smtp_reply()`), written once in mss/policy/refusals.py.
TOO_BIG = "552 5.3.4 Message too big for system"  # the SIZE limit at MAIL, RFC 1870 §6
NO_PASSING_DKIM = "550 5.7.20 No passing DKIM signature found"  # RFC 7372 §3.1
TRANSACTION_FAILED = "554 5.0.0 Transaction failed"

_REPLY_CODE = re.compile(r"^[2-5][0-5][0-9]$")
_ENHANCED_CODE = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$")  # RFC 3463 §2
_REPLY_LINE = re.compile(r"^([2-5][0-5][0-9])[ -](?:([245]\.[0-9]{1,3}\.[0-9]{1,3}) )?(.*)$")


class SmtpReply(Exception):
    """A reply to the SMTP client, raised anywhere and rendered once at the handler boundary.

    `text` may hold several lines (a sequence, or a string with newlines): `render()` then
    writes the RFC 5321 §4.2.1 multi-line form, `250-` on every line but the last, with the
    enhanced code repeated on each line (RFC 2034 §3).
    """

    def __init__(self, code: int, enhanced: str | None, text: str | Sequence[str]) -> None:
        if not _REPLY_CODE.match(str(code)):
            raise ValueError(f"not an SMTP reply code: {code!r}")
        if enhanced is not None:
            if not _ENHANCED_CODE.match(enhanced):
                raise ValueError(f"not an enhanced status code: {enhanced!r}")
            if enhanced[0] != str(code)[0]:
                raise ValueError(f"class of {enhanced} does not match reply code {code}")
        lines = text.splitlines() if isinstance(text, str) else list(text)
        if not lines:
            lines = [""]
        for line in lines:
            if "\r" in line or "\n" in line:
                raise ValueError("reply text lines must not contain CR or LF")
        self.code = code
        self.enhanced = enhanced
        self.lines: tuple[str, ...] = tuple(lines)
        super().__init__(self.render())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_permanent(self) -> bool:
        """5yz: the client must not retry (RFC 5321 §4.2.1)."""
        return self.code >= 500

    @property
    def is_temporary(self) -> bool:
        return 400 <= self.code < 500

    def render(self) -> str:
        """The reply as aiosmtpd pushes it: lines joined by CRLF, no final CRLF."""
        last = len(self.lines) - 1
        rendered = []
        for index, line in enumerate(self.lines):
            separator = " " if index == last else "-"
            words = " ".join(part for part in (self.enhanced, line) if part)
            rendered.append(f"{self.code}{separator}{words}".rstrip(" "))
        return "\r\n".join(rendered)

    @classmethod
    def parse(cls, line: str, **values: str) -> SmtpReply:
        """Turn a reply constant (`TOO_BIG`, `QUEUED_AS` with its values) into an exception."""
        formatted = line.format(**values) if values else line
        match = _REPLY_LINE.match(formatted)
        if match is None:
            raise ValueError(f"not an SMTP reply line: {formatted!r}")
        code, enhanced, text = match.groups()
        return cls(int(code), enhanced, text)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SmtpReply):
            return NotImplemented
        return (self.code, self.enhanced, self.lines) == (other.code, other.enhanced, other.lines)

    def __hash__(self) -> int:
        return hash((self.code, self.enhanced, self.lines))

    def __repr__(self) -> str:
        return f"SmtpReply({self.code}, {self.enhanced!r}, {self.text!r})"
