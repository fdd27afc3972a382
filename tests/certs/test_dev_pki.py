"""The dev PKI: IGC-Santé names, idempotent init, certificate profiles, CRL, key files."""

from __future__ import annotations

import datetime as dt
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from operator_pki import HOST_A, SessionPki

from mss.certs import (
    CertificateKind,
    DevPki,
    PkiMissingError,
    UnknownSerialError,
    create_foreign_pki,
    ensure_server_pki,
    load_ca_bundle,
)
from mss.certs.dev_pki import serial_from_text
from mss.certs.issuing import CRL_LIFETIME
from mss.clock import ManualClock
from mss.config import ServerSettings, Settings


def _common_name(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_cas_carry_the_igc_sante_test_names(session_pki: SessionPki) -> None:
    pki = session_pki.pki
    assert _common_name(pki.root.subject) == "TEST AC RACINE IGC-SANTE ELEMENTAIRE"
    assert _common_name(pki.intermediate.subject) == "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"
    assert pki.intermediate.issuer == pki.root.subject
    assert pki.intermediate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "ASIP-SANTE"
    )
    bundle = load_ca_bundle(pki.paths.ca_bundle)
    assert bundle == [pki.intermediate, pki.root]


def test_foreign_pki_has_other_names(session_pki: SessionPki) -> None:
    assert session_pki.foreign.root.subject != session_pki.pki.root.subject
    assert "IGC-SANTE" not in _common_name(session_pki.foreign.root.subject)


def test_every_private_key_is_readable_by_its_owner_only(session_pki: SessionPki) -> None:
    paths = session_pki.pki.paths
    keys = [paths.root_key, paths.intermediate_key, paths.server_key]
    keys += [issued.key_path for issued in session_pki.pki.issued()]
    for key in keys:
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600, key
    assert stat.S_IMODE(os.stat(paths.private_dir).st_mode) == 0o700


