"""The operator's own PKI and certificate, made on the first start of `mss serve`.

docs/architecture.md §7: the embedded default creates its dev PKI on first start. Later starts load
it, re-issue the server certificate only if it no longer names the configured host, and
re-sign the CRL before it expires (an expired CRL makes TLS refuse every client).
"""

from __future__ import annotations

from cryptography import x509

from mss.certs.dev_pki import SYSTEM_CLOCK, DevPki
from mss.clock import Clock
from mss.config import Settings

DEV_ORGANISATION = "MSS DEV OPERATOR"
DEV_STRUCTURE_ID = "0000000000"
DEV_DEPARTMENT = "Paris (75)"


# The dev server certificate also names the loopback addresses, so that clients told
# to connect to 127.0.0.1 or ::1 (README) verify it as they do for localhost.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def certificate_dns_names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return san.value.get_values_for_type(x509.DNSName)


def ensure_server_pki(
    settings: Settings,
    *,
    organisation: str = DEV_ORGANISATION,
    structure_id: str = DEV_STRUCTURE_ID,
    department: str = DEV_DEPARTMENT,
    clock: Clock = SYSTEM_CLOCK,
) -> DevPki:
    """Create the dev PKI and this operator's certificate if missing, else load them."""
    pki = DevPki.init(settings.pki_dir, clock=clock)
    host = settings.server.hostname
    with pki.locked():  # several processes may start at once on one data folder
        current = pki.server_certificate()
        if current is None or host not in certificate_dns_names(current):
            issued = pki.issue_operator(host, structure_id, organisation, department,
                                        extra_dns_names=LOCAL_NAMES)
            pki.install_server_certificate(issued)
        pki.refresh_crl_if_stale()
    return pki
