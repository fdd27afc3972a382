"""The SASL bearer messages (RFC 7628 §3.1, Google XOAUTH2), pure parsing."""

from __future__ import annotations

import json

import pytest

from mss.oidc.sasl import (
    OAUTHBEARER,
    XOAUTH2,
    BearerCredentials,
    SaslMalformed,
    error_challenge,
    parse_oauthbearer,
    parse_xoauth2,
)


def test_oauthbearer_with_and_without_authorisation_identity() -> None:
    message = (b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
               b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01")
    assert parse_oauthbearer(message) == BearerCredentials(
        "user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==")  # RFC 7628 §4.1
    assert parse_oauthbearer(b"n,,\x01auth=Bearer abc\x01\x01").authzid is None
    assert parse_oauthbearer(b"y,a=a=2Cb=3Dc,\x01auth=bearer abc\x01\x01").authzid == "a,b=c"


def test_xoauth2() -> None:
    message = (b"user=someuser@example.com\x01"
               b"auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\x01\x01")
    parsed = parse_xoauth2(message)
    assert parsed.authzid == "someuser@example.com" and parsed.token.startswith("ya29.")


@pytest.mark.parametrize("message", [
    b"p=tls-unique,,\x01auth=Bearer abc\x01\x01",  # channel binding is not offered
    b"n,,\x01auth=Bearer abc\x01",  # one final separator only
    b"n,a=x=ZZ,\x01auth=Bearer abc\x01\x01",  # bad escape
    b"n,,\x01auth=Basic abc\x01\x01",  # not a bearer token
    b"n,,\x01host=h\x01\x01",  # no auth
    b"\xff,,\x01auth=Bearer abc\x01\x01",
])
def test_malformed_oauthbearer(message: bytes) -> None:
    with pytest.raises(SaslMalformed):
        parse_oauthbearer(message)


def test_error_challenges() -> None:
    bearer = json.loads(error_challenge(OAUTHBEARER, openid_configuration="https://p/x"))
    assert bearer == {"status": "invalid_token", "scope": "openid",
                      "openid-configuration": "https://p/x"}
    assert json.loads(error_challenge(XOAUTH2))["status"] == "401"
