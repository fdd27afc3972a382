"""Messages written in the webmail or given to the API, as RFC 5322 bytes for the
pipeline (which adds Message-ID and Date when missing, RFC 6409 §8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr

# Headers an application may set (MSSanté conventions and threading); others are refused.
ALLOWED_EXTRA_HEADERS = frozenset({"reply-to", "x-mss-mes", "x-mss-codecda", "x-mss-ins",
                                   "x-mss-nil", "in-reply-to", "references",
                                   "disposition-notification-to"})


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    filename: str
    content_type: str
    content: bytes


def compose(*, sender: str, sender_name: str, recipients: Sequence[str], subject: str,
            text: str, html: str | None = None, files: Sequence[OutgoingFile] = (),
            headers: Mapping[str, str] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((one_line(sender_name), sender)) if sender_name else sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = one_line(subject)
    for name, value in (headers or {}).items():
        message[name] = one_line(value)
    message.set_content(text or "")
    if html:
        message.add_alternative(html, subtype="html")
    for item in files:
        maintype, _, subtype = item.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(item.content, maintype=maintype, subtype=subtype,
                               filename=one_line(item.filename))
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def one_line(text: str) -> str:
    """A form field as one header value: CR, LF and NUL become spaces (RFC 5322 §2.2: a
    header field is one logical line), so a subject, a name or a file name can neither
    add a field (`\r\nBcc:`) nor make the message unwritable (a 500)."""
    return text.replace("\r\n", " ").translate(_LINE_BREAKS)


_LINE_BREAKS = {ord("\r"): " ", ord("\n"): " ", ord("\0"): " "}


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def address_ok(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return "@" in address
