"""Parse a message once and read the facts the policy decides on (docs/architecture.md §1).

The parser is the standard library's with `policy.default` (its header factory made
cheaper, see `HeaderFactory`); the size is bounded before parsing by the caller.
Malformed MIME never raises here: a part the parser cannot make sense of is judged on
what can be read of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from email.policy import default as default_policy

from mss.policy import Attachment
from mss.store.header_fields import address_pairs
from mss.store.header_summary import header_block, summary_of_fields
from mss.store.text_memo import kept_readings
from mss.vault.cda import looks_like_xml, read_cda_header
from mss.vault.errors import VaultExtractionError
from mss.vault.limits import DEFAULT_LIMITS
from mss.vault.xdm_archive import is_xdm_archive_name, read_xdm_archive
from mss.vault.xdm_metadata import parse_xdm_metadata

LEADING_BYTES = 512
MAX_ATTACHMENTS = 200
ZIP_MAGIC = b"PK\x03\x04"


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
        self._parsed: Callable[[str, str], BaseHeader] = kept_readings(
            self._parse, size=lambda name, value: len(value), entries=MEMO_HEADERS)

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        built = self._classes.get(kind)
        if built is None:
            built = self._classes[kind] = super().__getitem__(name)
        return built

    def _parse(self, name: str, value: str) -> BaseHeader:
        return self[name](name, value)  # type: ignore[no-any-return]

    def __call__(self, name: str, value: str) -> BaseHeader:
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
    Performance); a header section of plain CRLF fields is split without the parser
    (`plain_header_section`, issue 19).
    Multipart and message/* bodies, and header sections that end before the first
    CRLF CRLF (or lack one), take the parser's whole path."""
    end = raw.find(b"\r\n\r\n")
    if end >= 0:
        head = plain_header_section(raw[: end + 2])
        if head is None:
            head = BytesParser(policy=PARSING_POLICY).parsebytes(raw[: end + 4],
                                                                 headersonly=True)
        # the usual case: the header section ends at that empty line (nothing left of
        # the block for the body) and the body is not one the parser splits into parts
        if head.get_payload() == "" and head.get_content_maintype() not in _NESTED:
            head.set_payload(raw[end + 4:].decode("ascii", "surrogateescape"))
            return head
    return BytesParser(policy=PARSING_POLICY).parsebytes(raw)


# A line start (after LF) the parser's header loop (feedparser) does not take for a field's
# first line (a name of printable characters but the colon, its `headerRE`) or for a
# continuation line (SP, HT); and the CRLF that ends a field (no continuation follows).
_NOT_FIELD_LINE = re.compile(r"\n(?![ \t]|[\x21-\x39\x3b-\x7e]+:)")
_FIELD_END = re.compile(r"\r\n(?![ \t])")


def plain_header_section(head: bytes) -> EmailMessage | None:
    """The message `BytesParser(policy=PARSING_POLICY).parsebytes(head + b"\r\n",
    headersonly=True)` makes, when `head` is nothing but header fields, each line ending
    with CRLF (no bare CR or LF, no line the parser would take for the body, an envelope
    `From ` line or a continuation with no field before it: the defects it notes), as
    a message's header section is; None otherwise (the parser is then used).
    Each field's value is the policy's reading of its source lines, as the parser's."""
    lines = head.count(b"\n")
    if head.count(b"\r\n") != lines or head.count(b"\r") != lines or not head.endswith(b"\r\n"):
        return None
    text = head.decode("ascii", "surrogateescape")[:-2]
    if _NOT_FIELD_LINE.search("\n" + text) or text[0] in " \t":
        return None
    message = EmailMessage(policy=PARSING_POLICY)
    source = PARSING_POLICY.header_source_parse
    for field in _FIELD_END.split(text):
        message.set_raw(*source([field + "\r\n"]))
    message.set_payload("")
    return message


_NESTED = frozenset({"multipart", "message"})  # the parser's own branches (feedparser)
# Headers policy.default parses with a grammar that can fail on hostile text; the others
# (unstructured: Subject, Received, DKIM-Signature...) always parse, registering defects.
_STRUCTURED = frozenset(
    name for name, kind in PARSING_POLICY.header_factory.registry.items()  # type: ignore[attr-defined]
    if not issubclass(kind, UnstructuredHeader)
)


# Values of these forms parse without error, so they need no trial parse: an RFC 5322
# §3.6.4 msg-id of dot-atom-texts, and an RFC 5322 §3.3 date-time, with the zone as a
# comment as many programs add it (an error in its numbers is a ValueError, which the
# date header notes as a defect; the date parser reads five words, the comment is a sixth).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_SAFE_VALUES = {
    "message-id": re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>"),
    "date": re.compile(r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?[0-9]{1,2} "
                       r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                       r"[0-9]{2}:[0-9]{2}:[0-9]{2} (?:[+-][0-9]{4}|GMT|UT)"
                       r"(?: \([A-Za-z]{1,5}\))?"),
}


