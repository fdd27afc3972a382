"""ENVELOPE (RFC 3501 §7.4.2) of the corpus, as a client library reads it back."""

from __future__ import annotations

from imapclient.response_types import Envelope

from mss.imap.envelope import envelope

from .client_view import client_parse
from .corpus import FORWARDED, MALFORMED, NESTED, NON_ASCII, RAW_UTF8_NAME, SIMPLE


def envelope_fields(raw: bytes) -> tuple[object, ...]:
    (parsed,) = client_parse(envelope(raw))
    assert isinstance(parsed, tuple)
    assert len(parsed) == 10
    return parsed


def test_simple_message_fields_in_rfc_order() -> None:
    date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id = envelope_fields(
        SIMPLE
    )
    assert date == b"Tue, 14 May 2024 09:30:00 +0200"
    assert subject == b"Compte rendu consultation"
    assert from_ == ((b"Dr Gregory House", None, b"gregory.house", b"hopital.mssante.fr"),)
    assert sender == from_  # RFC 3501 §7.4.2: defaults to From
    assert reply_to == from_
    assert to == (
        (None, None, b"jean.dupont", b"cabinet.mssante.fr"),
        (None, None, b"secretariat", b"hopital.mssante.fr"),
    )
    assert cc == ((b"Martin, Paul", None, b"paul.martin", b"labo.mssante.fr"),)
    assert bcc is None
    assert in_reply_to is None
    assert message_id == b"<cr-1@hopital.mssante.fr>"


def test_explicit_sender_and_reply_to_are_kept() -> None:
    fields = envelope_fields(NESTED)
    assert fields[3] == ((None, None, b"automate", b"labo.mssante.fr"),)
    assert fields[4] == ((None, None, b"biologiste", b"labo.mssante.fr"),)


def test_in_reply_to() -> None:
    assert envelope_fields(FORWARDED)[8] == b"<sortie-7@clinique.mssante.fr>"


def test_non_ascii_headers_pass_as_they_are() -> None:
    fields = envelope_fields(NON_ASCII)
    assert fields[1] == b"=?UTF-8?B?UsOpc3VsdGF0cyBkJ2FuYWx5c2Ugw6AgdsOpcmlmaWVy?="
    assert fields[2] == (
        (
            b"=?UTF-8?Q?Fran=C3=A7oise_M=C3=BCller?=",
            None,
            b"francoise.muller",
            b"hopital.mssante.fr",
        ),
    )
    assert fields[5] == ((RAW_UTF8_NAME, None, b"zoe.lefevre", b"cabinet.mssante.fr"),)


def test_missing_fields_are_nil() -> None:
    fields = envelope_fields(MALFORMED)
    assert fields[0] is None
    assert fields[5:] == (None, None, None, None, None)


def test_groups_are_marked_as_rfc_3501_says() -> None:
    raw = (
        b'To: Equipe: a@b.fr, "Doe, J" <j@d.fr>;, solo@x.fr\r\nCc: undisclosed-recipients:;\r\n\r\n'
    )
    fields = envelope_fields(raw)
    assert fields[5] == (
        (None, None, b"Equipe", None),
        (None, None, b"a", b"b.fr"),
        (b"Doe, J", None, b"j", b"d.fr"),
        (None, None, None, None),
        (None, None, b"solo", b"x.fr"),
    )
    assert fields[6] == ((None, None, b"undisclosed-recipients", None), (None, None, None, None))


def test_source_route_goes_to_adl_and_folding_is_undone() -> None:
    raw = b"From: Old\r\n Style <@relay1,@relay2:user@host.fr>\r\n\r\n"
    assert envelope_fields(raw)[2] == ((b"Old Style", b"@relay1,@relay2", b"user", b"host.fr"),)


def test_imapclient_builds_its_envelope_object() -> None:
    from imapclient.response_parser import parse_fetch_response

    fetched = parse_fetch_response([b"1 (ENVELOPE " + envelope(SIMPLE) + b")"])
    parsed = fetched[1][b"ENVELOPE"]
    assert isinstance(parsed, Envelope)
    assert parsed.subject == b"Compte rendu consultation"
    assert str(parsed.from_[0]) == "Dr Gregory House <gregory.house@hopital.mssante.fr>"


def test_envelope_cache_keeps_recent_envelopes_within_its_budget() -> None:
    from mss.imap.envelope import envelope_of
    from mss.imap.fetch_render import RenderedCache, _Parsed

    def message(n: int, recipients: int = 1) -> _Parsed:
        to = ", ".join(f"<r{i}@mss.localhost>" for i in range(recipients))
        return _Parsed(f"Subject: m{n}\r\nTo: {to}\r\n\r\nbody\r\n".encode())

    one = len(envelope(b"Subject: m1\r\nTo: <r0@mss.localhost>\r\n\r\n"))
    cache = RenderedCache(budget_bytes=one * 100 * 3)

    def rendered(parsed: _Parsed):  # what fetch_items hands the cache for an ENVELOPE
        return lambda: envelope_of(parsed.header)

    for n in range(1, 4):
        assert cache.get(f"k{n}", rendered(message(n))) == envelope(message(n).raw)
    assert cache.get("k1", rendered(message(99))) == envelope(message(1).raw)  # content-keyed
    big = message(5, recipients=400)
    assert cache.get("k5", rendered(big)) == envelope(big.raw)  # too large: not kept
    assert "k5" not in cache._items
    for n in range(6, 400):
        cache.get(f"k{n}", rendered(message(n)))
    assert cache.used <= cache.budget
    assert "k2" not in cache._items and "k399" in cache._items
