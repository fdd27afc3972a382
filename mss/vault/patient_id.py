"""Patient identifiers of XDS metadata (HL7 v2 CX) and the INS they carry.

The INS is the NIR (15 characters: 13 + a 2-digit key) under OID 1.2.250.1.213.1.4.8,
a test NIR under `.10`, or a NIA under `.9` (docs/architecture.md §9, XDM layout; ANS référentiel
INS). Value form: `279035121518989^^^&1.2.250.1.213.1.4.8&ISO`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

INS_NIR_OID = "1.2.250.1.213.1.4.8"
INS_NIA_OID = "1.2.250.1.213.1.4.9"
INS_TEST_NIR_OID = "1.2.250.1.213.1.4.10"
INS_OIDS = frozenset({INS_NIR_OID, INS_NIA_OID, INS_TEST_NIR_OID})

_NIR_SHAPE = re.compile(r"^[12378][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}[0-9]{2}$")


@dataclass(frozen=True, slots=True)
class PatientIdentifier:
    """One CX value: the identifier and the OID of its assigning authority."""

    value: str
    authority_oid: str

    @property
    def is_ins(self) -> bool:
        return self.authority_oid in INS_OIDS

    def render(self) -> str:
        return f"{self.value}^^^&{self.authority_oid}&ISO"


def parse_cx(text: str) -> PatientIdentifier | None:
    """Read `id^^^&oid&ISO` (HL7 v2 CX, IHE ITI TF-3 §4.2.3.1.7); None when unusable."""
    components = text.strip().split("^")
    ident = components[0].strip()
    if not ident:
        return None
    oid = ""
    if len(components) >= 4:
        authority = components[3].split("&")
        if len(authority) >= 2:
            oid = authority[1].strip()
    return PatientIdentifier(ident, oid)


class InsCheck(enum.Enum):
    MATCHES = "matches"
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    MISMATCH = "mismatch"


def nir_key_is_valid(nir: str) -> bool:
    """Key = 97 - (13 first characters mod 97), Corsica `2A`/`2B` read as 19/18 (INSEE)."""
    body = nir[:13].replace("2A", "19").replace("2B", "18")
    return body.isdigit() and 97 - int(body) % 97 == int(nir[13:])


def is_well_formed_ins(value: str) -> bool:
    candidate = value.upper()
    return _NIR_SHAPE.match(candidate) is not None and nir_key_is_valid(candidate)


def check_ins(identifier: PatientIdentifier | None, recipient_ins: str) -> InsCheck:
    """Compare a document's patient id with the INS of the recipient mailbox.

    No identifier, or one not issued under an INS OID → MISSING (903); an INS that is not
    15 characters with a valid key → INCOMPLETE (905); another patient → MISMATCH (904).
    """
    if identifier is None or not identifier.is_ins:
        return InsCheck.MISSING
    if not is_well_formed_ins(identifier.value):
        return InsCheck.INCOMPLETE
    if identifier.value.upper() != recipient_ins.strip().upper():
        return InsCheck.MISMATCH
    return InsCheck.MATCHES
