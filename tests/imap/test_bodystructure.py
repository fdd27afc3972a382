"""BODY and BODYSTRUCTURE (RFC 3501 §7.4.2) over the corpus, read back by imapclient."""

from __future__ import annotations

import pytest
from imapclient.response_parser import parse_fetch_response

from mss.imap.body_structure import body_structure, count_lines

from .client_view import client_parse, literal_chunks
from .corpus import (
    BAD_BOUNDARY,
    CORPUS,
    FORWARD_NOTE,
    FORWARDED,
    HTML_BODY,
    INNER_BODY,
    INNER_MESSAGE,
    MALFORMED,
    MALFORMED_BODY,
    NESTED,
    NO_HEADER_END,
    PDF_BASE64,
    PLAIN_QP,
    SIMPLE,
    SIMPLE_BODY,
    XDM,
    XDM_BASE64,
    XDM_NOTE,
)


def structure(raw: bytes, extensible: bool = True) -> tuple[object, ...]:
    (parsed,) = client_parse(body_structure(raw, extensible))
    assert isinstance(parsed, tuple)
    return parsed


def test_simple_text_part_with_default_charset_size_and_lines() -> None:
    assert structure(SIMPLE) == (
        b"TEXT",
        b"PLAIN",
        (b"CHARSET", b"US-ASCII"),
        None,
        None,
        b"7BIT",
        len(SIMPLE_BODY),
        count_lines(SIMPLE_BODY),
        None,
        None,
        None,
        None,
    )
    assert count_lines(SIMPLE_BODY) == 4


def test_nested_multipart_mixed_with_alternative_and_pdf() -> None:
    plain, html = (
        (
            b"TEXT",
            b"PLAIN",
            (b"CHARSET", b"utf-8"),
            None,
            None,
            b"QUOTED-PRINTABLE",
            len(PLAIN_QP),
            2,
            None,
            None,
            None,
            None,
        ),
        (
            b"TEXT",
            b"HTML",
            (b"CHARSET", b"utf-8"),
            None,
            None,
            b"7BIT",
            len(HTML_BODY),
            1,
            None,
            None,
            None,
            None,
        ),
    )
    pdf = (
        b"APPLICATION",
        b"PDF",
        (b"NAME", b"resultats.pdf"),
        None,
        None,
        b"BASE64",
        len(PDF_BASE64),
        None,
        (b"ATTACHMENT", (b"FILENAME", b"resultats.pdf")),
        (b"fr",),
        None,
    )
    alternative = (plain, html, b"ALTERNATIVE", (b"BOUNDARY", b"alt-b"), None, None, None)
    assert structure(NESTED) == (
        alternative,
        pdf,
        b"MIXED",
        (b"BOUNDARY", b"mix-b"),
        None,
        None,
        None,
    )


def test_non_extensible_body_drops_extension_data() -> None:
    plain = (
        b"TEXT",
        b"PLAIN",
        (b"CHARSET", b"utf-8"),
        None,
        None,
        b"QUOTED-PRINTABLE",
        len(PLAIN_QP),
        2,
    )
    html = (b"TEXT", b"HTML", (b"CHARSET", b"utf-8"), None, None, b"7BIT", len(HTML_BODY), 1)
    pdf = (
        b"APPLICATION",
        b"PDF",
        (b"NAME", b"resultats.pdf"),
        None,
        None,
        b"BASE64",
        len(PDF_BASE64),
    )
    assert structure(NESTED, extensible=False) == (((plain, html, b"ALTERNATIVE"), pdf, b"MIXED"))


def test_forwarded_message_has_envelope_body_and_lines() -> None:
    note, forwarded, subtype, *_ = structure(FORWARDED)
    assert note[:8] == (
        b"TEXT",
        b"PLAIN",
        (b"CHARSET", b"us-ascii"),
        None,
        None,
        b"7BIT",
        len(FORWARD_NOTE),
        1,
    )
    assert forwarded[:7] == (
        b"MESSAGE",
        b"RFC822",
        None,
        None,
        b"forwarded",
        b"7BIT",
        len(INNER_MESSAGE),
    )
    inner_envelope, inner_body, lines = forwarded[7:10]
    assert inner_envelope[1] == b"Sortie du patient"
    assert inner_envelope[9] == b"<sortie-7@clinique.mssante.fr>"
    assert inner_body[:7] == (
        b"TEXT",
        b"PLAIN",
        (b"CHARSET", b"US-ASCII"),
        None,
        None,
        b"7BIT",
        len(INNER_BODY),
    )
    assert lines == count_lines(INNER_MESSAGE)
    assert subtype == b"MIXED"


def test_xdm_archive_attachment() -> None:
    note, archive, subtype, *_ = structure(XDM)
    assert note[6] == len(XDM_NOTE)
    assert archive[:7] == (
        b"APPLICATION",
        b"ZIP",
        (b"NAME", b"IHE_XDM.zip"),
        None,
        None,
        b"BASE64",
        len(XDM_BASE64),
    )
    assert archive[8] == (b"ATTACHMENT", (b"FILENAME", b"IHE_XDM.zip"))
    assert subtype == b"MIXED"


def test_multipart_without_boundary_is_shown_as_text() -> None:
    parsed = structure(MALFORMED)
    assert parsed[:2] == (b"TEXT", b"PLAIN")
    assert parsed[6] == len(MALFORMED_BODY)


@pytest.mark.parametrize("raw", [BAD_BOUNDARY, NO_HEADER_END])
def test_unusable_multipart_or_missing_body_is_plain_text(raw: bytes) -> None:
    assert structure(raw)[:2] == (b"TEXT", b"PLAIN")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_whole_corpus_goes_through_imapclient_fetch_parser(name: str) -> None:
    raw = CORPUS[name]
    for item, extensible in ((b"BODYSTRUCTURE", True), (b"BODY", False)):
        data = b"1 (" + item + b" " + body_structure(raw, extensible) + b")"
        chunks = literal_chunks(data)
        fetched = parse_fetch_response(chunks)
        assert item in fetched[1]


def test_parameters_rfc_2231_and_language_and_location() -> None:
    raw = (
        b"Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
        b"Content-Disposition: inline\r\n"
        b"Content-Language: fr, en\r\n"
        b"Content-Location: http://example.org/a.pdf\r\n"
        b"Content-ID: <part1@x>\r\n"
        b"\r\n"
        b"data"
    )
    parsed = structure(raw)
    assert parsed[2] == (b"NAME*", b"utf-8''r%C3%A9sum%C3%A9.pdf")
    assert parsed[3] == b"<part1@x>"
    assert parsed[8] == (b"INLINE", None)
    assert parsed[9] == (b"fr", b"en")
    assert parsed[10] == b"http://example.org/a.pdf"


def test_deep_nesting_does_not_crash() -> None:
    raw = b""
    for depth in range(200):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (depth, depth)
    raw += b"\r\ntext\r\n"
    assert body_structure(raw).startswith(b"(")
