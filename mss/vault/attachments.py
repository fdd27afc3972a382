"""The attachments of a message, walked without recursion and within bounds.

Only `multipart/*` containers are entered: a forwarded message (`message/rfc822`) is not
a document for this patient (MSS choice). Content types are sniffed from the bytes, not
taken from the declared header, since the declared type is the sender's word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits

PDF = "application/pdf"
ZIP = "application/zip"

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
)
DOCUMENT_TYPES = frozenset({PDF, "image/jpeg", "image/png", "image/tiff"})
"""Plain attachments the vault keeps as documents (docs/architecture.md §6: PDFs and images)."""

SIGNATURE_TYPES = frozenset({
    "application/pkcs7-signature", "application/x-pkcs7-signature",
    "application/pgp-signature",
})
"""Detached signatures (RFC 8551 §3.5, RFC 3156): part of the message, not documents."""

_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Attachment:
    file_name: str
    declared_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class AttachmentWalk:
    attachments: tuple[Attachment, ...]
    truncated: bool
    """True when the message had more attachments or nesting than the limits allow."""


def sniff_content_type(content: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def clean_file_name(name: str | None) -> str:
    """Last path segment, no control characters, at most 255 characters."""
    if not name:
        return ""
    base = re.split(r"[\\/]", name)[-1]
    return _UNSAFE_NAME_CHARS.sub("", base).strip()[:_MAX_NAME]


def _file_name(part: Message) -> str:
    try:
        return clean_file_name(part.get_filename())
    except Exception:  # the email package may fail on hostile RFC 2231 parameters
        return ""


def _is_attachment(part: Message, file_name: str) -> bool:
    if file_name:
        return True
    if part.get_content_disposition() == "attachment":
        return True
    return part.get_content_maintype() in ("application", "image")


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # malformed transfer encodings of hostile input
        return b""
    return payload if isinstance(payload, bytes) else b""


def collect_attachments(
    message: Message, limits: ExtractionLimits = DEFAULT_LIMITS
) -> AttachmentWalk:
    """Leaf parts that are attachments, in message order, depth-first."""
    found: list[Attachment] = []
    truncated = False
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        maintype = part.get_content_maintype()
        if maintype == "multipart":
            children = part.get_payload()
            if depth >= limits.max_mime_depth:
                truncated = True
                continue
            if isinstance(children, list):
                stack.extend((child, depth + 1) for child in reversed(children)
                             if isinstance(child, Message))
            continue
        if maintype == "message" or part.get_content_type() in SIGNATURE_TYPES:
            continue
        file_name = _file_name(part)
        if not _is_attachment(part, file_name):
            continue
        if len(found) >= limits.max_attachments:
            truncated = True
            break
        found.append(Attachment(file_name, part.get_content_type(), _payload(part)))
    return AttachmentWalk(tuple(found), truncated)
