"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mss.imap.mutf7 import InvalidModifiedUtf7, decode_mailbox_name, encode_mailbox_name

KNOWN = [
    ("INBOX", b"INBOX"),
    ("Envoyés", b"Envoy&AOk-s"),
    ("a&b", b"a&-b"),
    ("~peter/mail/台北/日本語", b"~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("Éléments supprimés", b"&AMk-l&AOk-ments supprim&AOk-s"),
    ("", b""),
]


@pytest.mark.parametrize(("text", "wire"), KNOWN)
def test_known_names_encode_as_rfc_3501_examples(text: str, wire: bytes) -> None:
    assert encode_mailbox_name(text) == wire


@pytest.mark.parametrize(("text", "wire"), KNOWN)
def test_known_names_decode(text: str, wire: bytes) -> None:
    assert decode_mailbox_name(wire) == text


@pytest.mark.parametrize(
    "wire",
    [
        b"caf\xc3\xa9",  # raw 8-bit
        b"tab\there",  # control character
        b"&AOk",  # unterminated shift
        b"&A-",  # truncated base64
        b"&AOl-",  # non-zero padding bits
        b"&AGE-",  # "a" must not be encoded
        b"&AOk-&AOk-",  # two adjacent encoded runs
        b"&2D0A6Q-",  # high surrogate followed by a non-surrogate
        b"&2D0-",  # lone high surrogate
        b"&AO*-",  # "*" is not in the modified base64 alphabet
    ],
)
def test_invalid_wire_names_are_rejected(wire: bytes) -> None:
    with pytest.raises(InvalidModifiedUtf7):
        decode_mailbox_name(wire)


def test_ampersand_after_an_encoded_run_is_allowed() -> None:
    assert decode_mailbox_name(b"&AOk-&-") == "é&"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))))
def test_round_trip_of_any_text(text: str) -> None:
    wire = encode_mailbox_name(text)
    assert wire.isascii()
    assert decode_mailbox_name(wire) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_decoder_raises_only_its_own_error(data: bytes) -> None:
    try:
        text = decode_mailbox_name(data)
    except InvalidModifiedUtf7:
        return
    assert encode_mailbox_name(text) == data  # strict: only canonical input is accepted
