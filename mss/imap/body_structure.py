"""BODY and BODYSTRUCTURE (RFC 3501 §7.4.2), from the raw message bytes.

Sizes are octets of the encoded body and line counts are counted on the raw bytes, so
they agree with what BODY[...] returns. Parameters go out as written (RFC 2231 forms
included); MD5 is the Content-MD5 field or NIL.
"""

from __future__ import annotations

from mss.imap.envelope import envelope_of
from mss.imap.mime_tree import ENCAPSULATING_TYPES, MimePart, parse_message, parse_parameters
from mss.imap.responses import NIL, render_list, render_nstring, render_string


def body_structure(raw: bytes, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE when `extensible`, else the non-extensible BODY form."""
    return body_structure_of(parse_message(raw), extensible)


def body_structure_of(part: MimePart, extensible: bool) -> bytes:
    if part.is_multipart:
        return _multipart(part, extensible)
    return _single_part(part, extensible)


def count_lines(body: bytes) -> int:
    """Lines of a body: each line break ends one, a last unterminated line counts too."""
    lines = body.count(b"\n")
    if body and not body.endswith(b"\n"):
        lines += 1
    return lines


def _multipart(part: MimePart, extensible: bool) -> bytes:
    """RFC 3501 §9 ``body-type-mpart``: parts, then subtype, then extension data."""
    pieces = b"".join(body_structure_of(child, extensible) for child in part.children)
    tail = [render_string(part.subtype.upper())]
    if extensible:
        tail += [
            _parameters(part),
            _disposition(part),
            _language(part),
            render_nstring(part.field_value("content-location")),
        ]
    return b"(" + pieces + b" " + b" ".join(tail) + b")"


def _single_part(part: MimePart, extensible: bool) -> bytes:
    """RFC 3501 §9 ``body-type-1part``: basic, message/rfc822 or text."""
    body = part.body
    encoding = part.field_value("content-transfer-encoding")
    items = [
        render_string(part.main_type.upper()),
        render_string(part.subtype.upper()),
        _parameters(part),
        render_nstring(part.field_value("content-id")),
        render_nstring(part.field_value("content-description")),
        render_string(encoding.upper() if encoding else b"7BIT"),
        b"%d" % len(body),
    ]
    if (part.main_type, part.subtype) in ENCAPSULATING_TYPES and part.message is not None:
        items += [
            envelope_of(part.message),
            body_structure_of(part.message, extensible),
            b"%d" % count_lines(body),
        ]
    elif part.main_type == "text":
        items.append(b"%d" % count_lines(body))
    if extensible:
        items += [
            render_nstring(part.field_value("content-md5")),
            _disposition(part),
            _language(part),
            render_nstring(part.field_value("content-location")),
        ]
    return render_list(items)


def _parameters(part: MimePart) -> bytes:
    """``("CHARSET" "UTF-8")``; a text part without Content-Type is US-ASCII (RFC 2045 §5.2)."""
    parameters = part.parameters
    if not part.content_type_given and part.main_type == "text":
        parameters = [("CHARSET", "US-ASCII")]
    return _render_parameters(parameters)


def _render_parameters(parameters: list[tuple[str, str]]) -> bytes:
    if not parameters:
        return NIL
    rendered = []
    for name, value in parameters:
        rendered.append(render_string(name.upper().encode("latin-1")))
        rendered.append(render_string(value.encode("latin-1")))
    return render_list(rendered)


def _disposition(part: MimePart) -> bytes:
    """``("ATTACHMENT" ("FILENAME" "a.pdf"))`` (RFC 2183, RFC 3501 §9 ``body-fld-dsp``)."""
    value = part.field_value("content-disposition")
    if value is None:
        return NIL
    text = value.decode("latin-1")
    kind, _, rest = text.partition(";")
    if not kind.strip():
        return NIL
    parameters = parse_parameters(";" + rest) if rest else []
    return render_list(
        [render_string(kind.strip().upper().encode("latin-1")), _render_parameters(parameters)]
    )


def _language(part: MimePart) -> bytes:
    """RFC 3282 Content-Language as a list of tags, or NIL."""
    value = part.field_value("content-language")
    if value is None:
        return NIL
    tags = [tag.strip() for tag in value.split(b",") if tag.strip()]
    if not tags:
        return NIL
    return render_list(render_string(tag) for tag in tags)
