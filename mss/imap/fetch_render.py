"""FETCH response items for one message (RFC 3501 §7.4.2, RFC 3516, RFC 7162), pure.

The session decides which messages and loads their bytes; this module only renders.
Body contents always go out as literals: ``~{n}`` for BINARY content holding NUL
(RFC 3516 §4.3); a plain literal never carries NUL (RFC 3501 §4.3), so BODY and RFC822
items have each NUL replaced by 0x80, as Dovecot does (the size is unchanged, so
RFC822.SIZE and partial fetches stay consistent).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from mss.imap.body_section import UnknownTransferEncoding, decoded_body_of, section_of
from mss.imap.body_structure import body_structure_of
from mss.imap.envelope import envelope_of
from mss.imap.fetch_attributes import FetchAttribute, Section
from mss.imap.mime_tree import MimePart, parse_header_only, parse_message
from mss.imap.responses import (
    ImapNo,
    render_flags,
    render_internal_date,
    render_literal,
)
from mss.store.entry_reads import EntryInfo

METADATA_ATTRIBUTES = frozenset({"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "MODSEQ",
                                 "EMAILID", "THREADID", "SAVEDATE"})
HEADER_ONLY_ATTRIBUTES = frozenset({"ENVELOPE", "RFC822.HEADER"})
STRUCTURE_ATTRIBUTES = frozenset({"BODY", "BODYSTRUCTURE"})  # without a section


def needs_content(attributes: Sequence[FetchAttribute]) -> bool:
    """Whether any attribute needs the message bytes (the blob is read only then)."""
    return any(a.name not in METADATA_ATTRIBUTES for a in attributes)


def needs_only_header(attributes: Sequence[FetchAttribute]) -> bool:
    """Whether the header section is all the content asked for (ENVELOPE, the header
    fetches mail clients list folders with): it is kept sealed beside the row."""
    for attribute in attributes:
        name = attribute.name
        if name in METADATA_ATTRIBUTES or name in HEADER_ONLY_ATTRIBUTES:
            continue
        if name == "BODY" and attribute.section is not None and _top_header(attribute.section):
            continue
        return False
    return True


def needs_only_structure(attributes: Sequence[FetchAttribute]) -> bool:
    """Whether the content asked for is ENVELOPE, BODY or BODYSTRUCTURE (what clients
    list folders with): kept rendered by blob key (`RenderedCache`), so a message whose
    structures are cached needs no more than its header (ENVELOPE, the read's audit)."""
    return any(a.name in STRUCTURE_ATTRIBUTES for a in attributes) and all(
        a.name in METADATA_ATTRIBUTES or a.name == "ENVELOPE"
        or (a.name in STRUCTURE_ATTRIBUTES and a.section is None) for a in attributes)


def structures_cached(attributes: Sequence[FetchAttribute], entry: EntryInfo) -> bool:
    """Whether every BODY / BODYSTRUCTURE asked for is rendered in STRUCTURES: then
    `fetch_items` renders the entry from its header alone."""
    return all(f"{entry.blob_key} {a.name}" in STRUCTURES for a in attributes
               if a.name in STRUCTURE_ATTRIBUTES and a.section is None)


def _top_header(section: Section) -> bool:
    """BODY[HEADER], BODY[HEADER.FIELDS (...)], BODY[HEADER.FIELDS.NOT (...)] of the
    message itself: the header section is enough."""
    return not section.parts and section.text in ("HEADER", "HEADER.FIELDS",
                                                   "HEADER.FIELDS.NOT")


def reads_message(attributes: Sequence[FetchAttribute]) -> bool:
    """Whether the fetch shows header or body content (an audited read, docs/architecture.md §5)."""
    return any(
        (a.name not in METADATA_ATTRIBUTES and a.name not in ("BODYSTRUCTURE", "BODY"))
        or (a.name == "BODY" and a.section is not None)
        for a in attributes
    )


class _Parsed:
    """The message parsed at most once, header-only when that is enough."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._tree: MimePart | None = None
        self._header: MimePart | None = None

    @property
    def tree(self) -> MimePart:
        if self._tree is None:
            self._tree = parse_message(self.raw)
        return self._tree

    @property
    def header(self) -> MimePart:
        if self._tree is not None:
            return self._tree
        if self._header is None:
            self._header = parse_header_only(self.raw)
        return self._header


def _cut(data: bytes, partial: tuple[int, int] | None) -> bytes:
    if partial is None:
        return data
    origin, length = partial
    return data[origin : origin + length]


class RenderedCache:
    """Rendered bytes by blob key, least recently used out first, within a byte budget.

    Clients list folders by ENVELOPE and BODYSTRUCTURE over and over (Dovecot keeps
    both in its index cache); a blob key names one content in one mailbox, and content
    never changes, so an entry never goes stale. Budgeted in bytes: one message may name
    thousands of recipients or parts."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self.used = 0

    def get(self, key: str, render: Callable[[], bytes]) -> bytes:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        found = render()
        if len(found) <= self.budget // 100:
            self._items[key] = found
            self.used += len(found)
            while self.used > self.budget:
                _, dropped = self._items.popitem(last=False)
                self.used -= len(dropped)
        return found


ENVELOPES = RenderedCache(16 * 1024 * 1024)  # about 50,000 ordinary envelopes
STRUCTURES = RenderedCache(16 * 1024 * 1024)  # BODY and BODYSTRUCTURE, as many again


def fetch_items(
    attributes: Sequence[FetchAttribute], entry: EntryInfo, raw: bytes | None,
    *, flags: frozenset[str] | None = None, with_modseq: bool = False,
    save_date: datetime | None = None,
) -> list[tuple[bytes, bytes]]:
    """(name, value) pairs for `fetch_response`, in the order asked (UID first)."""
    parsed = _Parsed(raw) if raw is not None else None
    shown_flags = entry.flags if flags is None else flags
    items: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()

    def add(name: str, value: bytes) -> None:
        key = name.encode("ascii")
        if key not in seen:
            seen.add(key)
            items.append((key, value))

    if any(a.name == "UID" for a in attributes):
        add("UID", b"%d" % entry.uid)
    for attribute in attributes:
        name = attribute.name
        if name == "UID":
            continue
        if name == "FLAGS":
            add(name, render_flags(sorted(shown_flags)))
        elif name == "INTERNALDATE":
            add(name, render_internal_date(entry.internal_date))
        elif name == "SAVEDATE":  # RFC 8514 §4.1
            add(name, render_internal_date(save_date or entry.internal_date))
        elif name == "RFC822.SIZE":
            add(name, b"%d" % entry.size)
        elif name == "MODSEQ":
            add(name, b"(%d)" % entry.modseq)
        elif name == "EMAILID":
            add(name, b"(" + email_object_id(entry.message_id) + b")")
        elif name == "THREADID":
            add(name, b"NIL")  # RFC 8474 §5.2: threads are not kept
        elif name == "ENVELOPE":
            assert parsed is not None
            add(name, ENVELOPES.get(entry.blob_key, lambda: envelope_of(parsed.header)))
        elif name in ("BODY", "BODYSTRUCTURE") and attribute.section is None:
            assert parsed is not None
            add(name, STRUCTURES.get(f"{entry.blob_key} {name}",
                                     partial(_structure, parsed, name == "BODYSTRUCTURE")))
        else:
            assert parsed is not None
            add(attribute.response_name(), _content_item(attribute, parsed))
    if with_modseq and b"MODSEQ" not in seen:
        add("MODSEQ", b"(%d)" % entry.modseq)
    return items


def _structure(parsed: _Parsed, extensible: bool) -> bytes:
    return body_structure_of(parsed.tree, extensible=extensible)


def _content_item(attribute: FetchAttribute, parsed: _Parsed) -> bytes:
    name = attribute.name
    if name == "ENVELOPE":
        return envelope_of(parsed.header)
    if name in ("BODY", "BODYSTRUCTURE") and attribute.section is None:
        return body_structure_of(parsed.tree, extensible=name == "BODYSTRUCTURE")
    if name == "RFC822":
        return _text_literal(parsed.raw)
    if name == "RFC822.HEADER":
        return _text_literal(parsed.header.header)
    if name == "RFC822.TEXT":
        return _text_literal(parsed.tree.body)
    section = attribute.section or Section()
    if name == "BODY":
        if not section.parts and section.text is None:
            # RFC 3501 §6.4.5: BODY[] is the whole message, as stored: no MIME parse
            return _text_literal(_cut(parsed.raw, attribute.partial))
        if _top_header(section):
            data = section_of(parsed.header, section)
        else:
            data = section_of(parsed.tree, section)
        return _text_literal(_cut(data, attribute.partial))
    try:
        decoded = decoded_body_of(parsed.tree, section.parts)
    except UnknownTransferEncoding as exc:
        raise ImapNo("UNKNOWN-CTE", str(exc)) from exc  # RFC 3516 §4.2
    if name == "BINARY.SIZE":
        return b"%d" % len(decoded)
    data = _cut(decoded, attribute.partial)
    return render_literal(data, binary=b"\x00" in data)


def email_object_id(message_id: int) -> bytes:
    """RFC 8474 §5.1 EMAILID: the stored message's id, shared by its copies in the
    mailbox (COPY and MOVE keep it; another mailbox holds its own copy, its own id)."""
    return b"M%d" % message_id


def mailbox_object_id(folder_id: int) -> bytes:
    """RFC 8474 §4 MAILBOXID: the folder's id, which RENAME keeps."""
    return b"F%d" % folder_id


def _text_literal(data: bytes) -> bytes:
    """A plain literal, which must not hold NUL (see the module docstring)."""
    return render_literal(data.replace(b"\x00", b"\x80") if b"\x00" in data else data)


def implied_seen_flags(flags: frozenset[str]) -> frozenset[str]:
    return flags | {"\\Seen"}


def render_flags_item(flags: frozenset[str]) -> tuple[bytes, bytes]:
    return (b"FLAGS", render_flags(sorted(flags)))
