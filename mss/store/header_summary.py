"""The few headers cached beside each message, for listings without reading blobs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser

from mss.store.header_dates import parse_header_date
from mss.store.header_fields import address_pairs

MAX_FIELD = 2000
MEMO_BLOCKS = 256


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

    Kept by header block: one message delivered to several folders is read once, and the
    pipeline's parse leaves its summary here (`summary_of_fields`) for the delivery.

    The compat32 header parser is used on purpose: it is several times faster than the
    modern policy and these few fields are decoded by hand (RFC 2047 for the subject).
    """
    block = header_block(raw)
    summary = _SUMMARIES.get(block)
    if summary is None:
        summary = summary_of_fields(block, BytesHeaderParser().parsebytes(block).raw_items())
    return summary


def summary_of_fields(block: bytes, items: Iterable[tuple[str, str]]) -> HeaderSummary:
    """The summary of header section `block` from its fields as the stdlib's parser reads
    them (`raw_items()` of a message parsed from `block`, or from a message starting with
    it: the parser's header fields end at the first empty line or before, and every policy
    reads a field's source lines alike, `header_source_parse`); kept for `block`."""
    fields: dict[str, list[str]] = {}
    for name, value in items:
        # RFC 6532: raw UTF-8 in headers is kept by the parser as surrogate escapes
        text = str(value)
        if not text.isascii():
            text = text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
        fields.setdefault(name.lower(), []).append(text)

    def raw_text(name: str) -> str:
        values = fields.get(name)
        return values[0] if values else ""

    def decoded(name: str) -> str:
        value = raw_text(name)
        if "=?" not in value:  # no encoded word: decode_header and make_header keep it
            return value[:MAX_FIELD]
        try:
            return str(make_header(decode_header(value)))[:MAX_FIELD]
        except Exception:  # an encoded word the email package cannot decode
            return value[:MAX_FIELD]

    def addresses(name: str) -> str:
        pairs = address_pairs(fields.get(name, []))
        return ", ".join(addr for _, addr in pairs if addr)[:MAX_FIELD]

    summary = HeaderSummary(
        message_id=" ".join(raw_text("message-id").split())[:MAX_FIELD],
        subject=" ".join(decoded("subject").split()),
        from_addr=addresses("from"), to_addrs=addresses("to"),
        date=parse_header_date(raw_text("date")),
    )
    with _KEEPING:
        _SUMMARIES[block] = summary
        while len(_SUMMARIES) > MEMO_BLOCKS:  # the oldest first
            _SUMMARIES.popitem(last=False)
    return summary


_SUMMARIES: OrderedDict[bytes, HeaderSummary] = OrderedDict()
_KEEPING = threading.Lock()  # the pipeline parses large messages in worker threads
