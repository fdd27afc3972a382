"""Sort keys kept beside each message (RFC 5256 SORT and THREAD), pure.

SORT of a large folder must not parse 100,000 headers: the keys are computed once at
delivery and stored in `messages` (sort_subject, sort_from, sort_to, sort_cc), so the
database orders the folder by itself. Comparison is ``i;ascii-casemap`` (RFC 5256 §2,
RFC 4790 §9.2): the keys are stored with ASCII letters upper-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header, make_header

from mss.store.header_fields import address_pairs
from mss.store.text_memo import kept_readings, total_length

MAX_KEY = 500
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_TRAILER = re.compile(r"(?:[ \t]|\(fwd\))+$", re.IGNORECASE)
_BLOB = r"\[[^\[\]]*\][ \t]*"
_LEADER = re.compile(r"^[ \t]*(?:" + _BLOB + r")*(?:re|fwd?)[ \t]*(?:" + _BLOB + r")?:[ \t]*",
                     re.IGNORECASE)
_LEADING_BLOB = re.compile(r"^[ \t]*" + _BLOB)
_FWD_WRAPPER = re.compile(r"^\[fwd:(.*)\]$", re.IGNORECASE)
_MARKS = re.compile(r"[:\[(]")  # every pattern above but the whitespace needs one


@dataclass(frozen=True, slots=True)
class SortKeys:
    subject: str
    from_mailbox: str
    to_mailbox: str
    cc_mailbox: str


def ascii_upper(text: str) -> str:
    """i;ascii-casemap: only a-z are folded (RFC 4790 §9.2)."""
    if text.isascii():  # str.upper folds only a-z in ASCII text
        return text.upper()
    return text.translate(_ASCII_UPPER)


_ASCII_UPPER = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}


def base_subject(subject: str) -> str:
    """RFC 5256 §2.1: the subject without ``Re:``/``Fw:``/``Fwd:`` leaders, ``[blob]``
    prefixes, ``(fwd)`` trailers and ``[fwd: ...]`` wrappers, whitespace collapsed."""
    text = _WHITESPACE.sub(" ", subject).strip()
    if not _MARKS.search(text):  # no leader, blob, trailer or wrapper can match
        return text.strip()
    while True:
        while True:  # steps 2-4: trailers, then leaders and blobs, until none is left
            before = text
            text = _TRAILER.sub("", text)
            while True:
                stripped = _LEADER.sub("", text, count=1)
                if stripped == text:
                    blob = _LEADING_BLOB.sub("", text, count=1)
                    if blob != text and blob.strip():
                        stripped = blob
                if stripped == text:
                    break
                text = stripped
            if text == before:
                break
        wrapped = _FWD_WRAPPER.match(text)  # step 6
        if wrapped is None:
            return text.strip()
        text = wrapped.group(1).strip()


def decode_subject(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # an encoded word the email package cannot decode: keep it
        return value


def first_mailbox(values: list[str]) -> str:
    """The local part of the first address (RFC 5256 §3 ``addr-mailbox``), or ""."""
    for _, address in address_pairs(values):
        if address:
            return address.rpartition("@")[0] or address
    return ""


def sort_keys_of(subject: str, header_block: bytes) -> SortKeys:
    """The keys of a message from its decoded subject and its header section (the
    subject's kept by subject, each mailbox's by the field values it is read from)."""
    from_values, to_values, cc_values = _address_fields(header_block)
    return SortKeys(_subject_key(subject), _mailbox_key(from_values),
                    _mailbox_key(to_values), _mailbox_key(cc_values))


def _subject_key_once(subject: str) -> str:
    return ascii_upper(base_subject(subject))[:MAX_KEY]


def _mailbox_key_once(values: tuple[str, ...]) -> str:
    return ascii_upper(first_mailbox(list(values)))[:MAX_KEY]


_subject_key = kept_readings(_subject_key_once, size=len, entries=256)
_mailbox_key = kept_readings(_mailbox_key_once, size=total_length)


_FIELD = re.compile(rb"^(from|to|cc)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_LINE_END = re.compile(rb"\r?\n")
_FIELD_STARTS = frozenset(b"fFtTcC")


def _address_fields(block: bytes) -> tuple[tuple[str, ...], ...]:
    """From, To and Cc values (unfolded) by a scan of the header section: cheaper than
    a second parse on the delivery path; 8-bit bytes are read as UTF-8 (RFC 6532).

    The matches of `_FIELD` in the header, as `finditer` finds them: one can only start
    a line (after LF, not a continuation line, which starts with SP or HT), and ends
    before the LF of its last line, so each line start is tried in turn."""
    end = block.find(b"\r\n\r\n")
    if end < 0:
        end = block.find(b"\n\n")
    header = block if end < 0 else block[:end]
    found: dict[bytes, list[str]] = {b"from": [], b"to": [], b"cc": []}
    start = 0
    while True:
        match = _FIELD.match(header, start) if (
            start < len(header) and header[start] in _FIELD_STARTS) else None
        if match is not None:
            value = match.group(2)
            if b"\n" in value:
                value = _LINE_END.sub(b"", value)
            found[match.group(1).lower()].append(value.decode("utf-8", "replace"))
        line_end = header.find(b"\n", start if match is None else match.end())
        if line_end < 0:
            break
        start = line_end + 1
    return tuple(tuple(found[name]) for name in (b"from", b"to", b"cc"))
