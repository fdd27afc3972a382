"""verify_certificate_chain names each reason a certificate is not acceptable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from operator_pki import SessionPki

from mss.certs import CertificateKind, ChainProblem, DevPki, verify_certificate_chain
from mss.certs.issuing import IGC_SANTE_TEST_NAMES, build_leaf, new_private_key, operator_subject
from mss.certs.key_files import load_private_key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check(pki: SessionPki, issued_cert_path: Path, now: dt.datetime | None = None) -> str:
    paths = pki.pki.paths
    certificate = issued_cert_path.read_bytes()
    return verify_certificate_chain(certificate, now or _now(), paths.ca_bundle, paths.crl).reason


def test_valid_operator_certificate_is_accepted(session_pki: SessionPki) -> None:
    check = verify_certificate_chain(
        session_pki.operator_b.load_certificate(),
        _now(),
        session_pki.pki.paths.ca_bundle,
        session_pki.pki.crl(),
    )
    assert check.ok
    assert check.reason == ChainProblem.OK


def test_der_bytes_as_sent_in_tls_are_accepted(session_pki: SessionPki) -> None:
    der = session_pki.professional.load_certificate().public_bytes(serialization.Encoding.DER)
    paths = session_pki.pki.paths
    assert verify_certificate_chain(der, _now(), paths.ca_bundle, paths.crl).ok


def test_expired_certificate_is_named_expired(session_pki: SessionPki) -> None:
    check = verify_certificate_chain(
        session_pki.expired.load_certificate(),
        _now(),
        session_pki.pki.paths.ca_bundle,
        session_pki.pki.paths.crl,
    )
    assert not check.ok
    assert check.reason == ChainProblem.EXPIRED
    assert "expired" in check.detail


def test_future_certificate_is_named_not_yet_valid(session_pki: SessionPki) -> None:
    assert _check(session_pki, session_pki.not_yet_valid.cert_path) == ChainProblem.NOT_YET_VALID


def test_revoked_certificate_is_named_revoked(session_pki: SessionPki) -> None:
    assert _check(session_pki, session_pki.revoked.cert_path) == ChainProblem.REVOKED


def test_revoked_certificate_passes_without_a_crl(session_pki: SessionPki) -> None:
    certificate = session_pki.revoked.load_certificate()
    check = verify_certificate_chain(certificate, _now(), session_pki.pki.paths.ca_bundle, None)
    assert check.ok


def test_foreign_ca_is_named_unknown_ca(session_pki: SessionPki) -> None:
    assert _check(session_pki, session_pki.foreign_operator.cert_path) == ChainProblem.UNKNOWN_CA


def test_same_ca_names_with_other_keys_is_named_bad_signature(
    session_pki: SessionPki, tmp_path: Path
) -> None:
    impostor = DevPki.init(tmp_path / "impostor", IGC_SANTE_TEST_NAMES)
    issued = impostor.issue_operator("evil.test", "1", "EVIL", "Paris (75)")
    assert _check(session_pki, issued.cert_path) == ChainProblem.BAD_SIGNATURE


def test_stale_crl_is_named_crl_unavailable(session_pki: SessionPki) -> None:
    later = _now() + dt.timedelta(days=90)  # certificate still valid, CRL past next_update
    assert _check(session_pki, session_pki.operator_b.cert_path, later) == (
        ChainProblem.CRL_UNAVAILABLE
    )


def test_crl_of_another_issuer_is_named_crl_unavailable(session_pki: SessionPki) -> None:
    check = verify_certificate_chain(
        session_pki.operator_b.load_certificate(),
        _now(),
        session_pki.pki.paths.ca_bundle,
        session_pki.foreign.crl(),
    )
    assert check.reason == ChainProblem.CRL_UNAVAILABLE


def test_intermediate_sent_by_the_peer_completes_a_root_only_bundle(
    session_pki: SessionPki,
) -> None:
    root_only = [session_pki.pki.root]
    leaf = session_pki.application.load_certificate()
    without = verify_certificate_chain(leaf, _now(), root_only, session_pki.pki.crl())
    with_peer_chain = verify_certificate_chain(
        leaf, _now(), root_only, session_pki.pki.crl(), untrusted=[session_pki.pki.intermediate]
    )
    assert without.reason == ChainProblem.UNKNOWN_CA
    assert with_peer_chain.ok


def test_certificate_signed_by_a_leaf_is_named_not_a_ca(session_pki: SessionPki) -> None:
    operator_b = session_pki.operator_b
    operator_key = load_private_key(operator_b.key_path)
    assert isinstance(operator_key, ec.EllipticCurvePrivateKey)
    now = _now()
    forged = build_leaf(
        CertificateKind.OPERATOR,
        operator_subject("forged.test", "1", "FORGED", "Paris (75)"),
        new_private_key().public_key(),
        operator_b.load_certificate(),
        operator_key,
        now - dt.timedelta(hours=1),
        now + dt.timedelta(days=1),
    )
    check = verify_certificate_chain(
        forged,
        now,
        session_pki.pki.paths.ca_bundle,
        None,
        untrusted=[operator_b.load_certificate()],
    )
    assert check.reason == ChainProblem.NOT_A_CA


def test_unreadable_bytes_are_named_invalid(session_pki: SessionPki) -> None:
    check = verify_certificate_chain(
        b"not a certificate", _now(), session_pki.pki.paths.ca_bundle, None
    )
    assert check.reason == ChainProblem.INVALID


def test_naive_time_is_taken_as_utc(session_pki: SessionPki) -> None:
    naive_later = (_now() + dt.timedelta(days=4 * 365)).replace(tzinfo=None)
    check = verify_certificate_chain(
        session_pki.operator_b.load_certificate(),
        naive_later,
        session_pki.pki.paths.ca_bundle,
        None,
    )
    assert check.reason == ChainProblem.EXPIRED
