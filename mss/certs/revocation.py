"""The revocations in force, read from the PKI's CRL file, and a certificate checked
against them (RFC 5280 §6.3, for the leaf only, like OpenSSL's CRL_CHECK_LEAF).

Listeners verify the client's chain in the TLS handshake (the CA bundle) and its
revocation here, after the handshake, so that a new CRL applies to the next session and
to the next command of the open ones without rebuilding any TLS context
(`mss.certs.live_trust`), and so that the client is told why in a protocol reply.

A CRL counts only when an issuer of the CA bundle signed it; the file may hold several
PEM CRLs (one per intermediate of a real PKI). An issuer whose CRL is past its
`nextUpdate`, or that has none, leaves revocation unknown: `StaleCrlPolicy` says whether
that refuses the certificate (the default, as OpenSSL does) or accepts it with a
warning.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509

from mss.certs.chain_check import ACCEPTED, CertificateCheck, ChainProblem

log = logging.getLogger(__name__)

_PEM_CRL_BEGIN = b"-----BEGIN X509 CRL-----"


class StaleCrlPolicy(enum.StrEnum):
    """What an unknown revocation status (CRL expired or missing) does to a certificate."""

    REFUSE = "refuse"
    ACCEPT = "accept"


@dataclass(frozen=True, slots=True)
class IssuerRevocations:
    """One issuer's CRL, reduced to what a check needs."""

    serials: frozenset[int]
    this_update: dt.datetime
    next_update: dt.datetime | None
    number: int


@dataclass(frozen=True, slots=True)
class RevocationCheck:
    """A check's outcome; `stale` when it was accepted only by `StaleCrlPolicy.ACCEPT`."""

    check: CertificateCheck
    stale: bool = False
    # an accepted, current check holds until the issuer's CRL's nextUpdate (None: no end)
    until: dt.datetime | None = None


class RevocationList:
    """The CRLs of the CA bundle's issuers, at one moment (immutable once built)."""

    def __init__(self, by_issuer: dict[x509.Name, IssuerRevocations]) -> None:
        self.by_issuer = by_issuer

    @classmethod
    def empty(cls) -> RevocationList:
        return cls({})

    @classmethod
    def from_crls(cls, crls: Sequence[x509.CertificateRevocationList],
                  issuers: Sequence[x509.Certificate]) -> RevocationList:
        """Keep the CRLs a bundle issuer signed; per issuer, the newest (RFC 5280 §5.2.3)."""
        by_issuer: dict[x509.Name, IssuerRevocations] = {}
        for crl in crls:
            if not any(issuer.subject == crl.issuer
                       and crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
                       for issuer in issuers):
                log.warning("crl_ignored issuer=%r reason=not_signed_by_a_trusted_ca",
                            crl.issuer.rfc4514_string())
                continue
            entry = IssuerRevocations(
                serials=frozenset(revoked.serial_number for revoked in crl),
                this_update=crl.last_update_utc, next_update=crl.next_update_utc,
                number=_crl_number(crl))
            known = by_issuer.get(crl.issuer)
            if known is None or (entry.number, entry.this_update) > (known.number,
                                                                     known.this_update):
                by_issuer[crl.issuer] = entry
        return cls(by_issuer)

    def check(self, certificate: bytes, now: dt.datetime, policy: StaleCrlPolicy
              ) -> RevocationCheck:
        """Is the leaf (DER) revoked, and is its issuer's CRL current at `now`?"""
        try:
            issuer, serial = _issuer_and_serial(certificate)
        except ValueError as exc:
            return RevocationCheck(CertificateCheck(False, ChainProblem.INVALID, str(exc)))
        entry = self.by_issuer.get(issuer)
        if entry is not None and serial in entry.serials:
            return RevocationCheck(CertificateCheck(False, ChainProblem.REVOKED,
                                                    "the certificate is revoked"))
        if entry is None:
            detail = "no CRL of the certificate's issuer"
        elif entry.next_update is not None and now > entry.next_update:
            detail = f"the issuer's CRL expired on {entry.next_update.isoformat()}"
        else:
            return RevocationCheck(ACCEPTED, until=entry.next_update)
        if policy is StaleCrlPolicy.ACCEPT:
            return RevocationCheck(ACCEPTED, stale=True)
        return RevocationCheck(CertificateCheck(False, ChainProblem.CRL_UNAVAILABLE, detail))


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


@lru_cache(maxsize=1024)
def _issuer_and_serial(der: bytes) -> tuple[x509.Name, int]:
    """Peers present the same few certificates on every connection: decode each once."""
    certificate = x509.load_der_x509_certificate(der)
    return certificate.issuer, certificate.serial_number


def read_crls(path: Path) -> list[x509.CertificateRevocationList]:
    """Every CRL of a file: PEM blocks (one or several), or one DER CRL."""
    data = path.read_bytes()
    if _PEM_CRL_BEGIN not in data:
        return [x509.load_der_x509_crl(data)]
    crls = []
    for block in data.split(_PEM_CRL_BEGIN)[1:]:
        crls.append(x509.load_pem_x509_crl(_PEM_CRL_BEGIN + block))
    return crls
