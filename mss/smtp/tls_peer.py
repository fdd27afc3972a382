"""What the TLS layer of an SMTP connection says about the other side.

Works for STARTTLS and implicit TLS alike: aiosmtpd swaps its transport for the TLS one
after STARTTLS, and an implicit-TLS listener's transport is TLS from the start, so the
`ssl_object` of the current transport is always the one to ask.

With stdlib `ssl` a presented certificate that fails verification ends the handshake
(mss.certs.tls); a certificate seen here has therefore chained to our CA and passed the
CRL check: `chain_valid` is true whenever a certificate is present.
"""

from __future__ import annotations

import hashlib
import ssl
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mss.certs import CertificateIdentity, identify_certificate
from mss.policy import PeerCertificate


@dataclass(frozen=True, slots=True)
class TlsDetails:
    version: str
    cipher: str
    peer_der: bytes | None

    @property
    def peer_identity(self) -> CertificateIdentity | None:
        return _identity_of(self.peer_der) if self.peer_der else None

    @property
    def peer_fingerprint(self) -> str | None:
        return hashlib.sha256(self.peer_der).hexdigest() if self.peer_der else None

    def peer_certificate(self) -> PeerCertificate:
        """The facts policy T1 decides on (docs/architecture.md §4)."""
        identity = self.peer_identity
        if identity is None:
            return PeerCertificate(None, False)
        return PeerCertificate(identity.subject_dn, True)


@lru_cache(maxsize=256)
def _identity_of(der: bytes) -> CertificateIdentity:
    """Decoding a certificate costs more than the rest of a MAIL command; peers present
    the same few certificates on every connection, and the identity is a function of
    the DER alone (verification and revocation were the handshake's)."""
    return identify_certificate(der)


def tls_details(transport: Any) -> TlsDetails | None:
    """TLS facts of `transport`, or None when the connection is in clear."""
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    found = _DETAILS.get(ssl_object)
    if found is None:
        cipher, version = ssl_object.cipher(), ssl_object.version()
        found = TlsDetails(
            version=version or "TLS",
            cipher=cipher[0] if cipher else "unknown",
            peer_der=ssl_object.getpeercert(binary_form=True),
        )
        if version is not None:  # handshake done: the facts are final
            _DETAILS[ssl_object] = found
    return found


# Asked before every SMTP command (the live trust check) and for each trace field: the
# facts of a TLS connection are fixed once its handshake is done, since the TLS
# contexts MSS builds refuse renegotiation (mss.certs.tls, OP_NO_RENEGOTIATION).
_DETAILS: weakref.WeakKeyDictionary[Any, TlsDetails] = weakref.WeakKeyDictionary()
