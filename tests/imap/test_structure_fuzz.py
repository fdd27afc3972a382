"""Malformed messages never crash the structure, section or search functions."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mss.imap.body_section import UnknownTransferEncoding, binary_section, body_section
from mss.imap.body_structure import body_structure
from mss.imap.envelope import envelope
from mss.imap.fetch_attributes import Section
from mss.imap.search_keys import HeaderKey, TextKey
from mss.imap.search_match import MessageView, SearchScope, search_matches

from .client_view import client_parse
from .corpus import CORPUS

PIECES = [
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/plain; charset=x-unknown\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b'Content-Disposition: attachment; filename="a\r\n',
    b'From: "unterminated <a@b\r\n',
    b"To: g:;, (comment <x@y>\r\n",
    b"Subject: =?utf-8?b?####?=\r\n",
    b" folded\r\n",
    b"\r\n",
    b"--b\r\n",
    b"--b--\r\n",
    b"text \xff\xfe\r\n",
    b"=ZZ=\r\n",
]
shaped = st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join)
corpus_prefixes = st.sampled_from(sorted(CORPUS.values())).flatmap(
    lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut])
)
messages = st.one_of(shaped, corpus_prefixes, st.binary(max_size=300))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_structure_and_envelope_always_render_parseable_values(raw: bytes) -> None:
    for rendered in (body_structure(raw, True), body_structure(raw, False), envelope(raw)):
        assert client_parse(rendered)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages, st.lists(st.integers(1, 3), max_size=3))
def test_sections_and_search_never_crash(raw: bytes, parts: list[int]) -> None:
    for text in (None, "HEADER", "TEXT", "MIME", "HEADER.FIELDS"):
        if text == "MIME" and not parts:
            continue
        assert isinstance(body_section(raw, Section(tuple(parts), text, ("From",))), bytes)
    with contextlib.suppress(UnknownTransferEncoding):
        binary_section(raw, tuple(parts))
    message = MessageView(1, 1, frozenset(), datetime(2024, 1, 1, tzinfo=UTC), len(raw), 1, raw)
    for key in (HeaderKey("Subject", "x"), TextKey("TEXT", "x"), TextKey("BODY", "é")):
        assert search_matches(key, message, SearchScope(1, 1)) in (True, False)
