"""A MIME tree over the raw message bytes, by offsets (RFC 2045, RFC 2046, RFC 5322).

Nothing is re-serialised: every part knows where its header and body start and end in
the original bytes, so that sizes, line counts and sections are exact (RFC 3501
§6.4.5, §7.4.2). Malformed input never raises: a missing or broken Content-Type is
``text/plain`` (RFC 2045 §5.2), a multipart without a usable boundary or parts is a
leaf, and nesting is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_MIME_DEPTH = 40
"""Deeper nesting is treated as an opaque leaf, so that hostile input cannot recurse."""

_FIELD_NAME = re.compile(rb"[!-9;-~]+[ \t]*:")
_TOKEN_TYPE = re.compile(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*/\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)")
ENCAPSULATING_TYPES = frozenset({("message", "rfc822"), ("message", "global")})


@dataclass(frozen=True)
class HeaderField:
    """One field: lower-case name and the span of its lines, folding included."""

    name: str
    start: int
    value_start: int
    end: int


@dataclass
class MimePart:
    """An entity (message or body part): header ``raw[start:body_start]``, body after."""

    raw: bytes
    start: int
    body_start: int
    end: int
    fields: list[HeaderField]
    main_type: str = "text"
    subtype: str = "plain"
    parameters: list[tuple[str, str]] = field(default_factory=list)
    content_type_given: bool = False
    children: list[MimePart] = field(default_factory=list)
    message: MimePart | None = None

    @property
    def header(self) -> bytes:
        """The header including the blank line that ends it (RFC 3501 BODY[HEADER])."""
        return self.raw[self.start : self.body_start]

    @property
    def body(self) -> bytes:
        return self.raw[self.body_start : self.end]

    @property
    def is_multipart(self) -> bool:
        return bool(self.children)

    def field_value(self, name: str) -> bytes | None:
        """The first field called `name`, unfolded, leading and trailing space removed."""
        lowered = name.lower()
        for header_field in self.fields:
            if header_field.name == lowered:
                return unfold(self.raw[header_field.value_start : header_field.end])
        return None

    def field_values(self, name: str) -> list[bytes]:
        lowered = name.lower()
        return [
            unfold(self.raw[item.value_start : item.end])
            for item in self.fields
            if item.name == lowered
        ]

    def parameter(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.parameters:
            if key.lower() == lowered:
                return value
        return None


def unfold(value: bytes) -> bytes:
    """RFC 5322 §2.2.3: remove the CRLF of folded lines, keep the white space."""
    return value.replace(b"\r\n", b"").replace(b"\n", b"").strip(b" \t\r")


def parse_message(raw: bytes) -> MimePart:
    """The MIME tree of a whole message."""
    return _parse_entity(raw, 0, len(raw), depth=0, default_type=("text", "plain"))


def parse_header_only(raw: bytes) -> MimePart:
    """The top-level header, without looking at the body (enough for ENVELOPE)."""
    fields, body_start = _parse_header(raw, 0, len(raw))
    return MimePart(raw, 0, body_start, len(raw), fields)


def _parse_header(raw: bytes, start: int, end: int) -> tuple[list[HeaderField], int]:
    """Fields and the offset where the body starts (after the empty line).

    A line that is neither a field nor a continuation ends the header (the body starts
    on it), which is what a lenient reader of RFC 5322 §2.2 does with broken input.
    """
    fields: list[HeaderField] = []
    pos = start
    current: tuple[str, int, int] | None = None
    while pos < end:
        newline = raw.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline + 1
        line = raw[pos:line_end]
        if line in (b"\r\n", b"\n", b"\r"):
            if current:
                fields.append(HeaderField(current[0], current[1], current[2], pos))
            return fields, line_end
        if line[:1] in (b" ", b"\t") and current is not None:
            pos = line_end
            continue
        match = _FIELD_NAME.match(line)
        if match is None:
            if current:
                fields.append(HeaderField(current[0], current[1], current[2], pos))
            return fields, pos
        if current:
            fields.append(HeaderField(current[0], current[1], current[2], pos))
        name = match.group()[:-1].rstrip(b" \t").decode("ascii").lower()
        current = (name, pos, pos + match.end())
        pos = line_end
    if current:
        fields.append(HeaderField(current[0], current[1], current[2], end))
    return fields, end


def _parse_entity(
    raw: bytes, start: int, end: int, depth: int, default_type: tuple[str, str]
) -> MimePart:
    fields, body_start = _parse_header(raw, start, end)
    part = MimePart(raw, start, body_start, end, fields)
    content_type = part.field_value("content-type")
    main_type, subtype = default_type
    if content_type is not None:
        parsed = parse_content_type(content_type.decode("latin-1"))
        if parsed is not None:
            main_type, subtype, part.parameters = parsed
            part.content_type_given = True
        else:
            main_type, subtype = "text", "plain"  # RFC 2045 §5.2
    part.main_type, part.subtype = main_type, subtype
    if depth >= MAX_MIME_DEPTH:
        return part
    if main_type == "multipart":
        boundary = part.parameter("boundary")
        children = _split_multipart(raw, part, boundary, depth) if boundary else []
        if children:
            part.children = children
        else:
            _make_plain_text(part)
    elif (main_type, subtype) in ENCAPSULATING_TYPES:
        part.message = _parse_entity(raw, body_start, end, depth + 1, ("text", "plain"))
    return part


def _make_plain_text(part: MimePart) -> None:
    """A multipart that cannot be split is shown as one text/plain leaf."""
    part.main_type, part.subtype = "text", "plain"
    part.parameters = []
    part.content_type_given = False


def _split_multipart(raw: bytes, parent: MimePart, boundary: str, depth: int) -> list[MimePart]:
    """RFC 2046 §5.1.1: delimiters are ``--boundary`` lines; the CRLF before one belongs
    to it; ``--boundary--`` closes; preamble and epilogue are not parts."""
    try:
        marker = boundary.encode("ascii")
    except UnicodeEncodeError:
        return []
    if not marker or len(marker) > 200:
        return []
    delimiter = re.compile(rb"^--" + re.escape(marker) + rb"(--)?[ \t]*\r?$", re.MULTILINE)
    default = ("message", "rfc822") if parent.subtype == "digest" else ("text", "plain")
    children: list[MimePart] = []
    part_start: int | None = None
    for match in delimiter.finditer(raw, parent.body_start, parent.end):
        if part_start is not None:
            part_end = max(part_start, _before_line_break(raw, match.start()))
            children.append(_parse_entity(raw, part_start, part_end, depth + 1, default))
        if match.group(1):
            part_start = None
            break
        part_start = min(match.end() + 1, parent.end)
    if part_start is not None:
        children.append(_parse_entity(raw, part_start, parent.end, depth + 1, default))
    return children


def _before_line_break(raw: bytes, position: int) -> int:
    if raw[position - 2 : position] == b"\r\n":
        return position - 2
    if raw[position - 1 : position] == b"\n":
        return position - 1
    return position


def parse_content_type(value: str) -> tuple[str, str, list[tuple[str, str]]] | None:
    """``text/plain; charset="utf-8"`` → ("text", "plain", [("charset", "utf-8")])."""
    match = _TOKEN_TYPE.match(value)
    if match is None:
        return None
    rest = value[match.end() :]
    if rest.strip() and not rest.lstrip().startswith(";"):
        return None
    return match.group(1).lower(), match.group(2).lower(), parse_parameters(rest)


def parse_parameters(text: str) -> list[tuple[str, str]]:
    """RFC 2045 §5.1 ``*(";" parameter)``, values unquoted, names as written.

    RFC 2231 forms (``name*0*=...``) are kept as written: they go to the client as is.
    Garbage between parameters is skipped rather than refused.
    """
    parameters: list[tuple[str, str]] = []
    pos = 0
    length = len(text)
    while pos < length:
        semicolon = text.find(";", pos)
        if semicolon < 0:
            break
        pos = semicolon + 1
        equals = text.find("=", pos)
        next_semicolon = text.find(";", pos)
        if equals < 0 or (0 <= next_semicolon < equals):
            continue
        name = text[pos:equals].strip()
        pos = equals + 1
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos < length and text[pos] == '"':
            value, pos = _quoted_value(text, pos + 1)
        else:
            stop = text.find(";", pos)
            stop = length if stop < 0 else stop
            value = text[pos:stop].strip()
            pos = stop
        if name and " " not in name:
            parameters.append((name, value))
    return parameters


def _quoted_value(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if char == '"':
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    return "".join(out), pos
