"""Check a peer certificate in Python and name what is wrong (RFC 5280 §6, simplified).

TLS already verifies chains; this check exists so that adapters can say *why* a
certificate is not acceptable (expired, revoked, unknown CA, not yet valid...) in logs,
audit rows (`AuditAction.CERT_REFUSED`) and SMTP replies, and so that a certificate can
be re-checked later (at MAIL FROM, MSS policy T1) against the current CRL and clock.

Path building: from the leaf, find in the trusted bundle (or the peer's untrusted
intermediates) a certificate whose subject is the issuer name and whose key verifies the
signature, up to a self-signed certificate of the bundle. Every certificate on the path
must be within its validity, every issuer a CA; the CRL must come from the leaf's issuer,
be signed by it and be current (RFC 5280 §6.3).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

MAX_CHAIN_LENGTH = 6


class ChainProblem(enum.StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    UNKNOWN_CA = "unknown_ca"
    BAD_SIGNATURE = "bad_signature"
    NOT_A_CA = "not_a_ca"
    CRL_UNAVAILABLE = "crl_unavailable"
    WRONG_USAGE = "wrong_usage"
    NAME_MISMATCH = "name_mismatch"
    INVALID = "invalid"
    HANDSHAKE_FAILED = "handshake_failed"


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """Outcome of a check: `reason` is a `ChainProblem` value; `detail` is for humans."""

    ok: bool
    reason: str
    detail: str = ""


ACCEPTED = CertificateCheck(True, ChainProblem.OK)

CertificateInput = x509.Certificate | bytes


def as_certificate(value: CertificateInput) -> x509.Certificate:
    """Accept an x509 object, DER bytes (`getpeercert(binary_form=True)`) or PEM bytes."""
    if isinstance(value, x509.Certificate):
        return value
    if value.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(value)
    return x509.load_der_x509_certificate(value)


def load_ca_bundle(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def load_crl(path: Path) -> x509.CertificateRevocationList:
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _refuse(problem: ChainProblem, detail: str) -> CertificateCheck:
    return CertificateCheck(False, problem, detail)


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.subject != certificate.issuer:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _find_issuer(
    certificate: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> tuple[x509.Certificate | None, bool]:
    """The candidate that signed `certificate`, and whether some candidate had its name."""
    name_seen = False
    for candidate in candidates:
        if candidate.subject != certificate.issuer:
            continue
        name_seen = True
        try:
            certificate.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate, True
    return None, name_seen


def _build_path(
    leaf: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    untrusted: Sequence[x509.Certificate],
) -> list[x509.Certificate] | CertificateCheck:
    """Leaf first, up to a self-signed anchor; or the reason there is no such path."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN_LENGTH):
        if current in anchors and _is_self_signed(current) and current is not leaf:
            return path
        issuer, name_seen = _find_issuer(current, [*anchors, *untrusted])
        if issuer is None:
            who = current.issuer.rfc4514_string()
            if name_seen:
                return _refuse(ChainProblem.BAD_SIGNATURE, f"not signed by the trusted {who}")
            return _refuse(ChainProblem.UNKNOWN_CA, f"issuer {who} is not trusted")
        if issuer == current:  # self-signed but not an anchor
            return _refuse(ChainProblem.UNKNOWN_CA, "self-signed certificate is not trusted")
        path.append(issuer)
        current = issuer
    return _refuse(ChainProblem.UNKNOWN_CA, "no path to a trusted root within the length limit")


def _validity_problem(
    certificate: x509.Certificate, now: dt.datetime, role: str
) -> CertificateCheck:
    if now < certificate.not_valid_before_utc:
        return _refuse(
            ChainProblem.NOT_YET_VALID,
            f"{role} valid from {certificate.not_valid_before_utc.isoformat()}",
        )
    if now > certificate.not_valid_after_utc:
        return _refuse(
            ChainProblem.EXPIRED, f"{role} expired on {certificate.not_valid_after_utc.isoformat()}"
        )
    return ACCEPTED


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _revocation_problem(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    crl: x509.CertificateRevocationList,
    now: dt.datetime,
) -> CertificateCheck:
    """RFC 5280 §6.3, for the leaf only (like OpenSSL's CRL_CHECK_LEAF)."""
    if crl.issuer != leaf.issuer or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        return _refuse(ChainProblem.CRL_UNAVAILABLE, "no CRL signed by the certificate's issuer")
    next_update = crl.next_update_utc
    if now < crl.last_update_utc or (next_update is not None and now > next_update):
        return _refuse(ChainProblem.CRL_UNAVAILABLE, "the issuer's CRL is not current")
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    if entry is not None:
        return _refuse(ChainProblem.REVOKED, f"revoked on {entry.revocation_date_utc.isoformat()}")
    return ACCEPTED


def verify_certificate_chain(
    certificate: CertificateInput,
    now: dt.datetime,
    ca_bundle: Sequence[x509.Certificate] | Path,
    crl: x509.CertificateRevocationList | Path | None,
    untrusted: Sequence[x509.Certificate] = (),
) -> CertificateCheck:
    """Is `certificate` chained to the bundle, valid at `now` and not revoked?

    `crl=None` skips the revocation check (say so in logs: T1 requires it for peers).
    A naive `now` is taken as UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)  # certificate times are UTC (RFC 5280 §4.1.2.5)
    try:
        leaf = as_certificate(certificate)
    except ValueError as exc:
        return _refuse(ChainProblem.INVALID, f"unreadable certificate: {exc}")
    anchors = load_ca_bundle(ca_bundle) if isinstance(ca_bundle, Path) else list(ca_bundle)
    path = _build_path(leaf, anchors, untrusted)
    if isinstance(path, CertificateCheck):
        return path
    for position, member in enumerate(path):
        role = "certificate" if position == 0 else f"CA {member.subject.rfc4514_string()}"
        problem = _validity_problem(member, now, role)
        if not problem.ok:
            return problem
        if position > 0 and not _is_ca(member):
            return _refuse(ChainProblem.NOT_A_CA, f"{role} is not a CA")
    if crl is not None:
        revocations = load_crl(crl) if isinstance(crl, Path) else crl
        problem = _revocation_problem(leaf, path[1], revocations, now)
        if not problem.ok:
            return problem
    return ACCEPTED
