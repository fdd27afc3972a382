"""Certificate and CRL builders of the dev PKI: pure functions, no files (RFC 5280).

Keys are ECDSA P-256: generated in a millisecond (a test session builds dozens), accepted
by every TLS 1.2/1.3 client, and 128-bit strong like RSA 3072. IGC-Santé itself issues
RSA 2048; the TLS contexts accept both, so a real certificate drops in unchanged.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mss.certs.profiles import KIND_POLICIES, CertificateKind, national_id_for_rpps

SIGNATURE_HASH = hashes.SHA256()
CRL_LIFETIME = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class CaNames:
    """Subjects of a PKI's two CAs (IGC-Santé style: CN, OU, O, C)."""

    root_common_name: str
    intermediate_common_name: str
    organisational_unit: str
    organisation: str
    country: str = "FR"


IGC_SANTE_TEST_NAMES = CaNames(
    root_common_name="TEST AC RACINE IGC-SANTE ELEMENTAIRE",
    intermediate_common_name="TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
    organisational_unit="IGC-SANTE TEST",
    organisation="ASIP-SANTE",
)

FOREIGN_TEST_NAMES = CaNames(
    root_common_name="FOREIGN TEST ROOT CA",
    intermediate_common_name="FOREIGN TEST ISSUING CA",
    organisational_unit="NOT IGC-SANTE",
    organisation="Foreign Test PKI",
    country="DE",
)


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _ca_name(names: CaNames, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, names.country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, names.organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, names.organisational_unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def operator_subject(host: str, structure_id: str, organisation: str, department: str) -> x509.Name:
    """`CN=<host>,OU=<structure id>,O=<org>,ST=<dept>,C=FR`, the trust list's DN shape."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, department),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, structure_id),
            x509.NameAttribute(NameOID.COMMON_NAME, host),
        ]
    )


def application_subject(name: str, structure_id: str, organisation: str) -> x509.Name:
    """`CN=<application>,OU=<structure id>,O=<legal person>,C=FR`."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, structure_id),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def professional_subject(
    rpps: str, name: str, organisation: str = "", structure_id: str = ""
) -> x509.Name:
    """`CN=<name>,serialNumber=8<RPPS>[,OU=<structure>][,O=<org>],C=FR` (see profiles)."""
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if structure_id:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, structure_id))
    attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, national_id_for_rpps(rpps)))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    return x509.Name(attributes)


def _key_ids(
    builder: x509.CertificateBuilder,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Certificate | None,
) -> x509.CertificateBuilder:
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
    )
    issuer_key = public_key if issuer is None else issuer.public_key()
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key),  # type: ignore[arg-type]
        critical=False,
    )


def _key_usage(*, issues_certificates: bool) -> x509.KeyUsage:
    """A CA signs certificates and CRLs only, a leaf signs only (RFC 5280 §4.2.1.3)."""
    return x509.KeyUsage(
        digital_signature=not issues_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=issues_certificates,
        crl_sign=issues_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def build_root(
    names: CaNames, key: ec.EllipticCurvePrivateKey, now: dt.datetime, days: int = 20 * 365
) -> x509.Certificate:
    """Self-signed root CA (RFC 5280 §4.2.1.9: CA, no path length limit below it but one)."""
    name = _ca_name(names, names.root_common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(issues_certificates=True), critical=True)
    )
    return _key_ids(builder, key.public_key(), None).sign(key, SIGNATURE_HASH)


def build_intermediate(
    names: CaNames,
    key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    days: int = 10 * 365,
) -> x509.Certificate:
    """Issuing CA for organisations, signed by the root; issues leaves only (pathlen 0)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_ca_name(names, names.intermediate_common_name))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + dt.timedelta(days=days), root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(issues_certificates=True), critical=True)
    )
    return _key_ids(builder, key.public_key(), root).sign(root_key, SIGNATURE_HASH)


_KIND_USAGES: dict[CertificateKind, list[x509.ObjectIdentifier]] = {
    CertificateKind.OPERATOR: [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    CertificateKind.APPLICATION: [ExtendedKeyUsageOID.CLIENT_AUTH],
    CertificateKind.PROFESSIONAL: [
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ],
}


def build_leaf(
    kind: CertificateKind,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    dns_names: Sequence[str] = (),
) -> x509.Certificate:
    """An end-entity certificate of `kind`: its EKU and policy OID mark the profile."""
    if kind is CertificateKind.UNKNOWN:
        raise ValueError("cannot issue a certificate of unknown kind")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(issues_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(_KIND_USAGES[kind]), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(KIND_POLICIES[kind], None)]),
            critical=False,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in dns_names]),
            critical=False,
        )
    return _key_ids(builder, public_key, issuer).sign(issuer_key, SIGNATURE_HASH)


def _general_name(name: str) -> x509.GeneralName:
    """An IP address literal as an iPAddress SAN (clients check an address they connect
    to against those, RFC 6125 §1.7.2 / RFC 5280 §4.2.1.6), anything else a dNSName."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def build_crl(
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    revoked: Sequence[tuple[int, dt.datetime]],
    now: dt.datetime,
    number: int,
) -> x509.CertificateRevocationList:
    """The issuer's CRL (RFC 5280 §5) listing `(serial, revocation time)` pairs."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now)
        .next_update(now + CRL_LIFETIME)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(issuer_key, SIGNATURE_HASH)
