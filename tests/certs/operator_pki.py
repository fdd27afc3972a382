"""The certificates the TLS and chain tests share: operator A's PKI and what it issued."""

from __future__ import annotations

from dataclasses import dataclass

from mss.certs import DevPki, IssuedCertificate
from mss.config import Settings

HOST_A = "mss-a.test"
HOST_B = "mss-b.test"


@dataclass(frozen=True)
class SessionPki:
    """Operator A's PKI (A's certificate installed as the server one) and what it issued."""

    settings: Settings
    pki: DevPki
    foreign: DevPki
    operator_b: IssuedCertificate
    application: IssuedCertificate
    professional: IssuedCertificate
    expired: IssuedCertificate
    not_yet_valid: IssuedCertificate
    revoked: IssuedCertificate
    foreign_operator: IssuedCertificate
