"""Certificate profiles of the dev PKI and how a certificate tells which one it is.

IGC-Santé names each profile by a certificate policy OID; MSS marks its dev certificates
the same way, under the ITU-T example arc `2.999` (X.660) so that no dev certificate can
pass for a real one. The marker of a certificate's kind is, in this order:

1. a certificate policy OID listed in `POLICY_KINDS` (dev profiles, and the place to add
   the production IGC-Santé policy OIDs of the operator's contract);
2. otherwise its shape: EKU serverAuth → operator ("SERV SSL" profile); subject
   serialNumber `8` + 11 digits → professional (CPS: `8` + RPPS is the national
   identifier of a professional, as in the directory's "Identification nationale PP");
   EKU clientAuth alone → application.

Professional certificates carry the RPPS as subject `serialNumber=8<RPPS>` (MSS choice;
UID is not used), their common name being the professional's name.
"""

from __future__ import annotations

import enum
import re

from cryptography import x509


class CertificateKind(enum.StrEnum):
    OPERATOR = "operator"  # server certificate of an operator; also its client certificate
    APPLICATION = "application"  # software of a legal person (APP mailboxes)
    PROFESSIONAL = "professional"  # a health professional (CPS-like), identified by RPPS
    UNKNOWN = "unknown"


# Dev policy OIDs (ITU-T example arc 2.999; "71" echoes the ASIP-Santé arc 1.2.250.1.71).
OPERATOR_POLICY = x509.ObjectIdentifier("2.999.1.71.4.2.1")
APPLICATION_POLICY = x509.ObjectIdentifier("2.999.1.71.4.2.2")
PROFESSIONAL_POLICY = x509.ObjectIdentifier("2.999.1.71.4.2.3")

POLICY_KINDS: dict[x509.ObjectIdentifier, CertificateKind] = {
    OPERATOR_POLICY: CertificateKind.OPERATOR,
    APPLICATION_POLICY: CertificateKind.APPLICATION,
    PROFESSIONAL_POLICY: CertificateKind.PROFESSIONAL,
}

KIND_POLICIES: dict[CertificateKind, x509.ObjectIdentifier] = {
    kind: oid for oid, kind in POLICY_KINDS.items()
}

RPPS_PATTERN = re.compile(r"\d{11}")
NATIONAL_ID_PATTERN = re.compile(r"8(\d{11})")

DEFAULT_VALIDITY_DAYS = 3 * 365  # IGC-Santé certificates are valid 3 years


def national_id_for_rpps(rpps: str) -> str:
    """`8` + RPPS: the national identifier of a professional (directory convention)."""
    if not RPPS_PATTERN.fullmatch(rpps):
        raise ValueError(f"an RPPS number has 11 digits, not {rpps!r}")
    return "8" + rpps


def rpps_from_national_id(value: str) -> str | None:
    """The RPPS inside `8<RPPS>`, or None when the value is not of that form."""
    match = NATIONAL_ID_PATTERN.fullmatch(value.strip())
    return match.group(1) if match else None
