"""The header work's fast paths give what the readings they stand for give (issue 19).

One message's header section is split once and read by the pipeline's facts, T4's
author fields, the store's header summary and sort keys; each shortcut (a plain CRLF
section split without the feedparser, trial parses skipped for values of a form known to
parse, plain unstructured text read as is, the summary read from the parse's fields,
the originator fields read alone, readings kept per text) is compared here with the
reading it replaces, written out below as it was before the shortcuts (the oracle), on
generated header sections, well-formed and hostile: RFC 2047, RFC 6532 8-bit text, bare
CR and LF, no empty line, envelope `From ` lines, continuations first, values the modern
parser refuses (the compat32 fallback).
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.headerregistry import UnstructuredHeader
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32, default
from email.utils import getaddresses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mss.pipeline import message_facts
from mss.pipeline.author_fields import READ, header_fields, originator_fields
from mss.pipeline.message_facts import (
    needs_trial_parse,
    parse_message,
    plain_header_section,
)
from mss.store import header_summary
from mss.store.header_dates import parse_header_date
from mss.store.header_summary import HeaderSummary, header_block, summarise_headers
from mss.store.sort_keys import ascii_upper, base_subject, sort_keys_of
from tests.header_corpus import addressed, corpus_messages
from tests.header_forms import dates, messages, phrases
from tests.header_forms import header_fields as generated_fields

EXAMPLES = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- the oracle: the readings as they were before the shortcuts ------------------------

STRUCTURED = frozenset(
    name for name, kind in default.header_factory.registry.items()  # type: ignore[attr-defined]
    if not issubclass(kind, UnstructuredHeader)
)


def reference_modern(raw: bytes) -> Message:
    end = raw.find(b"\r\n\r\n")
    if end >= 0:
        head = BytesParser(policy=default).parsebytes(raw[: end + 4], headersonly=True)
        if head.get_payload() == "" and head.get_content_maintype() not in {"multipart",
                                                                            "message"}:
            head.set_payload(raw[end + 4:].decode("ascii", "surrogateescape"))
            return head
    return BytesParser(policy=default).parsebytes(raw)


def reference_facts(raw: bytes) -> tuple[object, ...]:
    try:
        return _reference_facts(reference_modern(raw), raw)
    except Exception:
        return _reference_facts(
            BytesParser(_class=EmailMessage, policy=compat32).parsebytes(raw), raw)


def _reference_facts(message: Message, raw: bytes) -> tuple[object, ...]:
    for name, value in message.raw_items():
        if name.lower() in STRUCTURED:
            str(message.policy.header_fetch_parse(name, value))
    values = _reference_values(message, "Subject")
    return (shape(message), values[0] if values else "",
            tuple(_reference_values(message, "X-MSS-MES")),
            tuple(a for _, a in _reference_pairs(_reference_values(message, "Reply-To"))
                  if "@" in a),
            tuple(_reference_attachments(message)), reference_summary(raw).message_id[:300])


def _reference_values(message: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in message.get_all(name) or []]
    except Exception:
        return []


def _reference_pairs(values: list[str]) -> list[tuple[str, str]]:
    try:
        return getaddresses(values)
    except Exception:
        return []


def _reference_attachments(message: Message) -> list[object]:
    found: list[object] = []
    for part in message.walk():
        if part.is_multipart() or len(found) >= message_facts.MAX_ATTACHMENTS:
            continue
        filename = message_facts._filename(part)
        maintype = part.get_content_maintype()
        if filename is None and maintype in {"text", "message"}:
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        content = payload if isinstance(payload, bytes) else b""
        found.append(message_facts._attachment(filename, part.get_content_type(), content))
    return found


def reference_summary(raw: bytes) -> HeaderSummary:
    headers = BytesHeaderParser().parsebytes(header_block(raw))
    fields: dict[str, list[str]] = {}
    for name, value in headers.raw_items():
        text = str(value).encode("ascii", "surrogateescape").decode("utf-8", "replace")
        fields.setdefault(name.lower(), []).append(text)

    def raw_text(name: str) -> str:
        values = fields.get(name.lower())
        return values[0] if values else ""

    def decoded(name: str) -> str:
        value = raw_text(name)
        try:
            return str(make_header(decode_header(value)))[:2000]
        except Exception:
            return value[:2000]

    def addresses(name: str) -> str:
        try:
            pairs = getaddresses(fields.get(name.lower(), []))
        except Exception:
            return ""
        return ", ".join(addr for _, addr in pairs if addr)[:2000]

    return HeaderSummary(
        message_id=" ".join(raw_text("Message-ID").split())[:2000],
        subject=" ".join(decoded("Subject").split()),
        from_addr=addresses("From"), to_addrs=addresses("To"),
        date=parse_header_date(raw_text("Date")),
    )


_WHITESPACE = re.compile(r"[ \t\r\n]+")
_TRAILER = re.compile(r"(?:[ \t]|\(fwd\))+$", re.IGNORECASE)
_BLOB = r"\[[^\[\]]*\][ \t]*"
_LEADER = re.compile(r"^[ \t]*(?:" + _BLOB + r")*(?:re|fwd?)[ \t]*(?:" + _BLOB + r")?:[ \t]*",
                     re.IGNORECASE)
_LEADING_BLOB = re.compile(r"^[ \t]*" + _BLOB)
_FWD_WRAPPER = re.compile(r"^\[fwd:(.*)\]$", re.IGNORECASE)
_FIELD = re.compile(rb"^(from|to|cc)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def reference_base_subject(subject: str) -> str:
    text = _WHITESPACE.sub(" ", subject).strip()
    while True:
        while True:
            before = text
            text = _TRAILER.sub("", text)
            while True:
                stripped = _LEADER.sub("", text, count=1)
                if stripped == text:
                    blob = _LEADING_BLOB.sub("", text, count=1)
                    if blob != text and blob.strip():
                        stripped = blob
                if stripped == text:
                    break
                text = stripped
            if text == before:
                break
        wrapped = _FWD_WRAPPER.match(text)
        if wrapped is None:
            return text.strip()
        text = wrapped.group(1).strip()


def reference_sort_keys(subject: str, block: bytes) -> tuple[str, ...]:
    upper = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}
    end = block.find(b"\r\n\r\n")
    if end < 0:
        end = block.find(b"\n\n")
    header = block if end < 0 else block[:end]
    found: dict[bytes, list[str]] = {b"from": [], b"to": [], b"cc": []}
    for match in _FIELD.finditer(header):
        value = re.sub(rb"\r?\n", b"", match.group(2)).decode("utf-8", "replace")
        found[match.group(1).lower()].append(value)

    def mailbox(values: list[str]) -> str:
        for _, address in _reference_pairs(values):
            if address:
                return address.rpartition("@")[0] or address
        return ""

    return (reference_base_subject(subject).translate(upper)[:500],
            *(mailbox(found[name]).translate(upper)[:500] for name in (b"from", b"to", b"cc")))


def shape(message: Message) -> object:
    """What a message is, without parsing a header or decoding a body: fields as split,
    defects, parts (the payload as the parser left it: `get_payload` may decode it)."""
    payload = message._payload  # type: ignore[attr-defined]
    inner = [shape(part) for part in payload] if isinstance(payload, list) else payload
    return (type(message.policy).__name__, list(message.raw_items()), message.get_unixfrom(),
            [type(defect).__name__ for defect in message.defects], message.preamble,
            message.epilogue, message.get_default_type(), inner)


# -- generated header sections --------------------------------------------------------

HOSTILE_LINES = [
    b"Subject: x", b"Subject:", b"Subject:   ", b"Subject: =?utf-8?q?=C3=A9t=C3=A9?=",
    b"Subject: caf\xc3\xa9", b"Subject: a\x00b", b"Subject: \x0bvt\x1c\x85",
    b"SUBJECT: Re: [x] y (fwd)", b"Subject: " + b"long " * 420,
    b"Subject: =?utf-8?q?unterminated", b"From: a@b.fr", b"from : <a@b.fr>", b"FROM:a@b",
    b"From: =?utf-8?q?Jos=C3=A9?= <j@x.fr>", b"From: \"Dr, A\" <a@x.fr>, b@y", b"From:",
    b"Sender: s@t.fr", b"Resent-From: r@s.fr", b"Resent-Sender: <q@r>", b"\xc2\xa0From: n@x",
    b"From\x0b: vt@x", b"X-From: no@x", b"\xe2\x84\xaaFrom: kelvin@x", b"To: c@d.fr, e@f.fr",
    b"Cc: \"x, y\" <g@h.fr>", b"cc:g@h", b"Received: from x by y; Fri, 4 Dec 2026",
    b"Message-ID: <a@b>", b"Message-ID: <", b"Message-ID: <a..b@c>", b"Message-ID: <1.2@x.y>",
    b"Message-ID: <a@b> ", b"Message-Id: <\xc3\xa9@x>",
    b"Date: Fri, 04 Dec 2026 09:00:00 +0100", b"Date: Thu, 31 Feb 2026 25:61:61 +9999",
    b"Date: 4 Dec 0000 09:00:00 -0000", b"Date: yesterday", b"Date: Fri, 4 Dec 2026 9:00 CET",
    b"Content-Type: text/plain; charset=utf-8", b"Content-Type: multipart/mixed; boundary=q",
    b"Content-Type: message/rfc822", b"Content-Type: application/pdf; name=a.pdf",
    b"Content-Disposition: attachment; filename*=utf-8''%C3%A9", b"Content-Type: ;;;",
    b"Content-Type: text/plain; name*0*=utf-8''%E9; name*1*=%ZZ", b"content-type: image/png",
    b"Content-Disposition: inline; filename*=\x00''x", b"Reply-To: <c@d.fr>", b"Reply-To: ): a@b;",
    b"To: ): a@b;", b"X-MSS-MES: FIN", b"X-MSS-MES: =?utf-8?b?w6k=?=",
    b"Authentication-Results: mx.mss.test; dkim=pass", b" folded", b"\tfolded", b"  ",
    b"", b"bogus line", b":no name", b"From envelope line", b"From ", b"na me: x",
    b"X-8bit-\xc3\xa9: v", b"--q", b"--q--",
]
ENDINGS = [b"\r\n"] * 6 + [b"\n", b"\r", b"\r\r\n", b""]


@st.composite
def hostile_messages(draw: st.DrawFn) -> bytes:
    """Lines from HOSTILE_LINES, each with a line end that is mostly CRLF, then maybe an
    empty line and a body (multipart bodies included)."""
    lines = draw(st.lists(st.tuples(st.sampled_from(HOSTILE_LINES), st.sampled_from(ENDINGS)),
                          max_size=14))
    raw = b"".join(line + ending for line, ending in lines)
    if draw(st.booleans()):
        raw += draw(st.sampled_from([b"\r\n", b"\n", b"\r\n\r\n"])) + draw(st.sampled_from([
            b"body\r\n", b"", b"--q\r\nContent-Type: application/zip; name=a.zip\r\n\r\nPK\r\n"
            b"--q--\r\n", b"Subject: inner\r\n\r\ninner\r\n", b"\xc3\xa9t\xc3\xa9\r\n"]))
    return raw


FROM_LINES = st.sampled_from([
    b"From: <alice@mss-a.localhost>\r\n", b"From: Dr Alice <alice@mss-a.localhost>\r\n",
    b"From: =?utf-8?q?Dr_=C3=89milie?= <e@x.fr>\r\n", "From: Émilie <e@x.fr>\r\n".encode(),
    b"",
]) | phrases().map(lambda p: b"From: " + p + b" <a@b.fr>\r\n")

ANY_MESSAGE = st.one_of(FROM_LINES.flatmap(messages), hostile_messages())
MIME_CORPUS = Path(__file__).parents[1] / "corpus" / "mime"


def _examples() -> list[bytes]:
    """tests/corpus/headers (as whole messages) and tests/corpus/mime."""
    return ([addressed("a@b.fr", "c@d.fr", name, rest) for name, rest in corpus_messages()]
            + [path.read_bytes() for path in sorted(MIME_CORPUS.glob("*.eml"))])


# -- the comparisons ------------------------------------------------------------------


def check_facts(raw: bytes) -> None:
    header_summary._SUMMARIES.clear()
    assert summarise_headers(raw) == reference_summary(raw)  # the store's own reading
    header_summary._SUMMARIES.clear()
    expected = reference_facts(raw)
    facts = parse_message(raw)
    assert (shape(facts.message), facts.subject, facts.x_mss_mes, facts.reply_to,
            facts.attachments, facts.message_id) == expected
    summary = summarise_headers(raw)  # the one the parse left for the delivery
    assert summary == reference_summary(raw)
    assert tuple(vars_of(sort_keys_of(summary.subject, raw))) == reference_sort_keys(
        summary.subject, raw)
    assert originator_fields(raw) == [f for f in header_fields(raw) if f[0] in READ]


def vars_of(keys: object) -> list[str]:
    return [getattr(keys, name) for name in ("subject", "from_mailbox", "to_mailbox",
                                             "cc_mailbox")]


@pytest.mark.parametrize("raw", _examples())
def test_corpus_messages_read_as_before(raw: bytes) -> None:
    check_facts(raw)


@EXAMPLES
@given(ANY_MESSAGE)
@example(b"Subject: x\r\nMessage-ID: <\r\n\r\nbody")
@example(b"From x\r\nSubject: y\r\n\r\n")
@example(b" lead\r\nSubject: y\r\n\r\n")
@example(b"Subject: a\rb: c\r\n\r\n")
@example(b"\r\n\r\nbody")
@example(b"From: a@b.fr\r\nbogus line\r\n c@d.fr\r\nSender: <e@f>\r\n\tg@h\r\n\r\n")
@example(b"Subject: " + b"x" * 2100 + b"\r\n\r\nbody")
def test_generated_messages_read_as_before(raw: bytes) -> None:
    check_facts(raw)


@EXAMPLES
@given(st.lists(st.one_of(generated_fields(), st.tuples(
    st.sampled_from(HOSTILE_LINES), st.sampled_from(ENDINGS)).map(b"".join)), max_size=12))
def test_a_plain_section_is_the_parsers(fields: list[bytes]) -> None:
    head = b"".join(fields)
    fast = plain_header_section(head)
    parsed = BytesParser(policy=default).parsebytes(head + b"\r\n", headersonly=True)
    if fast is not None:
        assert shape(fast) == shape(parsed)
        assert fast.get_payload() == parsed.get_payload() == ""


@pytest.mark.parametrize("head", [
    b"From: a@b.fr\r\nSubject: x\r\n",
    b"Received: from x\r\n\tby y; Fri, 4 Dec 2026\r\nDKIM-Signature: v=1;\r\n b=abc\r\n"
    b"To: =?utf-8?q?S=C3=A9c?= <s@x.fr>\r\nSubject:\r\nX-Empty:\r\n",
    "To: Secrétariat <s@x.fr>\r\nSubject: caf\xe9 \x00\r\n".encode("utf-8", "surrogateescape"),
])
def test_header_sections_as_mail_carries_them_are_plain(head: bytes) -> None:
    fast = plain_header_section(head)
    assert fast is not None
    assert shape(fast) == shape(BytesParser(policy=default).parsebytes(head + b"\r\n",
                                                                      headersonly=True))


@pytest.mark.parametrize("head", [
    b"From x\r\nSubject: y\r\n", b" lead\r\nSubject: y\r\n", b"Subject: a\rb: c\r\n",
    b"Subject: a\nb: c\r\n", b"bogus\r\n", b":x\r\n", b"na me: x\r\n", b"\r\n",
    b"X-8bit-\xc3\xa9: v\r\n", b"Subject: x",
])
def test_what_the_parser_notes_or_splits_otherwise_is_not_plain(head: bytes) -> None:
    assert plain_header_section(head) is None


@EXAMPLES
@given(st.from_regex(message_facts._SAFE_VALUES["message-id"], fullmatch=True)
       | st.from_regex(message_facts._SAFE_VALUES["date"], fullmatch=True)
       | dates().map(lambda d: d.decode("ascii", "surrogateescape")))
def test_values_said_safe_parse(value: str) -> None:
    for name in ("Message-ID", "Date"):
        if not needs_trial_parse(name, value):
            str(default.header_fetch_parse(name, value))  # never raises


def test_structured_values_are_parsed_unless_safe() -> None:
    assert not needs_trial_parse("Subject", "<")
    assert needs_trial_parse("Message-ID", "<")
    assert needs_trial_parse("Message-ID", "<a..b@c>")
    assert not needs_trial_parse("message-id", "<1.2@x.y>")
    assert needs_trial_parse("To", "a@b.fr")
    assert not needs_trial_parse("Date", "Fri, 04 Dec 2026 09:00:00 +0100")
    assert not needs_trial_parse("Date", "Fri, 04 Dec 2026 09:00:00 +0100 (CET)")
    assert needs_trial_parse("Date", "Fri, 04 Dec 2026 09:00:00 +0100 (heure de Paris)")


UNSTRUCTURED_TEXT = st.lists(st.sampled_from(
    [*"ab =?_Q:", "\t", "\r", "\n", "\r\n ", "\x0b", "\x0c", "\x1c", "\x00", "\xa0", "é",
     "\udcc3", "\udca9", "=?utf-8?q?x?=", "=?utf-8?b?w6k=?=", "=?x-unknown?q?a?="]),
    max_size=30).map("".join)


@EXAMPLES
@given(st.lists(UNSTRUCTURED_TEXT, max_size=3), st.sampled_from(["Subject", "X-MSS-MES"]))
def test_unstructured_text_reads_as_the_parser_reads_it(values: list[str], name: str) -> None:
    message = EmailMessage(policy=message_facts.PARSING_POLICY)
    for value in values:
        message.set_raw(name, value)
    assert message_facts._header_values(message, name) == _reference_values(message, name)


@EXAMPLES
@given(st.lists(st.sampled_from([*"aZ[]():fwdRE \t\r\n", "re:", "Fwd:", "(fwd)", "[fwd: ", "é",
                                 "\xa0"]), max_size=40).map("".join))
def test_sort_subjects_as_before(subject: str) -> None:
    assert base_subject(subject) == reference_base_subject(subject)
    upper = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}
    assert ascii_upper(subject) == subject.translate(upper)


def test_no_other_character_lower_cases_to_the_originator_names_letters() -> None:
    """The premise of `originator_fields`: only ASCII makes from/sender when lowered."""
    letters = set("fromsendert-")
    assert not [chr(code) for code in range(0x80, 0x110000)
                if chr(code).lower().isascii() and set(chr(code).lower()) <= letters]