def test_server_certificate_names_the_host_and_localhost_with_both_usages(
    session_pki: SessionPki,
) -> None:
    server = session_pki.pki.server_certificate()
    assert server is not None
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST_A, "localhost"]
    usages = set(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert server.subject.rfc4514_string() == (
        f"CN={HOST_A},OU=1750000001,O=GIP OPERATEUR A,ST=Paris (75),C=FR"
    )


def test_server_chain_is_leaf_then_intermediate(session_pki: SessionPki) -> None:
    chain = x509.load_pem_x509_certificates(session_pki.pki.paths.server_chain.read_bytes())
    assert len(chain) == 2
    assert chain[1] == session_pki.pki.intermediate


def test_default_validity_is_three_years(session_pki: SessionPki) -> None:
    issued = session_pki.operator_b
    assert issued.not_after - issued.not_before == dt.timedelta(days=3 * 365)


def test_application_certificate_is_for_client_authentication_only(
    session_pki: SessionPki,
) -> None:
    certificate = session_pki.application.load_certificate()
    usages = list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert session_pki.application.kind is CertificateKind.APPLICATION


def test_professional_rpps_must_have_eleven_digits(session_pki: SessionPki) -> None:
    with pytest.raises(ValueError, match="11 digits"):
        session_pki.pki.issue_professional("12345", "Too Short")


def test_init_is_idempotent_and_never_rewrites_the_cas(tmp_path: Path) -> None:
    first = DevPki.init(tmp_path / "pki")
    root_pem = first.paths.root_cert.read_bytes()
    root_key = first.paths.root_key.read_bytes()
    crl = first.paths.crl.read_bytes()
    second = DevPki.init(tmp_path / "pki")
    assert second.root == first.root
    assert second.paths.root_cert.read_bytes() == root_pem
    assert second.paths.root_key.read_bytes() == root_key
    assert second.paths.crl.read_bytes() == crl


def test_load_without_a_pki_says_so(tmp_path: Path) -> None:
    with pytest.raises(PkiMissingError):
        DevPki.load(tmp_path / "empty")


def test_revocation_rewrites_the_crl_signed_by_the_intermediate(tmp_path: Path) -> None:
    pki = DevPki.init(tmp_path / "pki")
    kept = pki.issue_application("Kept", "1", "ORG")
    gone = pki.issue_application("Gone", "1", "ORG")
    number_before = pki.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert pki.revoke(gone.serial) is True
    crl = pki.crl()
    assert crl.issuer == pki.intermediate.subject
    assert crl.is_signature_valid(pki.intermediate.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(gone.serial) is not None
    assert crl.get_revoked_certificate_by_serial_number(kept.serial) is None
    number_after = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number_after > number_before
    assert pki.find(gone.serial).revoked_at is not None


def test_revoking_twice_reports_no_change(tmp_path: Path) -> None:
    pki = DevPki.init(tmp_path / "pki")
    issued = pki.issue_professional("10000000001", "Paul Durand")
    assert pki.revoke(issued.serial) is True
    assert pki.revoke(issued.serial) is False


def test_revoking_an_unknown_serial_fails(tmp_path: Path) -> None:
    pki = DevPki.init(tmp_path / "pki")
    with pytest.raises(UnknownSerialError):
        pki.revoke(0xABCDEF)


def test_serial_text_accepts_openssl_spellings() -> None:
    assert serial_from_text("0A:BC:DE") == 0x0ABCDE
    assert serial_from_text("0xabcde") == 0xABCDE
    assert serial_from_text("ABCDE") == 0xABCDE


def test_ensure_server_pki_creates_once_then_loads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, server=ServerSettings(hostname="one.test"))
    first = ensure_server_pki(settings)
    serial = first.server_certificate().serial_number  # type: ignore[union-attr]
    again = ensure_server_pki(settings)
    assert again.server_certificate().serial_number == serial  # type: ignore[union-attr]
    assert len(again.issued()) == 1


def test_ensure_server_pki_reissues_for_a_new_host_name(tmp_path: Path) -> None:
    ensure_server_pki(Settings(data_dir=tmp_path, server=ServerSettings(hostname="old.test")))
    renamed = Settings(data_dir=tmp_path, server=ServerSettings(hostname="new.test"))
    pki = ensure_server_pki(renamed)
    server = pki.server_certificate()
    assert server is not None
    assert _common_name(server.subject) == "new.test"
    assert stat.S_IMODE(os.stat(pki.paths.server_key).st_mode) == 0o600


def test_crl_is_resigned_before_it_expires(tmp_path: Path) -> None:
    clock = ManualClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    settings = Settings(data_dir=tmp_path)
    pki = ensure_server_pki(settings, clock=clock)
    first_update = pki.crl().last_update_utc
    clock.advance(CRL_LIFETIME / 4)
    assert pki.refresh_crl_if_stale() is False
    clock.advance(CRL_LIFETIME / 2)
    ensure_server_pki(settings, clock=clock)
    assert pki.crl().last_update_utc == clock.now()
    assert pki.crl().last_update_utc > first_update


def test_foreign_pki_init_is_idempotent_too(tmp_path: Path) -> None:
    first = create_foreign_pki(tmp_path / "foreign")
    assert create_foreign_pki(tmp_path / "foreign").root == first.root


def test_concurrent_first_starts_make_one_pki(tmp_path: Path) -> None:
    """Several processes may start on one data folder: the folder lock keeps one writer."""
    settings = Settings(data_dir=tmp_path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: ensure_server_pki(settings), range(4)))
    roots = {pki.root.fingerprint(hashes.SHA256()) for pki in results}
    assert len(roots) == 1
    assert len(results[0].issued()) == 1


def test_the_server_certificate_verifies_at_the_loopback_addresses(tmp_path) -> None:
    """Clients following the README connect to 127.0.0.1 (or ::1) and check the name."""
    import socket
    import ssl
    import threading

    from mss.certs import ensure_server_pki
    from mss.config import load_settings

    pki = ensure_server_pki(load_settings(environ={}, overrides={"data_dir": str(tmp_path)}))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pki.paths.server_chain, pki.paths.server_key)
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family) as listener:
            listener.bind((address, 0))
            listener.listen(1)

            def serve(sock: socket.socket = listener) -> None:
                conn, _ = sock.accept()
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)

            thread = threading.Thread(target=serve)
            thread.start()
            client = ssl.create_default_context(cafile=str(pki.paths.ca_bundle))
            with socket.create_connection(listener.getsockname()[:2]) as raw, \
                    client.wrap_socket(raw, server_hostname=address) as tls:
                assert tls.version() is not None
                tls.send(b"x")
            thread.join()
