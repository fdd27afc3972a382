"""BODY[section]<partial> and BINARY[section] contents (RFC 3501 §6.4.5, RFC 3516 §4).

Sections are cut from the raw bytes. Part numbering (RFC 3501 §6.4.5): the parts of a
message are the parts of its multipart body, or the message itself (part 1) when the
body is not multipart; a message/rfc822 part is numbered like the message it holds.
A section that does not exist gives ``b""``.
"""

from __future__ import annotations

import base64
import binascii
import re

from mss.imap.fetch_attributes import Section
from mss.imap.mime_tree import MimePart, parse_message


class UnknownTransferEncoding(ValueError):
    """BINARY of a part whose encoding cannot be undone (RFC 3516 ``[UNKNOWN-CTE]``)."""


def rfc822_size(raw: bytes) -> int:
    """RFC822.SIZE: the exact number of octets of the message (RFC 3501 §7.4.2)."""
    return len(raw)


def body_section(raw: bytes, section: Section, partial: tuple[int, int] | None = None) -> bytes:
    """The octets of BODY[`section`]<`partial`> of the message `raw`."""
    return _slice(section_of(parse_message(raw), section), partial)


def section_of(root: MimePart, section: Section) -> bytes:
    """Section contents from a parsed tree (so one parse serves several items)."""
    if not section.parts:
        if section.text is None:
            return root.raw[root.start : root.end]
        return _message_text(root, section)
    part = find_part(root, section.parts)
    if part is None:
        return b""
    if section.text is None:
        return part.body
    if section.text == "MIME":
        return part.header
    if part.message is None:
        return b""
    return _message_text(part.message, section)


def find_part(root: MimePart, numbers: tuple[int, ...]) -> MimePart | None:
    """The entity named by part numbers ``1.2.3``, or ``None``."""
    candidates = _message_parts(root)
    part: MimePart | None = None
    for number in numbers:
        if not 1 <= number <= len(candidates):
            return None
        part = candidates[number - 1]
        if part.is_multipart:
            candidates = part.children
        elif part.message is not None:
            candidates = _message_parts(part.message)
        else:
            candidates = []
    return part


def _message_parts(message: MimePart) -> list[MimePart]:
    return message.children if message.is_multipart else [message]


def _message_text(message: MimePart, section: Section) -> bytes:
    if section.text == "HEADER":
        return message.header
    if section.text == "TEXT":
        return message.body
    if section.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        return header_fields(message, section.fields, section.text == "HEADER.FIELDS.NOT")
    return b""


def header_fields(message: MimePart, names: tuple[str, ...], exclude: bool) -> bytes:
    """The chosen fields with their folding, then the blank line (RFC 3501 §6.4.5);
    names compare without regard to case."""
    wanted = {name.lower() for name in names}
    kept = [
        message.raw[item.start : item.end]
        for item in message.fields
        if (item.name in wanted) != exclude
    ]
    return b"".join(line if line.endswith(b"\n") else line + b"\r\n" for line in kept) + b"\r\n"


def binary_section(
    raw: bytes, parts: tuple[int, ...], partial: tuple[int, int] | None = None
) -> bytes:
    """BINARY[`parts`]<`partial`>: the body with its transfer encoding undone (RFC 3516)."""
    return _slice(decoded_body_of(parse_message(raw), parts), partial)


def decoded_body_of(root: MimePart, parts: tuple[int, ...]) -> bytes:
    """The decoded body of a part (the whole message when `parts` is empty)."""
    if not parts:
        return root.raw[root.start : root.end]
    part = find_part(root, parts)
    if part is None:
        return b""
    if part.is_multipart or part.message is not None:
        return part.body
    return decode_transfer_encoding(part)


def decode_transfer_encoding(part: MimePart) -> bytes:
    """Undo base64 or quoted-printable (RFC 2045 §6); identity encodings pass."""
    value = part.field_value("content-transfer-encoding")
    encoding = value.decode("latin-1").strip().lower() if value else "7bit"
    body = part.body
    if encoding == "base64":
        try:
            return base64.b64decode(b"".join(body.split()) + b"==", validate=False)
        except (binascii.Error, ValueError) as exc:
            raise UnknownTransferEncoding("invalid base64") from exc
    if encoding == "quoted-printable":
        return decode_quoted_printable(body)
    if encoding in ("7bit", "8bit", "binary"):
        return body
    raise UnknownTransferEncoding(f"unknown transfer encoding {encoding}")


_QP_LINE = re.compile(rb"([^\r\n]*)(\r\n|\n|\r)?")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_quoted_printable(body: bytes) -> bytes:
    """RFC 2045 §6.7: trailing spaces and tabs of each encoded line are removed (rule
    3), a line then ending in ``=`` is a soft break (rule 5), so ``= `` at the end of a
    line joins it to the next; ``=XY`` is an octet (lower-case hex accepted, as the RFC
    advises of robust decoders); other ``=`` are kept. Line breaks become CRLF."""
    out = bytearray()
    for match in _QP_LINE.finditer(body):
        text, line_break = match.group(1), match.group(2)
        if not text and not line_break:
            continue
        text = text.rstrip(b" \t")
        soft = text.endswith(b"=")
        if soft:
            text = text[:-1]
        out += _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text)
        if line_break and not soft:
            out += b"\r\n"
    return bytes(out)


def _slice(data: bytes, partial: tuple[int, int] | None) -> bytes:
    """RFC 3501 §6.4.5 ``<origin.length>``: an origin beyond the end gives nothing."""
    if partial is None:
        return data
    origin, length = partial
    return data[origin : origin + length]
