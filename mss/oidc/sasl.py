"""SASL bearer-token mechanisms, sans-IO (docs/architecture.md §8.1): parse the client's message and
build the server's error challenge. IMAP and SMTP adapters move the bytes.

- OAUTHBEARER, RFC 7628 §3.1: `gs2-header %x01 *(key=value %x01) %x01`, the GS2 header
  (RFC 5801 §4) is `n,a=<authzid>,` or `y,,`; channel binding (`p=`) is not offered.
- XOAUTH2 (Google's, used by mail clients for Pro Santé Connect):
  `user=<authzid> %x01 auth=Bearer <token> %x01 %x01`.
Errors, RFC 7628 §3.2.2: the server answers a failed token with a JSON status in a
challenge; the client must answer with a lone %x01 (RFC 7628 §3.2.3; XOAUTH2 clients
send an empty response) before the server's final failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

XOAUTH2 = "XOAUTH2"
OAUTHBEARER = "OAUTHBEARER"
MECHANISMS = (OAUTHBEARER, XOAUTH2)
KVSEP = b"\x01"


class SaslMalformed(Exception):
    """The client message does not follow the mechanism's syntax."""


@dataclass(frozen=True, slots=True)
class BearerCredentials:
    authzid: str | None
    token: str


def _bearer(value: str) -> str:
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise SaslMalformed("auth is not a Bearer token")
    return token


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslMalformed("not UTF-8") from None


def _saslname(value: str) -> str:
    """RFC 5801 §4: `=2C` is a comma and `=3D` an equals sign; any other `=` is invalid."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "=":
            code = value[i + 1:i + 3].upper()
            if code not in ("2C", "3D"):
                raise SaslMalformed("bad escape in the authorisation identity")
            out.append("," if code == "2C" else "=")
            i += 3
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_oauthbearer(data: bytes) -> BearerCredentials:
    """RFC 7628 §3.1 initial client response."""
    if not data.endswith(KVSEP + KVSEP):
        raise SaslMalformed("missing final separators")
    text = _decode(data[:-2])
    header, *pairs = text.split("\x01")
    flag, _, rest = header.partition(",")
    if flag not in ("n", "y") or not rest.endswith(","):
        raise SaslMalformed("bad GS2 header (channel binding is not offered)")
    authz = rest[:-1]
    authzid = None
    if authz:
        if not authz.startswith("a="):
            raise SaslMalformed("bad GS2 authorisation identity")
        authzid = _saslname(authz[2:]) or None
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isalpha():
            raise SaslMalformed("bad key/value pair")
        values.setdefault(key, value)
    if "auth" not in values:
        raise SaslMalformed("no auth value")
    return BearerCredentials(authzid, _bearer(values["auth"]))


def parse_xoauth2(data: bytes) -> BearerCredentials:
    """Google's XOAUTH2 initial client response."""
    if not data.endswith(KVSEP + KVSEP):
        raise SaslMalformed("missing final separators")
    values: dict[str, str] = {}
    for pair in _decode(data[:-2]).split("\x01"):
        key, sep, value = pair.partition("=")
        if not sep:
            raise SaslMalformed("bad key/value pair")
        values.setdefault(key.lower(), value)
    if "auth" not in values:
        raise SaslMalformed("no auth value")
    return BearerCredentials(values.get("user") or None, _bearer(values["auth"]))


def parse_bearer(mechanism: str, data: bytes) -> BearerCredentials:
    return parse_oauthbearer(data) if mechanism == OAUTHBEARER else parse_xoauth2(data)


def error_challenge(mechanism: str, *, openid_configuration: str = "",
                    scope: str = "openid") -> bytes:
    """The JSON status of RFC 7628 §3.2.2 (XOAUTH2: Google's form with an HTTP status)."""
    if mechanism == OAUTHBEARER:
        body: dict[str, str] = {"status": "invalid_token", "scope": scope}
        if openid_configuration:
            body["openid-configuration"] = openid_configuration
    else:
        body = {"status": "401", "schemes": "bearer", "scope": scope}
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def is_error_acknowledgement(data: bytes) -> bool:
    """RFC 7628 §3.2.3: the client's answer to the error challenge (XOAUTH2: empty)."""
    return data in (b"", KVSEP)
