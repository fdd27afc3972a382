"""Certificate subject DNs in one comparable form.

The trust list writes `CN=a,OU=b,O=c,ST=d,C=FR`; a TLS stack may give `cn = a, ou = b`.
Normalised form: RDNs split on unescaped commas, attribute types upper-cased,
whitespace around `,`, `+` and `=` removed, values otherwise kept as written.
"""

from __future__ import annotations

import re

_RDN_SEPARATOR = re.compile(r"(?<!\\),")
_MULTI_VALUE = re.compile(r"(?<!\\)\+")


def _attribute(text: str) -> str:
    kind, eq, value = text.partition("=")
    if not eq:
        return text.strip()
    return f"{kind.strip().upper()}={value.strip()}"


def normalise_dn(dn: str) -> str:
    rdns = []
    for rdn in _RDN_SEPARATOR.split(dn.strip()):
        if not rdn.strip():
            continue
        rdns.append("+".join(_attribute(part) for part in _MULTI_VALUE.split(rdn)))
    return ",".join(rdns)


def same_dn(left: str, right: str) -> bool:
    return normalise_dn(left) == normalise_dn(right)
