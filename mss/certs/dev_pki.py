"""A dev PKI shaped like IGC-Santé, kept in one folder (`settings.pki_dir`).

Root `TEST AC RACINE IGC-SANTE ELEMENTAIRE` → intermediate `TEST AC IGC-SANTE
ELEMENTAIRE ORGANISATIONS` → operator, application and professional certificates. The
CAs are created once and never overwritten; each issue is recorded in `index.json`, and
each revocation re-signs the intermediate's CRL. One writer at a time (the CLI or the
first start of `mss serve`); readers only load PEM files.

Layout: `root-ca.pem`, `intermediate-ca.pem`, `ca-bundle.pem` (intermediate + root),
`crl.pem`, `server-chain.pem` + `private/server.key` (this operator's certificate),
`issued/<SERIAL>.pem|-chain.pem` + `private/<SERIAL>.key`, `index.json`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mss.certs.distinguished_names import name_to_dn
from mss.certs.folder_lock import FolderLock
from mss.certs.issuing import (
    CRL_LIFETIME,
    FOREIGN_TEST_NAMES,
    IGC_SANTE_TEST_NAMES,
    CaNames,
    application_subject,
    build_crl,
    build_intermediate,
    build_leaf,
    build_root,
    new_private_key,
    operator_subject,
    professional_subject,
)
from mss.certs.key_files import (
    load_private_key,
    replace_private_file,
    write_private_key,
    write_public_file,
)
from mss.certs.profiles import DEFAULT_VALIDITY_DAYS, CertificateKind
from mss.clock import Clock, SystemClock

SYSTEM_CLOCK = SystemClock()
LOCK_FILE = ".lock"
CLOCK_SKEW = dt.timedelta(minutes=5)  # leaves start a little early: peers' clocks differ


class PkiMissingError(FileNotFoundError):
    """The folder holds no PKI yet (run `mss certs init`)."""


class UnknownSerialError(KeyError):
    """No certificate with this serial was issued by this PKI."""


@dataclass(frozen=True, slots=True)
class PkiPaths:
    """Where a PKI's files are; TLS contexts and adapters take their files from here."""

    folder: Path

    @property
    def private_dir(self) -> Path:
        return self.folder / "private"

    @property
    def issued_dir(self) -> Path:
        return self.folder / "issued"

    @property
    def root_cert(self) -> Path:
        return self.folder / "root-ca.pem"

    @property
    def root_key(self) -> Path:
        return self.private_dir / "root-ca.key"

    @property
    def intermediate_cert(self) -> Path:
        return self.folder / "intermediate-ca.pem"

    @property
    def intermediate_key(self) -> Path:
        return self.private_dir / "intermediate-ca.key"

    @property
    def ca_bundle(self) -> Path:
        """Trust anchors for TLS: intermediate then root, PEM."""
        return self.folder / "ca-bundle.pem"

    @property
    def crl(self) -> Path:
        """The intermediate's CRL, PEM; rewritten on each revocation."""
        return self.folder / "crl.pem"

    @property
    def server_chain(self) -> Path:
        """This operator's certificate followed by the intermediate, PEM."""
        return self.folder / "server-chain.pem"

    @property
    def server_key(self) -> Path:
        return self.private_dir / "server.key"

    @property
    def index(self) -> Path:
        return self.folder / "index.json"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """One certificate issued by the PKI, as recorded in its index."""

    serial: int
    kind: CertificateKind
    subject_dn: str
    not_before: dt.datetime
    not_after: dt.datetime
    cert_path: Path
    chain_path: Path
    key_path: Path
    revoked_at: dt.datetime | None = None

    @property
    def serial_hex(self) -> str:
        return serial_to_hex(self.serial)

    def load_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())


def serial_to_hex(serial: int) -> str:
    """Serials are shown and typed in upper-case hexadecimal, as OpenSSL prints them."""
    return f"{serial:X}"


def serial_from_text(text: str) -> int:
    """Parse a serial typed by a user: hexadecimal, with optional `0x` and colons."""
    cleaned = text.strip().replace(":", "").lower().removeprefix("0x")
    return int(cleaned, 16)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = load_private_key(path)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: the dev PKI's CA keys are ECDSA")
    return key


