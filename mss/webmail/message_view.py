"""A stored message as a page shows it: text parts, sanitised HTML, attachments.

HTML parts go through nh3 (ammonia): no scripts, no forms, no images (so no remote
image can track the reader), no style attributes or <style> (nothing that loads),
links only to http(s)/mailto and opened without referrer. The page's CSP is a second
wall. The `XDM/1.0/DDM+` subject prefix is hidden (docs/architecture.md §9, message conventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import nh3

from mss.store.header_dates import parse_header_date
from mss.store.header_fields import address_pairs, field_text, field_values
from mss.vault.subject import strip_xdm_prefix

ALLOWED_TAGS = (nh3.ALLOWED_TAGS - {"img"}) | {"span", "div", "p", "br", "table", "tr",
                                              "td", "th", "thead", "tbody"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"},
                      "th": {"colspan", "rowspan"}, "abbr": {"title"}}


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MessageView:
    subject: str
    from_name: str
    from_addr: str
    date: datetime | None
    texts: list[str]
    html: list[str]
    attachments: list[AttachmentInfo]
    message_id: str


def display_subject(subject: str) -> str:
    return strip_xdm_prefix(subject or "").strip() or "(sans objet)"


def sanitise_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


def _leaves(message: EmailMessage) -> list[EmailMessage]:
    return [p for p in message.walk() if not p.is_multipart()]  # type: ignore[misc]


def _filename(part: EmailMessage) -> str | None:
    """The part's file name; None when its parameters cannot be read (a NUL in an RFC 2231
    charset name makes the stdlib raise): the page then names it by position."""
    try:
        return part.get_filename()
    except Exception:
        return None


def _is_attachment(part: EmailMessage) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:  # an unreadable Content-Disposition: judged by the type below
        disposition = None
    if disposition == "attachment" or _filename(part):
        return True
    return part.get_content_maintype() not in ("text",) or part.get_content_subtype() not in (
        "plain", "html")


def _payload(part: EmailMessage) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a transfer encoding the stdlib cannot undo: nothing to show
        return b""
    return data if isinstance(data, bytes) else b""


def _text(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except Exception:  # unknown charset or encoding, broken bytes: shown as UTF-8
        return _payload(part).decode("utf-8", "replace")


def _body(message: EmailMessage, *, with_html: bool = True
          ) -> tuple[list[str], list[str], list[AttachmentInfo]]:
    """Texts, sanitised HTML parts and attachments of a parsed message, in order."""
    texts: list[str] = []
    html: list[str] = []
    attachments: list[AttachmentInfo] = []
    for index, part in enumerate(_leaves(message)):
        if _is_attachment(part):
            attachments.append(AttachmentInfo(
                index, _filename(part) or f"piece-jointe-{index}",
                part.get_content_type(), len(_payload(part))))
        elif part.get_content_subtype() == "html":
            if with_html:
                html.append(sanitise_html(_text(part)))
        else:
            texts.append(_text(part))
    return texts, html, attachments


def message_texts(raw: bytes) -> list[str]:
    """Only the plain texts of a message, for a conversation page: no header field is
    parsed (policy.default parses each one read, the larger part of view_message's cost)."""
    return _body(parse(raw), with_html=False)[0]


def view_message(raw: bytes) -> MessageView:
    message = parse(raw)
    texts, html, attachments = _body(message)
    if html and texts:
        html = []  # multipart/alternative: the text version is the safer one to show
    pairs = address_pairs(field_values(message, "From")[:1])
    name, address = pairs[0] if pairs else ("", "")
    date = parse_header_date(field_text(message, "Date") or None)
    return MessageView(display_subject(field_text(message, "Subject")), name, address.lower(),
                       date, texts, html, attachments, field_text(message, "Message-ID"))


def attachment_content(raw: bytes, index: int) -> tuple[AttachmentInfo, bytes] | None:
    leaves = _leaves(parse(raw))
    if not 0 <= index < len(leaves) or not _is_attachment(leaves[index]):
        return None
    part = leaves[index]
    data = _payload(part)
    info = AttachmentInfo(index, _filename(part) or f"piece-jointe-{index}",
                          part.get_content_type(), len(data))
    return info, data
