"""Certificate subjects as RFC 4514 strings, in the trust list's order and spelling.

Comparison lives in `mss.distinguished_names` (one function for every part).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from mss.distinguished_names import (
    DnKey,
    DnSyntaxError,
    comparable_dn,
    dn_key,
    dn_lookup_key,
    same_dn,
)

__all__ = [
    "DnKey",
    "DnSyntaxError",
    "comparable_dn",
    "dn_key",
    "dn_lookup_key",
    "name_to_dn",
    "same_dn",
    "subject_dn",
]

# Names used when printing a certificate's subject (RFC 4514 §3 plus the usual extras).
_DISPLAY_NAMES: dict[x509.ObjectIdentifier, str] = {
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
    NameOID.TITLE: "title",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}


def subject_dn(certificate: x509.Certificate) -> str:
    """The certificate subject as an RFC 4514 string, in the trust list's order and spelling."""
    return name_to_dn(certificate.subject)


def name_to_dn(name: x509.Name) -> str:
    """RFC 4514 string of an x509 Name (last RDN first, as the trust list writes it)."""
    return name.rfc4514_string(_DISPLAY_NAMES)
