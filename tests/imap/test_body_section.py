"""BODY[section]<partial>, BINARY and RFC822.SIZE cut from the raw bytes (RFC 3501 §6.4.5)."""

from __future__ import annotations

import io
import zipfile

import pytest

from mss.imap.body_section import (
    UnknownTransferEncoding,
    binary_section,
    body_section,
    rfc822_size,
)
from mss.imap.fetch_attributes import Section

from .corpus import (
    FORWARDED,
    HTML_BODY,
    INNER_BODY,
    INNER_MESSAGE,
    NESTED,
    PDF_BASE64,
    PDF_BYTES,
    PDF_PART_HEADER,
    PLAIN_QP,
    SIMPLE,
    SIMPLE_BODY,
    XDM,
    XDM_ZIP,
)


def header_of(raw: bytes) -> bytes:
    return raw[: raw.index(b"\r\n\r\n") + 4]


def test_whole_message_header_and_text() -> None:
    assert body_section(SIMPLE, Section()) == SIMPLE
    assert body_section(SIMPLE, Section(text="HEADER")) == header_of(SIMPLE)
    assert body_section(SIMPLE, Section(text="TEXT")) == SIMPLE_BODY
    assert rfc822_size(SIMPLE) == len(SIMPLE)


def test_part_one_of_a_single_part_message_is_its_body() -> None:
    assert body_section(SIMPLE, Section((1,))) == SIMPLE_BODY
    assert body_section(SIMPLE, Section((2,))) == b""


def test_nested_parts_by_number() -> None:
    assert body_section(NESTED, Section((1, 1))) == PLAIN_QP
    assert body_section(NESTED, Section((1, 2))) == HTML_BODY
    assert body_section(NESTED, Section((2,))) == PDF_BASE64


def test_crlf_before_a_delimiter_belongs_to_the_delimiter() -> None:
    # RFC 2046 §5.1.1: the PDF part ends before the CRLF that precedes "--mix-b--".
    assert not body_section(NESTED, Section((2,))).endswith(b"\r\n")


def test_mime_header_of_a_part() -> None:
    assert body_section(NESTED, Section((2,), "MIME")) == PDF_PART_HEADER


def test_header_fields_are_case_insensitive_and_end_with_blank_line() -> None:
    fields = body_section(SIMPLE, Section(text="HEADER.FIELDS", fields=("subject", "FROM")))
    assert fields == (
        b"From: Dr Gregory House <gregory.house@hopital.mssante.fr>\r\n"
        b"Subject: Compte rendu consultation\r\n"
        b"\r\n"
    )


def test_header_fields_not() -> None:
    kept = body_section(
        SIMPLE,
        Section(text="HEADER.FIELDS.NOT", fields=("Date", "To", "Cc", "Message-ID", "From")),
    )
    assert kept == b"Subject: Compte rendu consultation\r\n\r\n"


def test_folded_fields_keep_their_folding() -> None:
    raw = b"Subject: a\r\n long\r\n\tsubject\r\nX: y\r\n\r\nbody"
    assert body_section(raw, Section(text="HEADER.FIELDS", fields=("Subject",))) == (
        b"Subject: a\r\n long\r\n\tsubject\r\n\r\n"
    )


def test_encapsulated_message_sections() -> None:
    assert body_section(FORWARDED, Section((2,))) == INNER_MESSAGE
    assert body_section(FORWARDED, Section((2,), "HEADER")) == header_of(INNER_MESSAGE)
    assert body_section(FORWARDED, Section((2,), "TEXT")) == INNER_BODY
    assert body_section(FORWARDED, Section((2, 1))) == INNER_BODY
    assert body_section(FORWARDED, Section((2,), "HEADER.FIELDS", ("subject",))) == (
        b"Subject: Sortie du patient\r\n\r\n"
    )


def test_header_of_a_part_that_is_not_a_message_is_empty() -> None:
    assert body_section(NESTED, Section((2,), "HEADER")) == b""


def test_partial_fetch() -> None:
    assert body_section(SIMPLE, Section(), (0, 10)) == SIMPLE[:10]
    assert body_section(SIMPLE, Section(text="TEXT"), (3, 5)) == SIMPLE_BODY[3:8]
    assert body_section(SIMPLE, Section(), (len(SIMPLE) + 5, 10)) == b""


def test_binary_undoes_base64_and_quoted_printable() -> None:
    assert binary_section(NESTED, (2,)) == PDF_BYTES
    assert binary_section(NESTED, (1, 1)) == "Résultats normaux.\r\nCordialement.\r\n".encode()
    assert binary_section(NESTED, (2,), (0, 4)) == b"%PDF"


def test_binary_of_the_xdm_archive_is_a_readable_zip() -> None:
    archive = binary_section(XDM, (2,))
    assert archive == XDM_ZIP
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.read("IHE_XDM/SUBSET01/DOC0001.PDF") == PDF_BYTES


def test_binary_with_unknown_encoding_is_refused() -> None:
    raw = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a\r\n"
    with pytest.raises(UnknownTransferEncoding):
        binary_section(raw, (1,))
