"""The revocation list in force (mss.certs.revocation) and its reloading (live_trust)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from operator_pki import SessionPki

from mss.certs import ChainProblem, DevPki, IssuedCertificate
from mss.certs.chain_check import load_ca_bundle
from mss.certs.live_trust import LiveTrust
from mss.certs.revocation import RevocationList, StaleCrlPolicy, read_crls
from mss.clock import ManualClock


def der(issued: IssuedCertificate) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
    return certificate.public_bytes(serialization.Encoding.DER)


def revocations(pki: DevPki, crl_file: Path | None = None) -> RevocationList:
    crls = read_crls(crl_file or pki.paths.crl)
    return RevocationList.from_crls(crls, load_ca_bundle(pki.paths.ca_bundle))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_revoked_certificate_is_refused_and_another_accepted(session_pki: SessionPki) -> None:
    current = revocations(session_pki.pki)
    refused = current.check(der(session_pki.revoked), now(), StaleCrlPolicy.REFUSE)
    assert (refused.check.ok, refused.check.reason) == (False, ChainProblem.REVOKED)
    assert current.check(der(session_pki.application), now(), StaleCrlPolicy.REFUSE).check.ok


def test_an_expired_crl_refuses_or_accepts_as_configured(session_pki: SessionPki) -> None:
    current = revocations(session_pki.pki)
    [entry] = current.by_issuer.values()
    assert entry.next_update is not None
    later = entry.next_update + dt.timedelta(hours=1)
    refused = current.check(der(session_pki.application), later, StaleCrlPolicy.REFUSE)
    assert (refused.check.ok, refused.check.reason) == (False, ChainProblem.CRL_UNAVAILABLE)
    assert "expired" in refused.check.detail
    accepted = current.check(der(session_pki.application), later, StaleCrlPolicy.ACCEPT)
    assert accepted.check.ok and accepted.stale
    # revoked stays revoked whatever the CRL's age
    revoked = current.check(der(session_pki.revoked), later, StaleCrlPolicy.ACCEPT)
    assert revoked.check.reason == ChainProblem.REVOKED and not revoked.stale


def test_a_crl_no_trusted_ca_signed_is_ignored(session_pki: SessionPki, tmp_path: Path) -> None:
    """The foreign PKI's CRL, even in our file, neither revokes nor vouches for anyone."""
    both = tmp_path / "crl.pem"
    both.write_bytes(session_pki.foreign.paths.crl.read_bytes()
                     + session_pki.pki.paths.crl.read_bytes())
    current = revocations(session_pki.pki, both)
    assert len(current.by_issuer) == 1
    assert current.check(der(session_pki.application), now(), StaleCrlPolicy.REFUSE).check.ok
    only_foreign = tmp_path / "foreign.pem"
    shutil.copy(session_pki.foreign.paths.crl, only_foreign)
    nothing = revocations(session_pki.pki, only_foreign)
    missing = nothing.check(der(session_pki.application), now(), StaleCrlPolicy.REFUSE)
    assert missing.check.reason == ChainProblem.CRL_UNAVAILABLE


async def test_reload_swaps_only_on_change_and_keeps_the_list_when_the_file_is_bad(
    session_pki: SessionPki, tmp_path: Path
) -> None:
    folder = tmp_path / "pki"
    shutil.copytree(session_pki.pki.paths.folder, folder)
    pki = DevPki.load(folder)
    live = LiveTrust(pki.paths.crl, pki.paths.ca_bundle, ManualClock(now()))
    assert live.reload() and live.generation == 1
    assert not live.reload()  # same file
    assert not live.reload(force=True)  # read again, same revocations: no new generation
    assert live.check(der(session_pki.application)).ok
    pki.revoke(session_pki.application.serial)
    assert live.reload() and live.generation == 2
    assert live.check(der(session_pki.application)).reason == ChainProblem.REVOKED
    pki.paths.crl.write_bytes(b"-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n")
    assert not live.reload()
    assert live.check(der(session_pki.application)).reason == ChainProblem.REVOKED


async def test_stale_acceptances_are_counted(session_pki: SessionPki) -> None:
    pki = session_pki.pki
    clock = ManualClock(now() + dt.timedelta(days=365))
    live = LiveTrust(pki.paths.crl, pki.paths.ca_bundle, clock,
                     stale_policy=StaleCrlPolicy.ACCEPT)
    seen: list[int] = []
    live.on_stale_accepted.append(lambda: seen.append(1))
    live.reload()
    assert live.check(der(session_pki.operator_b)).ok
    assert live.stale_accepted == 1 and seen == [1]


async def test_an_accepted_certificate_is_checked_again_once_its_crl_expires(
    session_pki: SessionPki,
) -> None:
    """`check` keeps a passed certificate's answer (it runs before every SMTP command),
    but only while the CRL it passed under is current: past its nextUpdate the same
    certificate is refused under `stale_crl = refuse`, and counted under `accept`."""
    pki = session_pki.pki
    clock = ManualClock(now())
    live = LiveTrust(pki.paths.crl, pki.paths.ca_bundle, clock,
                     stale_policy=StaleCrlPolicy.REFUSE)
    live.reload()
    certificate = der(session_pki.operator_b)
    assert live.check(certificate).ok
    assert live.check(certificate).ok  # the kept answer
    clock.advance(dt.timedelta(days=365))
    assert live.check(certificate).reason == ChainProblem.CRL_UNAVAILABLE
    accepting = LiveTrust(pki.paths.crl, pki.paths.ca_bundle, ManualClock(now()),
                          stale_policy=StaleCrlPolicy.ACCEPT)
    accepting.reload()
    assert accepting.check(certificate).ok and accepting.stale_accepted == 0
    accepting.clock.advance(dt.timedelta(days=365))  # type: ignore[attr-defined]
    assert accepting.check(certificate).ok and accepting.check(certificate).ok
    assert accepting.stale_accepted == 2  # each check past the CRL's end is a stale one
