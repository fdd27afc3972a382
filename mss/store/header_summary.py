"""The few headers cached beside each message, for listings without reading blobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from functools import lru_cache

from mss.store.header_dates import parse_header_date

MAX_FIELD = 2000


@dataclass(frozen=True, slots=True)
class HeaderSummary:
    message_id: str
    subject: str
    from_addr: str
    to_addrs: str
    date: datetime | None  # aware UTC; None when the Date field is missing or unusable


def header_block(raw: bytes) -> bytes:
    """The header section of a message (up to the first empty line)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(sep)
        if end != -1:
            return raw[: end + len(sep)]
    return raw


def summarise_headers(raw: bytes) -> HeaderSummary:
    """Decode what listings show; malformed headers give empty values, never an error.

    Cached by header block: one message delivered to several folders is parsed once."""
    return _summary_of_block(header_block(raw))


@lru_cache(maxsize=256)
def _summary_of_block(block: bytes) -> HeaderSummary:
    """(See `summarise_headers`.)

    The compat32 header parser is used on purpose: it is several times faster than the
    modern policy and these few fields are decoded by hand (RFC 2047 for the subject).
    """
    headers = BytesHeaderParser().parsebytes(block)
    fields: dict[str, list[str]] = {}
    for name, value in headers.raw_items():
        # RFC 6532: raw UTF-8 in headers is kept by the parser as surrogate escapes
        text = str(value).encode("ascii", "surrogateescape").decode("utf-8", "replace")
        fields.setdefault(name.lower(), []).append(text)

    def raw_text(name: str) -> str:
        values = fields.get(name.lower())
        return values[0] if values else ""

    def decoded(name: str) -> str:
        value = raw_text(name)
        try:
            return str(make_header(decode_header(value)))[:MAX_FIELD]
        except Exception:  # an encoded word the email package cannot decode
            return value[:MAX_FIELD]

    def addresses(name: str) -> str:
        try:
            pairs = getaddresses(fields.get(name.lower(), []))
        except Exception:
            return ""
        return ", ".join(addr for _, addr in pairs if addr)[:MAX_FIELD]

    return HeaderSummary(
        message_id=" ".join(raw_text("Message-ID").split())[:MAX_FIELD],
        subject=" ".join(decoded("Subject").split()),
        from_addr=addresses("From"), to_addrs=addresses("To"),
        date=parse_header_date(raw_text("Date")),
    )
