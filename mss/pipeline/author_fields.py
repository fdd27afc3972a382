"""Read the originator fields of a message for MSS policy T4 (RFC 5322 §3.6.2).

One small reader, tolerant by design: the header section is read from the raw bytes
(not from a parsed message that might have fallen back to another policy), and each
From/Sender value is read three ways: the standard library's RFC 5322 parser (groups,
comments, quoted strings), `getaddresses` (the lenient reader many clients resemble), and
a scan for anything shaped like an address in the text and its decoded encoded words
(RFC 2047). Every address any reading finds must pass T4: a header that readers
understand differently cannot show one author to MSS and another to a mail client.
Never raises: a value no reading can make sense of is `unreadable`.
"""

from __future__ import annotations

import contextlib
import re
from email.header import decode_header, make_header
from email.headerregistry import HeaderRegistry
from email.utils import getaddresses

from mss.policy import AuthorFields
from mss.store.text_memo import kept_readings, total_length

FROM, SENDER = "from", "sender"
MENTION_ONLY = frozenset({"resent-from", "resent-sender"})
MAX_FIELD_CHARS = 8192  # longer values are read by the scan only

_ADDRESS_SHAPE = re.compile(r"[^\s<>()\[\]\",;:@\\]+@[^\s<>()\[\]\",;:@\\]+")
_REGISTRY = HeaderRegistry()


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) of each header field, in order (RFC 5322 §2.2)."""
    fields: list[tuple[str, str]] = []
    for line in raw.split(b"\n"):
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if fields:
                field_name, field_value = fields[-1]
                fields[-1] = (field_name, field_value + " " + _text(line).strip())
            continue
        raw_name, colon, raw_value = line.partition(b":")
        if colon:
            fields.append((_text(raw_name).strip().lower(), _text(raw_value).strip()))
    return fields


READ = frozenset({FROM, SENDER, *MENTION_ONLY})
# Every name in READ holds one of these (ASCII: no other character lower-cases to the ASCII
# letters they are made of, but K, KELVIN SIGN, and İ, which gives i and a dot above).
_NAME_WORDS = (b"from", b"sender")
_CONTINUATION = (b" ", b"\t")
_EMPTY_LINE = re.compile(rb"\n\r*(?:\n|\Z)")


def originator_fields(raw: bytes) -> list[tuple[str, str]]:
    """The fields of `header_fields(raw)` named in READ, the same (name, value), in
    order, reading only those: a line is one only if its name (before its first colon)
    holds a word of `_NAME_WORDS` in any case, and a field runs on over continuation
    lines (SP, HT) and lines without a colon (skipped) to the next line with one."""
    if _LEADING_EMPTY_LINE.match(raw):
        return []
    empty = _EMPTY_LINE.search(raw)
    head = raw if empty is None else raw[: empty.start()]  # the lines before the empty one
    lowered = head.lower()  # ASCII only
    starts: set[int] = set()
    for word in _NAME_WORDS:
        at = lowered.find(word)
        while at >= 0:
            start = lowered.rfind(b"\n", 0, at) + 1
            colon = lowered.find(b":", start, _line_end(lowered, start))
            if colon > at and lowered[start:start + 1] not in _CONTINUATION:
                starts.add(start)
            at = lowered.find(word, at + 1)
    fields: list[tuple[str, str]] = []
    for start in sorted(starts):
        line_end = _line_end(head, start)
        line = head[start:line_end].rstrip(b"\r")
        raw_name, _, raw_value = line.partition(b":")
        name = _text(raw_name).strip().lower()
        if name not in READ:
            continue
        value = _text(raw_value).strip()
        while line_end < len(head):  # the lines after it, to the next with a colon
            start, line_end = line_end + 1, _line_end(head, line_end + 1)
            line = head[start:line_end].rstrip(b"\r")
            if line[:1] in _CONTINUATION:
                value += " " + _text(line).strip()
            elif b":" in line:
                break
        fields.append((name, value))
    return fields


def _line_end(data: bytes, start: int) -> int:
    end = data.find(b"\n", start)
    return len(data) if end < 0 else end


_LEADING_EMPTY_LINE = re.compile(rb"\r*(?:\n|\Z)")


def author_fields(raw: bytes) -> AuthorFields:
    """The From/Sender addresses of `raw` as T4 reads them (see the module docstring);
    kept per originator fields when short (a sender writes the same From every time)."""
    return _author_of(tuple(originator_fields(raw)))


def _author_of_fields(fields: tuple[tuple[str, str], ...]) -> AuthorFields:
    found: dict[str, list[str]] = {FROM: [], SENDER: []}
    counts = {FROM: 0, SENDER: 0}
    mentioned: list[str] = []
    unreadable = False
    for name, value in fields:
        if name in found:
            counts[name] += 1
            # a value the parsers cannot read (an unclosed comment, a broken encoded
            # word) is judged by the addresses it shows: every one must still pass
            addresses = _read_addresses(name, value) or _scanned(value)
            unreadable = unreadable or not addresses
            found[name].extend(addresses)
        elif name not in MENTION_ONLY:
            continue
        mentioned.extend(_scanned(value))
    return AuthorFields(
        from_addresses=tuple(dict.fromkeys(found[FROM])),
        sender_addresses=tuple(dict.fromkeys(found[SENDER])),
        mentioned=tuple(dict.fromkeys(mentioned)),
        from_fields=counts[FROM], sender_fields=counts[SENDER], unreadable=unreadable,
    )


def _fields_size(fields: tuple[tuple[str, str], ...]) -> int:
    return total_length(value for _, value in fields)


_author_of = kept_readings(_author_of_fields, size=_fields_size)


def _read_addresses_once(name: str, value: str) -> tuple[str, ...]:
    """The addresses the two parsers read in `value` (kept for short values: a sender's
    From repeats from message to message, and its readings never change)."""
    readings: list[str] = []
    if len(value) <= MAX_FIELD_CHARS:
        # hostile text the stdlib parsers trip on (a known weakness): the other readings
        with contextlib.suppress(Exception):
            header = _REGISTRY(name, value)
            readings += [a.addr_spec for a in getattr(header, "addresses", ())]
        with contextlib.suppress(Exception):
            readings += [address for _, address in getaddresses([value])]
    # a parser may leave display-name debris around the address: keep the address
    return tuple(_clean(m) for a in readings for m in _ADDRESS_SHAPE.findall(a) if _clean(m))


def _scanned_once(value: str) -> tuple[str, ...]:
    """Address-shaped text in the value and in its decoded encoded words."""
    texts = [value]
    with contextlib.suppress(Exception):  # a malformed encoded word: raw text scanned
        texts.append(str(make_header(decode_header(value))))
    return tuple(_clean(m) for text in texts for m in _ADDRESS_SHAPE.findall(text) if _clean(m))


_read_addresses = kept_readings(_read_addresses_once, size=lambda name, value: len(value))
_scanned = kept_readings(_scanned_once, size=len)


def _clean(address: str) -> str:
    return address.strip().strip("<>'").rstrip(".").lower()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
