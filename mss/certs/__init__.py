"""mss.certs: dev PKI (IGC-Santé shaped), TLS contexts, certificate → principal, DKIM keys.

See docs/architecture.md §2 (`mss.certs` imports only `mss.config`) and docs/architecture.md §9 "The
trust space".
"""

from mss.certs.chain_check import (
    CertificateCheck,
    ChainProblem,
    load_ca_bundle,
    load_crl,
    verify_certificate_chain,
)
from mss.certs.dev_pki import (
    DevPki,
    IssuedCertificate,
    PkiMissingError,
    PkiPaths,
    UnknownSerialError,
    create_foreign_pki,
)
from mss.certs.distinguished_names import (
    comparable_dn,
    dn_key,
    dn_lookup_key,
    same_dn,
    subject_dn,
)
from mss.certs.dkim_keys import (
    DkimAlgorithm,
    DkimKey,
    ensure_dkim_key,
    generate_dkim_key,
    load_dkim_key,
    signing_key_for_dkimpy,
)
from mss.certs.peer_identity import CertificateIdentity, identify_certificate
from mss.certs.profiles import CertificateKind
from mss.certs.server_pki import ensure_server_pki
from mss.certs.tls import (
    ClientCertMode,
    ca_client_context,
    check_from_ssl_error,
    client_context,
    server_context,
)

__all__ = [
    "CertificateCheck",
    "CertificateIdentity",
    "CertificateKind",
    "ChainProblem",
    "ClientCertMode",
    "DevPki",
    "DkimAlgorithm",
    "DkimKey",
    "IssuedCertificate",
    "PkiMissingError",
    "PkiPaths",
    "UnknownSerialError",
    "ca_client_context",
    "check_from_ssl_error",
    "client_context",
    "comparable_dn",
    "create_foreign_pki",
    "dn_key",
    "dn_lookup_key",
    "ensure_dkim_key",
    "ensure_server_pki",
    "generate_dkim_key",
    "identify_certificate",
    "load_ca_bundle",
    "load_crl",
    "load_dkim_key",
    "same_dn",
    "server_context",
    "signing_key_for_dkimpy",
    "subject_dn",
    "verify_certificate_chain",
]
