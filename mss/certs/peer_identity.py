"""Certificate → who it is: a pure function over the peer's certificate.

Adapters call it after the TLS handshake with `getpeercert(binary_form=True)`; the kind
comes from the profile marker documented in `mss.certs.profiles` (policy OID, else EKU
and subject shape). It does not check trust: that is the handshake's and
`verify_certificate_chain`'s job, and the trust list's DN check is MSS policy T1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mss.certs.chain_check import CertificateInput, as_certificate
from mss.certs.distinguished_names import subject_dn
from mss.certs.profiles import POLICY_KINDS, CertificateKind, rpps_from_national_id
from mss.identity import Principal, PrincipalKind

_Ext = TypeVar("_Ext", bound=x509.ExtensionType)


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    """What a certificate says about its holder."""

    subject_dn: str  # RFC 4514, trust-list order: CN=...,OU=...,O=...,ST=...,C=FR
    kind: CertificateKind
    common_name: str
    structure_id: str | None  # subject OU (structure identifier) when present
    rpps: str | None  # professionals only
    dns_names: tuple[str, ...]
    serial: int

    def to_principal(self) -> Principal:
        """The acting principal (docs/architecture.md §3); an unknown profile is not a principal."""
        if self.kind is CertificateKind.OPERATOR:
            return Principal(PrincipalKind.PEER_OPERATOR, self.subject_dn, self.common_name)
        if self.kind is CertificateKind.APPLICATION:
            return Principal(PrincipalKind.APPLICATION, self.subject_dn, self.common_name)
        if self.kind is CertificateKind.PROFESSIONAL and self.rpps:
            return Principal(PrincipalKind.PROFESSIONAL, self.rpps, self.common_name)
        raise ValueError(f"certificate {self.subject_dn!r} matches no known profile")


def _first_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attributes = name.get_attributes_for_oid(oid)
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _extension(certificate: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _kind(certificate: x509.Certificate, rpps: str | None) -> CertificateKind:
    policies = _extension(certificate, x509.CertificatePolicies)
    if policies is not None:
        for policy in policies:
            kind = POLICY_KINDS.get(policy.policy_identifier)
            if kind is not None:
                return kind
    usages = _extension(certificate, x509.ExtendedKeyUsage)
    usage_set = set(usages) if usages is not None else set()
    if ExtendedKeyUsageOID.SERVER_AUTH in usage_set:
        return CertificateKind.OPERATOR
    if rpps is not None:
        return CertificateKind.PROFESSIONAL
    if ExtendedKeyUsageOID.CLIENT_AUTH in usage_set:
        return CertificateKind.APPLICATION
    return CertificateKind.UNKNOWN


def identify_certificate(certificate: CertificateInput) -> CertificateIdentity:
    """Subject DN, kind, RPPS (professionals) of a certificate given as object, DER or PEM."""
    cert = as_certificate(certificate)
    national_id = _first_value(cert.subject, NameOID.SERIAL_NUMBER)
    rpps = rpps_from_national_id(national_id) if national_id else None
    kind = _kind(cert, rpps)
    san = _extension(cert, x509.SubjectAlternativeName)
    return CertificateIdentity(
        subject_dn=subject_dn(cert),
        kind=kind,
        common_name=_first_value(cert.subject, NameOID.COMMON_NAME) or "",
        structure_id=_first_value(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        rpps=rpps if kind is CertificateKind.PROFESSIONAL else None,
        dns_names=tuple(san.get_values_for_type(x509.DNSName)) if san is not None else (),
        serial=cert.serial_number,
    )
