"""TLS contexts for every listener and for connections to peer operators (stdlib `ssl`).

Rules (docs/architecture.md §9 "The trust space"): TLS 1.2 minimum; only ECDHE key exchange with
AEAD ciphers (TLS 1.2: AES-GCM and ChaCha20-Poly1305; TLS 1.3 suites are all AEAD); the
only trust anchors are the PKI's CA bundle; revocation is checked against the CRL
(`VERIFY_CRL_CHECK_LEAF`); no compression, no renegotiation (RFC 7457 attacks).

With stdlib `ssl`, a client certificate that is presented but fails verification ends
the handshake even in "optional" mode: there is no verify callback. The server then gets
an `ssl.SSLCertVerificationError`; `check_from_ssl_error` names its reason with the same
vocabulary as `verify_certificate_chain`, for logs and the audit trail.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from mss.certs.chain_check import CertificateCheck, ChainProblem
from mss.certs.dev_pki import PkiPaths

ClientCertMode = Literal["none", "optional", "required"]

AEAD_CIPHERS_TLS12 = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

_VERIFY_MODES: dict[str, ssl.VerifyMode] = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}

# OpenSSL X509_V_ERR_* codes → reasons (openssl/x509_vfy.h).
_VERIFY_CODE_PROBLEMS: dict[int, ChainProblem] = {
    2: ChainProblem.UNKNOWN_CA,  # unable to get issuer certificate
    3: ChainProblem.CRL_UNAVAILABLE,  # unable to get certificate CRL
    7: ChainProblem.BAD_SIGNATURE,  # certificate signature failure
    9: ChainProblem.NOT_YET_VALID,
    10: ChainProblem.EXPIRED,
    11: ChainProblem.CRL_UNAVAILABLE,  # CRL not yet valid
    12: ChainProblem.CRL_UNAVAILABLE,  # CRL has expired
    18: ChainProblem.UNKNOWN_CA,  # self-signed leaf
    19: ChainProblem.UNKNOWN_CA,  # self-signed certificate in chain
    20: ChainProblem.UNKNOWN_CA,  # unable to get local issuer certificate
    21: ChainProblem.UNKNOWN_CA,  # unable to verify the first certificate
    23: ChainProblem.REVOKED,
    24: ChainProblem.NOT_A_CA,  # invalid CA certificate
    26: ChainProblem.WRONG_USAGE,  # unsupported certificate purpose
    62: ChainProblem.NAME_MISMATCH,  # hostname mismatch
}


def _harden(context: ssl.SSLContext) -> None:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(AEAD_CIPHERS_TLS12)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION


def _trust(context: ssl.SSLContext, ca_bundle: Path, crl: Path | None) -> None:
    """Trust only the bundle; with a CRL, check the peer's certificate against it."""
    context.load_verify_locations(cafile=str(ca_bundle))
    if crl is not None:
        context.load_verify_locations(cafile=str(crl))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def server_context(
    paths: PkiPaths,
    client_cert: ClientCertMode = "none",
    *,
    check_crl: bool = True,
    cert_chain: Path | None = None,
    key: Path | None = None,
) -> ssl.SSLContext:
    """Context of a listener: our chain, and client certificates checked per `client_cert`.

    MX between operators uses "required" (MSS policy T1); submission and IMAP use
    "optional" (applications authenticate by certificate, people by token or password).
    `cert_chain`/`key` replace the installed server certificate (a second operator run
    from the same dev PKI). A revocation made after this call is seen by a new context.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context)
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    context.load_cert_chain(
        certfile=str(cert_chain or paths.server_chain), keyfile=str(key or paths.server_key)
    )
    context.verify_mode = _VERIFY_MODES[client_cert]
    if client_cert != "none":
        _trust(context, paths.ca_bundle, paths.crl if check_crl else None)
    return context


def client_context(
    paths: PkiPaths,
    *,
    check_crl: bool = True,
    cert_chain: Path | None = None,
    key: Path | None = None,
) -> ssl.SSLContext:
    """Context for connecting to a peer operator: verify its name and chain, present ours.

    Connect with `server_hostname=<peer MX host>`; `cert_chain`/`key` as in
    `server_context`.
    """
    return ca_client_context(
        paths.ca_bundle,
        cert_chain=cert_chain or paths.server_chain,
        key=key or paths.server_key,
        crl=paths.crl if check_crl else None,
    )


def ca_client_context(
    ca_bundle: Path,
    *,
    cert_chain: Path | None = None,
    key: Path | None = None,
    crl: Path | None = None,
) -> ssl.SSLContext:
    """Client context trusting only the CA bundle (professional mail software, tests).

    Checks the server's name and chain; presents `cert_chain` when given (applications
    and professionals authenticating by certificate).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _harden(context)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    _trust(context, ca_bundle, crl)
    if cert_chain is not None:
        context.load_cert_chain(certfile=str(cert_chain), keyfile=str(key) if key else None)
    return context


def check_from_ssl_error(error: ssl.SSLError) -> CertificateCheck:
    """Name why a handshake refused the peer's certificate (verify code → reason)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        problem = _VERIFY_CODE_PROBLEMS.get(code, ChainProblem.INVALID)
        return CertificateCheck(False, problem, f"{code}: {error.verify_message}")
    return CertificateCheck(False, ChainProblem.HANDSHAKE_FAILED, str(error))
