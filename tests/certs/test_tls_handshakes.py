"""Real TLS handshakes on 127.0.0.1 between contexts built by mss.certs.tls."""

from __future__ import annotations

import ssl
import warnings

from handshake_runner import Handshake
from operator_pki import HOST_A, HOST_B, SessionPki

from mss.certs import (
    ChainProblem,
    IssuedCertificate,
    ca_client_context,
    check_from_ssl_error,
    client_context,
    identify_certificate,
    server_context,
)
from mss.certs.distinguished_names import same_dn


def _client_with(pki: SessionPki, issued: IssuedCertificate | None) -> ssl.SSLContext:
    paths = pki.pki.paths
    if issued is None:
        return ca_client_context(paths.ca_bundle, crl=paths.crl)
    return ca_client_context(
        paths.ca_bundle, cert_chain=issued.chain_path, key=issued.key_path, crl=paths.crl
    )


def _server_refusal(outcome_error: BaseException | None) -> str:
    assert isinstance(outcome_error, ssl.SSLError), outcome_error
    return check_from_ssl_error(outcome_error).reason


def test_operator_b_client_certificate_is_accepted_by_a(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "required")
    outcome = handshake(server, _client_with(session_pki, session_pki.operator_b), HOST_A)
    assert outcome.accepted, (outcome.server_error, outcome.client_error)
    assert outcome.peer_certificate is not None
    seen = identify_certificate(outcome.peer_certificate)
    assert same_dn(seen.subject_dn, session_pki.operator_b.subject_dn)


def test_peer_operator_client_context_presents_our_certificate(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    paths = session_pki.pki.paths
    server_b = server_context(
        paths,
        "required",
        cert_chain=session_pki.operator_b.chain_path,
        key=session_pki.operator_b.key_path,
    )
    outcome = handshake(server_b, client_context(paths), HOST_B)
    assert outcome.accepted, (outcome.server_error, outcome.client_error)
    assert outcome.peer_certificate is not None
    assert identify_certificate(outcome.peer_certificate).common_name == HOST_A


def test_server_certificate_names_localhost_for_mail_clients(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "none")
    outcome = handshake(server, _client_with(session_pki, None), "localhost")
    assert outcome.accepted, outcome.client_error


def test_client_certificate_from_foreign_ca_is_refused(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "required")
    foreign = session_pki.foreign_operator
    client = ca_client_context(
        session_pki.pki.paths.ca_bundle, cert_chain=foreign.chain_path, key=foreign.key_path
    )
    outcome = handshake(server, client, HOST_A)
    assert not outcome.accepted
    assert _server_refusal(outcome.server_error) == ChainProblem.UNKNOWN_CA


def test_expired_client_certificate_is_refused(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "required")
    outcome = handshake(server, _client_with(session_pki, session_pki.expired), HOST_A)
    assert not outcome.accepted
    assert _server_refusal(outcome.server_error) == ChainProblem.EXPIRED


def test_revoked_client_certificate_is_refused_by_the_crl(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "required")
    outcome = handshake(server, _client_with(session_pki, session_pki.revoked), HOST_A)
    assert not outcome.accepted
    assert _server_refusal(outcome.server_error) == ChainProblem.REVOKED


def test_revoked_certificate_passes_when_crl_checking_is_off(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    """Shows that the refusal above comes from the CRL, not from the certificate itself."""
    server = server_context(session_pki.pki.paths, "required", check_crl=False)
    outcome = handshake(server, _client_with(session_pki, session_pki.revoked), HOST_A)
    assert outcome.accepted, (outcome.server_error, outcome.client_error)


def test_required_mode_refuses_a_client_without_certificate(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "required")
    outcome = handshake(server, _client_with(session_pki, None), HOST_A)
    assert not outcome.accepted
    assert isinstance(outcome.server_error, ssl.SSLError)


def test_optional_mode_accepts_a_client_without_certificate(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "optional")
    outcome = handshake(server, _client_with(session_pki, None), HOST_A)
    assert outcome.accepted, outcome.server_error
    assert outcome.peer_certificate is None


def test_optional_mode_names_why_a_presented_certificate_is_refused(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "optional")
    outcome = handshake(server, _client_with(session_pki, session_pki.expired), HOST_A)
    assert _server_refusal(outcome.server_error) == ChainProblem.EXPIRED


def test_optional_mode_sees_a_valid_application_certificate(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "optional")
    outcome = handshake(server, _client_with(session_pki, session_pki.application), HOST_A)
    assert outcome.accepted
    assert outcome.peer_certificate is not None
    assert identify_certificate(outcome.peer_certificate).common_name == "Logiciel DPI"


def test_none_mode_asks_for_no_client_certificate(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "none")
    outcome = handshake(server, _client_with(session_pki, session_pki.application), HOST_A)
    assert outcome.accepted
    assert outcome.peer_certificate is None


def test_client_refuses_a_server_with_the_wrong_host_name(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "none")
    outcome = handshake(server, _client_with(session_pki, None), "mss-other.test")
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)
    assert check_from_ssl_error(outcome.client_error).reason == ChainProblem.NAME_MISMATCH
    assert outcome.received == b""


def test_client_refuses_a_server_from_the_foreign_ca(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    foreign = session_pki.foreign_operator
    server = server_context(
        session_pki.pki.paths, "none", cert_chain=foreign.chain_path, key=foreign.key_path
    )
    outcome = handshake(server, client_context(session_pki.pki.paths), "mss.foreign.test")
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)
    assert check_from_ssl_error(outcome.client_error).reason == ChainProblem.UNKNOWN_CA


def _legacy_client(session_pki: SessionPki, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(session_pki.pki.paths.ca_bundle))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def test_tls_1_1_client_is_refused(session_pki: SessionPki, handshake: Handshake) -> None:
    server = server_context(session_pki.pki.paths, "none")
    outcome = handshake(server, _legacy_client(session_pki, ssl.TLSVersion.TLSv1_1), HOST_A)
    assert not outcome.accepted
    assert isinstance(outcome.server_error, ssl.SSLError)
    assert isinstance(outcome.client_error, ssl.SSLError)
    assert outcome.received == b""


def test_tls_1_2_client_gets_an_aead_cipher(session_pki: SessionPki, handshake: Handshake) -> None:
    server = server_context(session_pki.pki.paths, "none")
    client = _client_with(session_pki, None)
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    outcome = handshake(server, client, HOST_A)
    assert outcome.accepted
    assert outcome.version == "TLSv1.2"
    assert outcome.cipher is not None
    assert "GCM" in outcome.cipher or "CHACHA20" in outcome.cipher


def test_tls_1_2_client_offering_only_cbc_ciphers_is_refused(
    session_pki: SessionPki, handshake: Handshake
) -> None:
    server = server_context(session_pki.pki.paths, "none")
    client = _legacy_client(session_pki, ssl.TLSVersion.TLSv1_2)
    client.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA")
    outcome = handshake(server, client, HOST_A)
    assert not outcome.accepted
    assert isinstance(outcome.server_error, ssl.SSLError)
