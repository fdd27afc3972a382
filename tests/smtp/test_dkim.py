"""DKIM signing and verification against a key table, never DNS (RFC 6376, RFC 8463)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mss.smtp.dkim_signatures import (
    DkimResult,
    dkim_key_record,
    header_names,
    headers_to_sign,
    sign_message,
    verify_message,
)

DOMAIN = "hopital-a.mssante.fr"
SELECTOR = "mss2026"

MESSAGE = (
    b"From: Dr A <a@hopital-a.mssante.fr>\r\n"
    b"To: 279035121518989@patient.mssante.fr\r\n"
    b"Subject: Compte rendu\r\n"
    b"Date: Thu, 01 Jan 2026 10:00:00 +0100\r\n"
    b"Message-ID: <1@hopital-a.mssante.fr>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-MSS-NIL: logiciel-1.0\r\n"
    b"X-MSS-INS: O\r\n"
    b"\r\n"
    b"Bonjour,\r\nvoici le compte rendu.\r\n"
)


def ed25519_key() -> tuple[str, str]:
    """(dkimpy private key: base64 raw seed, TXT record built by hand from the raw key)."""
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    record = f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}"
    return base64.b64encode(seed).decode(), record


def rsa_key() -> tuple[str, str]:
    """(PKCS#8 PEM private key, TXT record with the DER SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@pytest.fixture(scope="module")
def ed_key() -> tuple[str, str]:
    return ed25519_key()


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return rsa_key()


def test_ed25519_signature_verifies_with_the_trust_list_key(ed_key: tuple[str, str]) -> None:
    private, record = ed_key
    signed = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private)
    assert signed.startswith(b"DKIM-Signature: ")
    assert signed.endswith(MESSAGE)
    assert b"a=ed25519-sha256" in signed
    result = verify_message(signed, {(DOMAIN, SELECTOR): record})
    assert result == DkimResult("pass", DOMAIN, SELECTOR)


def test_rsa_signature_verifies_with_the_trust_list_key(rsa_keys: tuple[str, str]) -> None:
    private, record = rsa_keys
    signed = sign_message(
        MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private, algorithm="rsa-sha256"
    )
    assert b"a=rsa-sha256" in signed
    assert verify_message(signed, {(DOMAIN, SELECTOR): record}).result == "pass"


def test_ed25519_key_may_also_be_given_as_pem(ed_key: tuple[str, str]) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signed = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=pem)
    keys = {(DOMAIN, SELECTOR): dkim_key_record(key.public_key())}
    assert verify_message(signed, keys).result == "pass"


def test_key_record_matches_the_documented_format(ed_key: tuple[str, str]) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert dkim_key_record(key.public_key()) == (
        f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    )


@pytest.mark.parametrize("algorithm", ["ed25519-sha256", "rsa-sha256"])
def test_tampered_body_fails(
    algorithm: str, ed_key: tuple[str, str], rsa_keys: tuple[str, str]
) -> None:
    private, record = ed_key if algorithm == "ed25519-sha256" else rsa_keys
    signed = sign_message(
        MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private,
        algorithm=algorithm,  # type: ignore[arg-type]
    )
    tampered = signed.replace(b"voici le compte rendu.", b"voici un autre texte.")
    result = verify_message(tampered, {(DOMAIN, SELECTOR): record})
    assert result.result == "fail"
    assert result.domain == DOMAIN
    assert "body hash" in result.reason


def test_tampered_signed_header_fails(ed_key: tuple[str, str]) -> None:
    private, record = ed_key
    signed = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private)
    tampered = signed.replace(b"Subject: Compte rendu", b"Subject: [FIN]")
    assert verify_message(tampered, {(DOMAIN, SELECTOR): record}).result == "fail"


@pytest.mark.parametrize(
    "added",
    [b"Reply-To: pirate@ailleurs.mssante.fr\r\n", b"X-MSS-MES: FIN\r\n",
     b"From: someone@else.fr\r\n"],
)
def test_adding_an_oversigned_header_breaks_the_signature(
    ed_key: tuple[str, str], added: bytes
) -> None:
    private, record = ed_key
    signed = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private)
    head, _, body = signed.partition(b"\r\n\r\n")
    with_added = head + b"\r\n" + added.rstrip(b"\r\n") + b"\r\n\r\n" + body
    assert verify_message(with_added, {(DOMAIN, SELECTOR): record}).result == "fail"


def test_unknown_selector_is_a_permerror(ed_key: tuple[str, str]) -> None:
    private, record = ed_key
    signed = sign_message(MESSAGE, domain=DOMAIN, selector="retired", private_key=private)
    result = verify_message(signed, {(DOMAIN, SELECTOR): record})
    assert result == DkimResult("permerror", DOMAIN, "retired", "no key for signature")


def test_key_of_another_operator_fails(ed_key: tuple[str, str]) -> None:
    private, _ = ed_key
    _, other_record = ed25519_key()
    signed = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private)
    assert verify_message(signed, {(DOMAIN, SELECTOR): other_record}).result == "fail"


def test_malformed_key_record_is_a_permerror(ed_key: tuple[str, str]) -> None:
    private, _ = ed_key
    signed = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private)
    result = verify_message(signed, {(DOMAIN, SELECTOR): "v=DKIM1; k=ed25519; p=AAAA"})
    assert result.result == "permerror"


def test_unsigned_message_is_none() -> None:
    assert verify_message(MESSAGE, {}).result == "none"


def test_second_signature_can_pass_when_the_first_has_no_key(ed_key: tuple[str, str]) -> None:
    private, record = ed_key
    once = sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key=private)
    twice = sign_message(once, domain="relay.example.fr", selector="x", private_key=private)
    assert verify_message(twice, {(DOMAIN, SELECTOR): record}).result == "pass"


def test_signed_header_list_covers_mss_headers_and_oversigns() -> None:
    chosen = headers_to_sign(MESSAGE)
    assert chosen.count("from") == 2
    assert chosen.count("reply-to") == 1  # absent, listed once so it cannot be added
    assert chosen.count("subject") == 2
    assert {"x-mss-nil", "x-mss-ins", "x-mss-mes", "to", "date", "message-id"} <= set(chosen)
    assert "received" not in chosen


def test_header_names_stop_at_the_body() -> None:
    assert header_names(b"A: 1\r\n  folded\r\nB: 2\r\n\r\nC: body\r\n") == ["a", "b"]


def test_rsa_key_must_be_pem() -> None:
    with pytest.raises(ValueError):
        sign_message(MESSAGE, domain=DOMAIN, selector=SELECTOR, private_key="AAAA",
                     algorithm="rsa-sha256")
