"""FETCH item grammar (RFC 3501 §6.4.5 and §9 ``fetch-att``, RFC 3516, RFC 7162)."""

from __future__ import annotations

from mss.imap.fetch_attributes import MACROS, SIMPLE_ATTRIBUTES, FetchAttribute, Section
from mss.imap.wire_cursor import ATOM_SPECIALS, WireCursor, WireSyntaxError

_SECTION_NAMES = frozenset({"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"})
_NAME_END = ATOM_SPECIALS | {ord("["), ord("<")}


def parse_fetch_items(cursor: WireCursor) -> tuple[FetchAttribute, ...]:
    """A macro, one attribute, or a parenthesised list of attributes."""
    if cursor.accept(b"("):
        items = [_attribute(cursor)]
        while cursor.accept(b" "):
            items.append(_attribute(cursor))
        cursor.expect(b")")
        return tuple(items)
    start = cursor.pos
    name = _name(cursor)
    if name in MACROS:
        return tuple(FetchAttribute(item) for item in MACROS[name])
    cursor.pos = start
    return (_attribute(cursor),)


def _name(cursor: WireCursor) -> str:
    start = cursor.pos
    data = cursor.data
    while cursor.pos < len(data) and data[cursor.pos] not in _NAME_END and data[cursor.pos] < 0x80:
        cursor.pos += 1
    if cursor.pos == start:
        raise WireSyntaxError("expected a fetch attribute")
    return data[start : cursor.pos].decode("ascii").upper()


def _attribute(cursor: WireCursor) -> FetchAttribute:
    name = _name(cursor)
    if name in _SECTION_NAMES and cursor.peek() == b"[":
        peek = name.endswith(".PEEK")
        base = name.removesuffix(".PEEK")
        section = _section(cursor, binary=base != "BODY")
        partial = None
        if base != "BINARY.SIZE" and cursor.accept(b"<"):
            origin = cursor.number()
            cursor.expect(b".")
            partial = (origin, cursor.nz_number())
            cursor.expect(b">")
        return FetchAttribute(base, section, partial, peek)
    if name in SIMPLE_ATTRIBUTES:
        return FetchAttribute(name)
    raise WireSyntaxError(f"unknown fetch attribute {name}")


def _section(cursor: WireCursor, binary: bool) -> Section:
    """RFC 3501 §9 ``section``; RFC 3516 ``section-binary`` allows part numbers only."""
    cursor.expect(b"[")
    parts: list[int] = []
    while cursor.peek().isdigit():
        parts.append(cursor.nz_number())
        if not cursor.accept(b"."):
            break
    text: str | None = None
    fields: tuple[str, ...] = ()
    if not cursor.accept(b"]"):
        if binary:
            raise WireSyntaxError("BINARY takes part numbers only")
        if parts and cursor.data[cursor.pos - 1 : cursor.pos] != b".":
            raise WireSyntaxError("expected '.' after the part number")
        text = _name(cursor)
        if text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            cursor.space()
            fields = _header_list(cursor)
        elif text == "MIME":
            if not parts:
                raise WireSyntaxError("MIME needs a part number")
        elif text not in ("HEADER", "TEXT"):
            raise WireSyntaxError(f"unknown section text {text}")
        cursor.expect(b"]")
    elif parts and cursor.data[cursor.pos - 2 : cursor.pos - 1] == b".":
        raise WireSyntaxError("trailing '.' in a section")
    return Section(tuple(parts), text, fields)


def _header_list(cursor: WireCursor) -> tuple[str, ...]:
    """RFC 3501 §9 ``header-list``: ``(astring *(SP astring))``."""
    cursor.expect(b"(")
    names = [cursor.astring()]
    while cursor.accept(b" "):
        names.append(cursor.astring())
    cursor.expect(b")")
    try:
        return tuple(name.decode("ascii") for name in names)
    except UnicodeDecodeError as exc:
        raise WireSyntaxError("header names are ASCII") from exc
