"""The few headers cached beside each message, for listings without reading blobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime

MAX_FIELD = 2000


@dataclass(frozen=True, slots=True)
class HeaderSummary:
    message_id: str
    subject: str
    from_addr: str
    to_addrs: str
    date: datetime | None


def header_block(raw: bytes) -> bytes:
    """The header section of a message (up to the first empty line)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(sep)
        if end != -1:
            return raw[: end + len(sep)]
    return raw


def summarise_headers(raw: bytes) -> HeaderSummary:
    """Decode what listings show; malformed headers give empty values, never an error."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(header_block(raw))

    def text(name: str) -> str:
        try:
            value = headers.get(name)
            return str(value)[:MAX_FIELD] if value is not None else ""
        except Exception:  # a header the email package cannot decode
            return ""

    def addresses(name: str) -> str:
        try:
            values = headers.get_all(name) or []
            pairs = getaddresses([str(v) for v in values])
        except Exception:
            return ""
        return ", ".join(addr for _, addr in pairs if addr)[:MAX_FIELD]

    try:
        date = parsedate_to_datetime(text("Date")) if text("Date") else None
    except (TypeError, ValueError, IndexError):
        date = None
    return HeaderSummary(
        message_id=text("Message-ID").strip(), subject=text("Subject"),
        from_addr=addresses("From"), to_addrs=addresses("To"), date=date,
    )
