"""Subject DNs as the trust list writes them, and a robust way to compare them.

The trust list ("liste blanche") carries `<DNCertificatOperateur>` strings such as
`CN=smtp-1.example.fr,OU=1750048886,O=GIP X,ST=Paris (75),C=FR`: RFC 4514 order (most
specific RDN first). Operators type them by hand, so the same subject may come with spaces
after commas, lower-case attribute types, `S=` for `ST=`, another letter case in the
values, or in OpenSSL's `/C=FR/ST=.../CN=...` form. Values compare as X.500
`caseIgnoreMatch` after RFC 4518 preparation (NFC, trimmed, inner spaces collapsed).

The one comparison of distinguished names, used everywhere a DN is stored or compared
(trust list, certificate bindings, application certificates, relay peers, the policy's
T1): pure string functions, so that the policy may use them too.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Attribute type spellings seen in the wild → one canonical upper-case type.
_TYPE_ALIASES: dict[str, str] = {
    "S": "ST",
    "STATEORPROVINCENAME": "ST",
    "2.5.4.8": "ST",
    "COMMONNAME": "CN",
    "2.5.4.3": "CN",
    "ORGANIZATIONNAME": "O",
    "2.5.4.10": "O",
    "ORGANIZATIONALUNITNAME": "OU",
    "2.5.4.11": "OU",
    "COUNTRYNAME": "C",
    "2.5.4.6": "C",
    "LOCALITYNAME": "L",
    "2.5.4.7": "L",
    "2.5.4.5": "SERIALNUMBER",
    "SN": "SURNAME",
    "2.5.4.4": "SURNAME",
    "GN": "GIVENNAME",
    "2.5.4.42": "GIVENNAME",
    "E": "EMAILADDRESS",
    "EMAIL": "EMAILADDRESS",
    "1.2.840.113549.1.9.1": "EMAILADDRESS",
    "USERID": "UID",
    "0.9.2342.19200300.100.1.1": "UID",
}

Ava = tuple[str, str]
DnKey = tuple[tuple[Ava, ...], ...]


class DnSyntaxError(ValueError):
    """The text is not a distinguished name (missing `=`, empty type...)."""


def _split_unescaped(text: str, separators: str) -> list[str]:
    """Split on separators not preceded by a backslash (RFC 4514 §2.4 escaping)."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    """Undo RFC 4514 §2.4 escapes: `\\,` and the like, and `\\XX` hex pairs (UTF-8)."""
    out = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out.extend(value[i + 1].encode())
            i += 2
            continue
        out.extend(char.encode())
        i += 1
    return out.decode("utf-8", errors="replace")


def _prepare_value(value: str) -> str:
    """RFC 4518 string preparation for caseIgnoreMatch: NFC, collapse spaces, fold case."""
    text = unicodedata.normalize("NFC", _unescape(value.strip()))
    return " ".join(text.split()).casefold()


def _canonical_type(attribute_type: str) -> str:
    upper = attribute_type.strip().upper()
    if not upper:
        raise DnSyntaxError("empty attribute type")
    return _TYPE_ALIASES.get(upper, upper)


def _rdn_texts(dn: str) -> list[str]:
    """RDNs, most specific first; the OpenSSL `/C=FR/.../CN=x` form is reversed."""
    text = dn.strip()
    if text.startswith("/"):
        return list(reversed([part for part in _split_unescaped(text[1:], "/") if part]))
    return [part for part in _split_unescaped(text, ",;") if part.strip()]


def dn_key(dn: str) -> DnKey:
    """A comparable form of a DN: canonical types, prepared values, multi-valued RDNs sorted."""
    rdns: list[tuple[Ava, ...]] = []
    for rdn_text in _rdn_texts(dn):
        avas: list[Ava] = []
        for ava_text in _split_unescaped(rdn_text, "+"):
            attribute_type, sep, value = ava_text.partition("=")
            if not sep:
                raise DnSyntaxError(f"no '=' in {ava_text.strip()!r}")
            avas.append((_canonical_type(attribute_type), _prepare_value(value)))
        rdns.append(tuple(sorted(avas)))
    if not rdns:
        raise DnSyntaxError("empty distinguished name")
    return tuple(rdns)


def _escape(value: str) -> str:
    return "".join("\\" + char if char in ',+\\=;"<>#' else char for char in value)


@lru_cache(maxsize=4096)
def comparable_dn(dn: str) -> str:
    """`dn_key` as one string: a stable dictionary or database key for a trust-list DN.
    Kept per text: each message on the MX compares its peer's DN several times (the
    policy's T1, the operator's rights), and a peer sends many messages."""
    return ",".join("+".join(f"{t}={_escape(v)}" for t, v in rdn) for rdn in dn_key(dn))


def dn_lookup_key(dn: str) -> str:
    """The one key under which a DN is stored and looked up (trust list, certificate
    bindings, application certificates, relay peers): `comparable_dn`, or for a text that
    is not a DN, a key no real DN can have, so that it matches only itself."""
    try:
        return comparable_dn(dn)
    except DnSyntaxError:
        text = " ".join(dn.split())
        return text if text.startswith("!") else "!" + text


def same_dn(first: str, second: str) -> bool:
    """True when two DN strings name the same subject (see the module docstring)."""
    try:
        return dn_key(first) == dn_key(second)
    except DnSyntaxError:
        return False
