"""Certificate → principal: DN in the trust-list form, kind from the profile, RPPS."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from operator_pki import HOST_B, SessionPki

from mss.certs import CertificateKind, identify_certificate
from mss.certs.issuing import new_private_key
from mss.identity import PrincipalKind


def test_operator_certificate_gives_trust_list_dn_and_peer_operator(
    session_pki: SessionPki,
) -> None:
    identity = identify_certificate(session_pki.operator_b.load_certificate())
    assert identity.subject_dn == (
        f"CN={HOST_B},OU=1750000002,O=GIP OPERATEUR B,ST=Rhône (69),C=FR"
    )
    assert identity.kind is CertificateKind.OPERATOR
    assert identity.structure_id == "1750000002"
    assert identity.dns_names == (HOST_B, "localhost")
    assert identity.rpps is None
    principal = identity.to_principal()
    assert principal.kind is PrincipalKind.PEER_OPERATOR
    assert principal.ident == identity.subject_dn


def test_application_certificate_gives_application_principal(session_pki: SessionPki) -> None:
    der = session_pki.application.load_certificate().public_bytes(serialization.Encoding.DER)
    identity = identify_certificate(der)
    assert identity.kind is CertificateKind.APPLICATION
    assert identity.subject_dn == "CN=Logiciel DPI,OU=1750000003,O=CH EXEMPLE,C=FR"
    principal = identity.to_principal()
    assert principal.kind is PrincipalKind.APPLICATION
    assert principal.display_name == "Logiciel DPI"


def test_professional_certificate_gives_rpps(session_pki: SessionPki) -> None:
    identity = identify_certificate(session_pki.professional.cert_path.read_bytes())
    assert identity.kind is CertificateKind.PROFESSIONAL
    assert identity.rpps == "10001234567"
    assert identity.subject_dn == "CN=Jeanne Martin,serialNumber=810001234567,C=FR"
    principal = identity.to_principal()
    assert principal.kind is PrincipalKind.PROFESSIONAL
    assert principal.ident == "10001234567"


def _certificate_without_policy(
    subject: list[x509.NameAttribute], usages: list[x509.ObjectIdentifier]
) -> x509.Certificate:
    """A certificate like a real IGC-Santé one whose policy OID MSS does not know."""
    key = new_private_key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize(
    ("subject", "usages", "kind"),
    [
        (
            [x509.NameAttribute(NameOID.COMMON_NAME, "mx.example.fr")],
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            CertificateKind.OPERATOR,
        ),
        (
            [
                x509.NameAttribute(NameOID.SERIAL_NUMBER, "899700000001"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Dr Test"),
            ],
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            CertificateKind.PROFESSIONAL,
        ),
        (
            [x509.NameAttribute(NameOID.COMMON_NAME, "Some software")],
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            CertificateKind.APPLICATION,
        ),
        (
            [x509.NameAttribute(NameOID.COMMON_NAME, "Nothing")],
            [],
            CertificateKind.UNKNOWN,
        ),
    ],
    ids=["server-auth-operator", "national-id-professional", "client-auth-application", "none"],
)
def test_kind_falls_back_to_the_certificate_shape(
    subject: list[x509.NameAttribute],
    usages: list[x509.ObjectIdentifier],
    kind: CertificateKind,
) -> None:
    assert identify_certificate(_certificate_without_policy(subject, usages)).kind is kind


def test_unknown_profile_is_not_a_principal() -> None:
    certificate = _certificate_without_policy(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Nothing")], []
    )
    with pytest.raises(ValueError, match="no known profile"):
        identify_certificate(certificate).to_principal()