class DevPki:
    """A loaded dev PKI: issues, revokes and lists certificates in its folder."""

    def __init__(self, paths: PkiPaths, clock: Clock = SYSTEM_CLOCK) -> None:
        self.paths = paths
        self.clock = clock
        self.root = _load_cert(paths.root_cert)
        self.intermediate = _load_cert(paths.intermediate_cert)
        self._lock = FolderLock(paths.folder / LOCK_FILE)

    # -- creation ---------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path, clock: Clock = SYSTEM_CLOCK) -> DevPki:
        paths = PkiPaths(Path(folder))
        if not (paths.root_cert.exists() and paths.intermediate_cert.exists()):
            raise PkiMissingError(f"no PKI in {folder}")
        return cls(paths, clock)

    @classmethod
    def init(
        cls, folder: Path, names: CaNames = IGC_SANTE_TEST_NAMES, clock: Clock = SYSTEM_CLOCK
    ) -> DevPki:
        """Create the root, intermediate, bundle and an empty CRL; load them if present."""
        paths = PkiPaths(Path(folder))
        with FolderLock(paths.folder / LOCK_FILE):
            if paths.root_cert.exists():
                return cls.load(folder, clock)
            paths.folder.mkdir(parents=True, exist_ok=True)
            paths.private_dir.mkdir(mode=0o700, exist_ok=True)
            now = clock.now()
            root_key = new_private_key()
            root = build_root(names, root_key, now)
            intermediate_key = new_private_key()
            intermediate = build_intermediate(names, intermediate_key, root, root_key, now)
            write_private_key(paths.root_key, root_key)
            write_private_key(paths.intermediate_key, intermediate_key)
            write_public_file(paths.ca_bundle, _pem(intermediate) + _pem(root))
            crl = build_crl(intermediate, intermediate_key, [], now, number=1)
            write_public_file(paths.crl, crl.public_bytes(serialization.Encoding.PEM))
            write_public_file(paths.index, json.dumps({"crl_number": 1, "issued": []}).encode())
            write_public_file(paths.intermediate_cert, _pem(intermediate))
            write_public_file(paths.root_cert, _pem(root))  # written last: marks a complete PKI
            return cls(paths, clock)

    def locked(self) -> FolderLock:
        """Hold the folder's writer lock across several steps (re-entrant)."""
        return self._lock

    # -- index ------------------------------------------------------------------------

    def _read_index(self) -> dict[str, object]:
        return json.loads(self.paths.index.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def _write_index(self, index: dict[str, object]) -> None:
        write_public_file(self.paths.index, json.dumps(index, indent=1).encode())

    def _entry_to_issued(self, entry: dict[str, str | None]) -> IssuedCertificate:
        folder = self.paths.folder
        revoked = entry.get("revoked_at")
        return IssuedCertificate(
            serial=serial_from_text(str(entry["serial"])),
            kind=CertificateKind(str(entry["kind"])),
            subject_dn=str(entry["subject"]),
            not_before=dt.datetime.fromisoformat(str(entry["not_before"])),
            not_after=dt.datetime.fromisoformat(str(entry["not_after"])),
            cert_path=folder / str(entry["cert"]),
            chain_path=folder / str(entry["chain"]),
            key_path=folder / str(entry["key"]),
            revoked_at=dt.datetime.fromisoformat(revoked) if revoked else None,
        )

    def issued(self) -> list[IssuedCertificate]:
        """Every certificate issued, oldest first, with its revocation time if revoked."""
        entries = self._read_index()["issued"]
        assert isinstance(entries, list)
        return [self._entry_to_issued(entry) for entry in entries]

    def find(self, serial: int) -> IssuedCertificate:
        for issued in self.issued():
            if issued.serial == serial:
                return issued
        raise UnknownSerialError(serial_to_hex(serial))

    # -- issuing ----------------------------------------------------------------------

    def _issue(
        self,
        kind: CertificateKind,
        subject: x509.Name,
        days: int,
        not_before: dt.datetime | None,
        dns_names: Sequence[str] = (),
    ) -> IssuedCertificate:
        with self.locked():
            if days <= 0:
                raise ValueError("validity must be at least one day")
            start = (
                not_before if not_before is not None else self.clock.now() - dt.timedelta(minutes=5)
            )
            end = start + dt.timedelta(days=days)
            key = new_private_key()
            certificate = build_leaf(
                kind,
                subject,
                key.public_key(),
                self.intermediate,
                _load_ec_key(self.paths.intermediate_key),
                start,
                end,
                dns_names,
            )
            serial = serial_to_hex(certificate.serial_number)
            cert_path = self.paths.issued_dir / f"{serial}.pem"
            chain_path = self.paths.issued_dir / f"{serial}-chain.pem"
            key_path = self.paths.private_dir / f"{serial}.key"
            write_private_key(key_path, key)
            write_public_file(cert_path, _pem(certificate))
            write_public_file(chain_path, _pem(certificate) + _pem(self.intermediate))
            index = self._read_index()
            entries = index["issued"]
            assert isinstance(entries, list)
            entries.append(
                {
                    "serial": serial,
                    "kind": kind.value,
                    "subject": name_to_dn(subject),
                    "not_before": certificate.not_valid_before_utc.isoformat(),
                    "not_after": certificate.not_valid_after_utc.isoformat(),
                    "cert": str(cert_path.relative_to(self.paths.folder)),
                    "chain": str(chain_path.relative_to(self.paths.folder)),
                    "key": str(key_path.relative_to(self.paths.folder)),
                    "revoked_at": None,
                }
            )
            self._write_index(index)
            return self.find(certificate.serial_number)

    def issue_operator(
        self,
        host: str,
        structure_id: str,
        organisation: str,
        department: str,
        *,
        days: int = DEFAULT_VALIDITY_DAYS,
        not_before: dt.datetime | None = None,
        extra_dns_names: Sequence[str] = ("localhost",),
    ) -> IssuedCertificate:
        """An operator's server certificate ("SERV SSL"), also its client certificate.

        SAN names the host and `localhost` by default (mail clients such as mbsync check
        the name and accept no IP address; docs/architecture.md §7).
        """
        names = [host, *(name for name in extra_dns_names if name != host)]
        subject = operator_subject(host, structure_id, organisation, department)
        return self._issue(CertificateKind.OPERATOR, subject, days, not_before, names)

    def issue_application(
        self,
        name: str,
        structure_id: str,
        organisation: str,
        *,
        days: int = DEFAULT_VALIDITY_DAYS,
        not_before: dt.datetime | None = None,
    ) -> IssuedCertificate:
        """Certificate of software sending from an APP mailbox (client authentication)."""
        subject = application_subject(name, structure_id, organisation)
        return self._issue(CertificateKind.APPLICATION, subject, days, not_before)

    def issue_professional(
        self,
        rpps: str,
        name: str,
        *,
        organisation: str = "",
        structure_id: str = "",
        days: int = DEFAULT_VALIDITY_DAYS,
        not_before: dt.datetime | None = None,
    ) -> IssuedCertificate:
        """CPS-like certificate of a professional: subject serialNumber `8` + RPPS."""
        subject = professional_subject(rpps, name, organisation, structure_id)
        return self._issue(CertificateKind.PROFESSIONAL, subject, days, not_before)

    def install_server_certificate(self, issued: IssuedCertificate) -> None:
        """Make an issued operator certificate this operator's server (and client) identity."""
        with self.locked():
            if issued.kind is not CertificateKind.OPERATOR:
                raise ValueError("the server certificate must be an operator certificate")
            replace_private_file(self.paths.server_key, issued.key_path.read_bytes())
            write_public_file(self.paths.server_chain, issued.chain_path.read_bytes())

    def server_certificate(self) -> x509.Certificate | None:
        """This operator's installed certificate, or None before the first `init`."""
        if not self.paths.server_chain.exists():
            return None
        return _load_cert(self.paths.server_chain)

    # -- revocation -------------------------------------------------------------------

    def revoke(self, serial: int) -> bool:
        """Revoke a certificate and re-sign the CRL; False if it was already revoked."""
        with self.locked():
            index = self._read_index()
            entries = index["issued"]
            assert isinstance(entries, list)
            wanted = serial_to_hex(serial)
            matches = [entry for entry in entries if entry["serial"] == wanted]
            if not matches:
                raise UnknownSerialError(wanted)
            if matches[0]["revoked_at"]:
                return False
            matches[0]["revoked_at"] = self.clock.now().isoformat()
            self._write_index(index)
            self.write_crl()
            return True

    def write_crl(self) -> x509.CertificateRevocationList:
        """Sign a fresh CRL with the next CRL number (RFC 5280 §5.2.3) and write it."""
        with self.locked():
            index = self._read_index()
            number = int(str(index["crl_number"])) + 1
            index["crl_number"] = number
            self._write_index(index)
            revoked = [
                (issued.serial, issued.revoked_at)
                for issued in self.issued()
                if issued.revoked_at is not None
            ]
            crl = build_crl(
                self.intermediate,
                _load_ec_key(self.paths.intermediate_key),
                revoked,
                self.clock.now(),
                number,
            )
            write_public_file(self.paths.crl, crl.public_bytes(serialization.Encoding.PEM))
            return crl

    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_pem_x509_crl(self.paths.crl.read_bytes())

    def refresh_crl_if_stale(self) -> bool:
        """Re-sign the CRL when less than half its lifetime is left (else TLS refuses all)."""
        with self.locked():
            next_update = self.crl().next_update_utc
            if next_update is not None and next_update - self.clock.now() > CRL_LIFETIME / 2:
                return False
            self.write_crl()
            return True


def create_foreign_pki(folder: Path, clock: Clock = SYSTEM_CLOCK) -> DevPki:
    """A second, unrelated PKI with other names: certificates no MSS peer may accept."""
    return DevPki.init(folder, FOREIGN_TEST_NAMES, clock)
