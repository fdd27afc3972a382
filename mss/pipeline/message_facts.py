"""Parse a message once and read the facts the policy decides on (docs/architecture.md §1).

The parser is the standard library's with `policy.default` (its header factory made
cheaper, see `HeaderFactory`); the size is bounded before parsing by the caller.
Malformed MIME never raises here: a part the parser cannot make sense of is judged on
what can be read of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from email.policy import default as default_policy
from functools import lru_cache

from mss.policy import Attachment
from mss.store.header_fields import address_pairs
from mss.store.header_summary import summarise_headers
from mss.vault.cda import looks_like_xml, read_cda_header
from mss.vault.errors import VaultExtractionError
from mss.vault.limits import DEFAULT_LIMITS
from mss.vault.xdm_archive import is_xdm_archive_name, read_xdm_archive
from mss.vault.xdm_metadata import parse_xdm_metadata

LEADING_BYTES = 512
MAX_ATTACHMENTS = 200
ZIP_MAGIC = b"PK\x03\x04"


MEMO_VALUE_CHARS = 1000  # longer header values are parsed each time, not kept
MEMO_HEADERS = 1024


class HeaderFactory(HeaderRegistry):
    """`policy.default`'s header registry with the same results, at a fraction of the
    cost (docs/design-notes.md, Performance: header parsing was a quarter of the MX's CPU):
    - the stdlib builds a new class on every header read (`type(...)` in `__getitem__`);
      here each is built once per registered kind;
    - the stdlib parses a header again each time it is read (Content-Type 7 times per
      message); here a parsed header is kept by (name, value): header objects are
      immutable strings, and the same text always parses to the same object. A value
      that fails to parse raises each time, as before.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[type, type] = {}
        self._parsed: Callable[[str, str], BaseHeader] = lru_cache(MEMO_HEADERS)(self._parse)

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        built = self._classes.get(kind)
        if built is None:
            built = self._classes[kind] = super().__getitem__(name)
        return built

    def _parse(self, name: str, value: str) -> BaseHeader:
        return self[name](name, value)  # type: ignore[no-any-return]

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > MEMO_VALUE_CHARS:
            return self._parse(name, value)
        return self._parsed(name, value)


PARSING_POLICY = default_policy.clone(header_factory=HeaderFactory())


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    message: EmailMessage
    subject: str
    x_mss_mes: tuple[str, ...]
    reply_to: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    message_id: str


def parse_message(raw: bytes) -> ParsedMessage:
    """Facts of `raw`; when the modern header parser fails on hostile input (stdlib
    IndexError, AttributeError or ValueError on `Message-ID: <`, a NUL in an RFC 2231
    charset...), the message is read again with the compat32 policy, whose headers stay
    plain strings, so that one crafted header cannot make a message undeliverable."""
    try:
        return _facts(parse_modern(raw), raw)
    except Exception:
        return _facts(BytesParser(_class=EmailMessage, policy=compat32).parsebytes(raw), raw)


def parse_modern(raw: bytes) -> Message:
    """`BytesParser(policy=PARSING_POLICY).parsebytes(raw)`, the same message, cheaper
    for a single-part one: the header section is parsed alone and the rest becomes the
    payload as the parser would make it (all the text after the headers), instead of
    the parser splitting a body it does not look into line by line (docs/design-notes.md,
    Performance).
    Multipart and message/* bodies, and header sections that end before the first
    CRLF CRLF (or lack one), take the parser's whole path."""
    end = raw.find(b"\r\n\r\n")
    if end >= 0:
        head = BytesParser(policy=PARSING_POLICY).parsebytes(raw[: end + 4], headersonly=True)
        # the usual case: the header section ends at that empty line (nothing left of
        # the block for the body) and the body is not one the parser splits into parts
        if head.get_payload() == "" and head.get_content_maintype() not in _NESTED:
            head.set_payload(raw[end + 4:].decode("ascii", "surrogateescape"))
            return head
    return BytesParser(policy=PARSING_POLICY).parsebytes(raw)


_NESTED = frozenset({"multipart", "message"})  # the parser's own branches (feedparser)
# Headers policy.default parses with a grammar that can fail on hostile text; the others
# (unstructured: Subject, Received, DKIM-Signature...) always parse, registering defects.
_STRUCTURED = frozenset(
    name for name, kind in PARSING_POLICY.header_factory.registry.items()  # type: ignore[attr-defined]
    if not issubclass(kind, UnstructuredHeader)
)


def _facts(message: Message, raw: bytes) -> ParsedMessage:
    assert isinstance(message, EmailMessage)
    for name, value in message.raw_items():  # every header readable, or compat32 is used
        if name.lower() in _STRUCTURED:
            str(message.policy.header_fetch_parse(name, value))
    return ParsedMessage(
        message=message,
        subject=_header_text(message, "Subject"),
        x_mss_mes=tuple(_header_values(message, "X-MSS-MES")),
        reply_to=tuple(_addresses(message, "Reply-To")),
        attachments=tuple(_attachments(message)),
        message_id=summarise_headers(raw).message_id[:300],
    )


def _header_values(message: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in message.get_all(name) or []]
    except Exception:  # undecodable header: judged as absent
        return []


def _header_text(message: Message, name: str) -> str:
    values = _header_values(message, name)
    return values[0] if values else ""


def _addresses(message: Message, name: str) -> list[str]:
    return [addr for _, addr in address_pairs(_header_values(message, name)) if "@" in addr]


def _attachments(message: Message) -> list[Attachment]:
    """Every part with a file name, and every non-text leaf part (MSS policy S2, S3)."""
    found: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart() or len(found) >= MAX_ATTACHMENTS:
            continue
        filename = _filename(part)
        maintype = part.get_content_maintype()
        if filename is None and maintype in {"text", "message"}:
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        content = payload if isinstance(payload, bytes) else b""
        found.append(_attachment(filename, part.get_content_type(), content))
    return found


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except ValueError:  # a NUL in an RFC 2231 charset name: judged on the raw value
        value = part.get_param("filename", header="content-disposition") or part.get_param("name")
        return str(value[2] if isinstance(value, tuple) else value)


def _attachment(filename: str | None, content_type: str, content: bytes) -> Attachment:
    codes: frozenset[str] = frozenset()
    if filename is not None and is_xdm_archive_name(filename):
        try:
            codes = xdm_confidentiality_codes(content)
        except VaultExtractionError:
            # not a readable IHE XDM archive: judged as the ordinary archive it is (S2)
            return Attachment(None, "application/zip", ZIP_MAGIC + content[:LEADING_BYTES])
    elif looks_like_xml(content):
        codes = cda_confidentiality_codes(content)
    return Attachment(filename, content_type, content[:LEADING_BYTES], codes)


def cda_confidentiality_codes(content: bytes) -> frozenset[str]:
    """The confidentialityCode of a CDA attached outside XDM (none for other XML)."""
    try:
        header = read_cda_header(content, DEFAULT_LIMITS)
    except VaultExtractionError:
        return frozenset()  # the vault refuses it as unsafe and tells the sender
    code = header.confidentiality_code if header is not None else None
    return frozenset({code}) if code else frozenset()


def xdm_confidentiality_codes(content: bytes) -> frozenset[str]:
    archive = read_xdm_archive(content, DEFAULT_LIMITS)
    codes: set[str] = set()
    for path in archive.metadata_paths():
        for entry in parse_xdm_metadata(archive.files[path], DEFAULT_LIMITS):
            codes.update(entry.confidentiality_codes)
    return frozenset(codes)
