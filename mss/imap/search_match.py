"""SEARCH matching, pure (RFC 3501 §6.4.4, RFC 7162 §3.1.5).

A message is a `MessageView`; the mailbox facts that ``*`` needs are a `SearchScope`.
String keys match case-insensitively as substrings of decoded text: headers after
RFC 2047 decoding, bodies after their transfer encoding and charset are undone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header

from mss.imap.addresses import parse_address_list
from mss.imap.body_section import UnknownTransferEncoding, decode_transfer_encoding
from mss.imap.mime_tree import MimePart, parse_message, unfold
from mss.imap.search_keys import (
    AllKey,
    AndKey,
    DateKey,
    FlagKey,
    HeaderKey,
    ModSeqKey,
    NotKey,
    ObjectIdKey,
    OrKey,
    RecencyKey,
    SearchKey,
    SequenceKey,
    SizeKey,
    TextKey,
)
from mss.store.header_dates import parse_header_date

ADDRESS_FIELDS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender"})
RECENT = "\\Recent"
SEEN = "\\Seen"


@dataclass(frozen=True)
class MessageView:
    """What SEARCH may look at in one message of the selected mailbox."""

    seq: int
    uid: int
    flags: frozenset[str]
    internal_date: datetime
    size: int
    modseq: int
    raw: bytes
    email_id: str = ""  # RFC 8474 EMAILID, upper-case
    save_date: datetime | None = None  # RFC 8514, read only when a SAVED* key asks


@dataclass(frozen=True)
class SearchScope:
    """``*`` is the message count for sequence numbers, the highest UID for UIDs."""

    message_count: int
    highest_uid: int


def search_matches(key: SearchKey, message: MessageView, scope: SearchScope) -> bool:
    """Whether `message` satisfies `key` (RFC 3501 §6.4.4)."""
    return _Evaluation(message, scope).matches(key)


def decode_header_value(value: bytes) -> str:
    """RFC 2047 encoded words decoded; raw 8-bit read as UTF-8 (RFC 6532)."""
    text = value.decode("utf-8", "replace")
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return text


def decoded_text_parts(part: MimePart) -> Iterator[str]:
    """Text of the text/* leaves, and headers and text of attached messages."""
    if part.is_multipart:
        for child in part.children:
            yield from decoded_text_parts(child)
    elif part.message is not None:
        yield _decoded_header(part.message)
        yield from decoded_text_parts(part.message)
    elif part.main_type == "text":
        try:
            data = decode_transfer_encoding(part)
        except UnknownTransferEncoding:
            data = part.body
        yield _decode_charset(data, part.parameter("charset"))


def _decode_charset(data: bytes, charset: str | None) -> str:
    name = (charset or "utf-8").strip().lower()
    if name in ("us-ascii", "ascii"):
        name = "utf-8"  # 8-bit text without a charset is far more often UTF-8
    try:
        return data.decode(name, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _decoded_header(part: MimePart) -> str:
    lines = []
    for item in part.fields:
        name = part.raw[item.start : item.value_start]
        value = unfold(part.raw[item.value_start : item.end])
        lines.append(name.decode("latin-1") + " " + decode_header_value(value))
    return "\r\n".join(lines)


def _header_texts(name: str, value: bytes) -> Iterator[str]:
    """The decoded field, and for an address field each address as ``local@domain``
    with comments and folding removed (RFC 5322 §3.4: ``<user (c)@ (c) domain>`` is
    ``user@domain``), so ``SEARCH FROM user@domain`` finds it as Dovecot does."""
    yield decode_header_value(value)
    if name.lower() not in ADDRESS_FIELDS:
        return
    for address in parse_address_list(value):
        if address.mailbox is not None and address.host is not None:
            yield decode_header_value(address.mailbox + b"@" + address.host)


def _contains(haystack: str, needle: str) -> bool:
    return needle.casefold() in haystack.casefold()


@dataclass
class _Evaluation:
    """One message against one key tree; the MIME parse and decoded text are cached."""

    message: MessageView
    scope: SearchScope
    _tree: MimePart | None = None
    _body_text: str | None = None
    _folded_flags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self._folded_flags = frozenset(flag.casefold() for flag in self.message.flags)

    @property
    def tree(self) -> MimePart:
        if self._tree is None:
            self._tree = parse_message(self.message.raw)
        return self._tree

    def has_flag(self, flag: str) -> bool:
        return flag.casefold() in self._folded_flags

    def body_text(self) -> str:
        if self._body_text is None:
            self._body_text = "\n".join(decoded_text_parts(self.tree))
        return self._body_text

    def sent_date(self) -> date:
        """The Date field's day; the internal date when it is missing or broken."""
        sent = parse_header_date(self.tree.field_value("date"))
        return (sent or self.message.internal_date).date()

    def matches(self, key: SearchKey) -> bool:
        message = self.message
        match key:
            case AllKey():
                return True
            case FlagKey(flag=flag, present=present):
                return self.has_flag(flag) == present
            case RecencyKey(name="RECENT"):
                return self.has_flag(RECENT)
            case RecencyKey(name="NEW"):
                return self.has_flag(RECENT) and not self.has_flag(SEEN)
            case RecencyKey():
                return not self.has_flag(RECENT)
            case HeaderKey(field=name, value=value):
                return any(
                    _contains(text, value)
                    for found in self.tree.field_values(name)
                    for text in _header_texts(name, found)
                )
            case TextKey(name="BODY", value=value):
                return _contains(self.body_text(), value)
            case TextKey(value=value):
                return _contains(_decoded_header(self.tree), value) or _contains(
                    self.body_text(), value
                )
            case DateKey(name=name, day=day):
                if name.startswith("SENT"):
                    return _compare_day(self.sent_date(), name.removeprefix("SENT"), day)
                if name.startswith("SAVED"):
                    saved = message.save_date or message.internal_date
                    return _compare_day(saved.date(), name.removeprefix("SAVED"), day)
                return _compare_day(message.internal_date.date(), name, day)
            case SizeKey(larger=larger, size=size):
                return message.size > size if larger else message.size < size
            case SequenceKey(sequence_set=sequence_set, uid=True):
                return sequence_set.contains(message.uid, self.scope.highest_uid)
            case SequenceKey(sequence_set=sequence_set):
                return sequence_set.contains(message.seq, self.scope.message_count)
            case ModSeqKey(modseq=modseq):
                return message.modseq >= modseq
            case ObjectIdKey(name="EMAILID", value=value):
                return bool(message.email_id) and message.email_id == value.upper()
            case ObjectIdKey():
                return False  # THREADID: no message has one (RFC 8474 §5.2 NIL)
            case NotKey(key=inner):
                return not self.matches(inner)
            case OrKey(left=left, right=right):
                return self.matches(left) or self.matches(right)
            case AndKey(keys=keys):
                return all(self.matches(inner) for inner in keys)
        raise TypeError(f"not a search key: {key!r}")


def _compare_day(actual: date, comparison: str, day: date) -> bool:
    """BEFORE, ON, SINCE compare days, disregarding time and timezone (RFC 3501 §6.4.4)."""
    if comparison == "BEFORE":
        return actual < day
    if comparison == "ON":
        return actual == day
    return actual >= day