def needs_trial_parse(name: str, value: str) -> bool:
    """Whether `policy.default` may fail on this field: a structured one (`_STRUCTURED`)
    whose value is not of a form known to parse (`_SAFE_VALUES`)."""
    lowered = name.lower()
    if lowered not in _STRUCTURED:
        return False
    safe = _SAFE_VALUES.get(lowered)
    return safe is None or safe.fullmatch(value) is None


def _facts(message: Message, raw: bytes) -> ParsedMessage:
    assert isinstance(message, EmailMessage)
    for name, value in message.raw_items():  # every header readable, or compat32 is used
        if needs_trial_parse(name, value):
            str(message.policy.header_fetch_parse(name, value))
    return ParsedMessage(
        message=message,
        subject=_header_text(message, "Subject"),
        x_mss_mes=tuple(_header_values(message, "X-MSS-MES")),
        reply_to=tuple(_addresses(message, "Reply-To")),
        attachments=tuple(_attachments(message)),
        # the summary the store keeps is read from these same fields (not parsed again)
        message_id=summary_of_fields(header_block(raw), message.raw_items()).message_id[:300],
    )


def _header_values(message: Message, name: str) -> list[str]:
    if message.policy is PARSING_POLICY and name.lower() not in _NOT_PLAIN:
        return _unstructured_values(message, name)
    try:
        return [str(v) for v in message.get_all(name) or []]
    except Exception:  # undecodable header: judged as absent
        return []


# Fields policy.default does not read as plain unstructured text (its registry).
_NOT_PLAIN = frozenset(
    name for name, kind in PARSING_POLICY.header_factory.registry.items()  # type: ignore[attr-defined]
    if name != "subject"
)
_LINE_BREAKS = re.compile(r"\n|\r")  # what header_fetch_parse removes (linesep_splitter)


def _unstructured_values(message: Message, name: str) -> list[str]:
    """`str()` of each value of an unstructured field, as `get_all` gives them: the
    parser's reading of an ASCII value without encoded words (RFC 2047 `=?`) is the
    value itself, line breaks removed (`get_unstructured` keeps every character
    of such text, and there is nothing to sanitise); other values are parsed."""
    wanted = name.lower()
    values: list[str] = []
    for field, value in message.raw_items():
        if field.lower() != wanted:
            continue
        text = _LINE_BREAKS.sub("", value) if ("\r" in value or "\n" in value) else value
        if not text.isascii() or "=?" in text:
            try:
                text = str(message.policy.header_fetch_parse(field, value))
            except Exception:  # undecodable header: judged as absent
                return []
        values.append(text)
    return values


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
        if part.policy is PARSING_POLICY:
            filename, maintype, content_type = _leaf_kind(*_content_fields(part),
                                                          part.get_default_type())
        else:
            filename = _filename(part)
            maintype = part.get_content_maintype()
            content_type = None
        if filename is None and maintype in {"text", "message"}:
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        content = payload if isinstance(payload, bytes) else b""
        if content_type is None:
            content_type = part.get_content_type()
        found.append(_attachment(filename, content_type, content))
    return found


Field = tuple[str, str]


def _content_fields(part: Message) -> tuple[Field | None, Field | None]:
    """The first Content-Type and Content-Disposition fields (what `get` reads)."""
    content_type = disposition = None
    for field in part.raw_items():
        lowered = field[0].lower()
        if lowered == "content-type" and content_type is None:
            content_type = field
        elif lowered == "content-disposition" and disposition is None:
            disposition = field
    return content_type, disposition


def _leaf_kind_read(content_type: Field | None, disposition: Field | None,
                    default_type: str) -> tuple[str | None, str, str]:
    """(file name, main type, content type) of a leaf part with these fields: they are
    all `get_filename` and `get_content_type` read, and parts repeat them from message
    to message (kept for short values, as a pure function of the fields)."""
    part = EmailMessage(policy=PARSING_POLICY)
    part.set_default_type(default_type)
    for field in (content_type, disposition):
        if field is not None:
            part.set_raw(*field)
    return _filename(part), part.get_content_maintype(), part.get_content_type()


def _content_size(content_type: Field | None, disposition: Field | None, _: str) -> int:
    return sum(len(field[1]) for field in (content_type, disposition) if field)


_leaf_kind = kept_readings(_leaf_kind_read, size=_content_size, entries=MEMO_HEADERS)


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
