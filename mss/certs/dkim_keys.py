"""DKIM keys of an operator (RFC 6376, RFC 8463 for Ed25519).

MSS signs outbound mail as defence in depth; the public key travels in the trust list,
not in DNS (docs/architecture.md §9: MSS choice), but keeps the DNS TXT form `v=DKIM1; k=...; p=...`
so that any DKIM verifier reads it. Private keys are PKCS#8 PEM files, mode 0600, named
`<selector>.dkim.key`; the TXT record sits beside them as `<selector>.dkim.txt`.

dkimpy takes an RSA key as PEM bytes but an Ed25519 key as the base64 of its raw 32-byte
seed: `signing_key_for_dkimpy` returns the right form for each.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mss.certs.key_files import load_private_key, write_private_key, write_public_file

RSA_DKIM_BITS = 2048  # RFC 8301 §3.2: at least 1024, 2048 recommended


class DkimAlgorithm(enum.StrEnum):
    ED25519 = "ed25519"
    RSA = "rsa"

    @property
    def signature_algorithm(self) -> bytes:
        """The `a=` tag value (RFC 8463 §3, RFC 6376 §3.3)."""
        return b"ed25519-sha256" if self is DkimAlgorithm.ED25519 else b"rsa-sha256"


DkimPrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True, slots=True)
class DkimKey:
    selector: str
    algorithm: DkimAlgorithm
    private_key_path: Path
    public_value: str  # the `p=` tag value

    @property
    def txt_record(self) -> str:
        """The DNS TXT form of the public key (RFC 6376 §3.6.1)."""
        return f"v=DKIM1; k={self.algorithm.value}; p={self.public_value}"

    def record_name(self, domain: str) -> str:
        """`<selector>._domainkey.<domain>`, where DNS would publish the record."""
        return f"{self.selector}._domainkey.{domain}"


def _paths(folder: Path, selector: str) -> tuple[Path, Path]:
    if not selector or not all(c.isalnum() or c in "-_." for c in selector):
        raise ValueError(f"invalid DKIM selector {selector!r}")
    return folder / f"{selector}.dkim.key", folder / f"{selector}.dkim.txt"


def public_value(key: DkimPrivateKey) -> str:
    """`p=`: raw 32 bytes for Ed25519 (RFC 8463 §4), SubjectPublicKeyInfo DER for RSA."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    else:
        raw = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return base64.b64encode(raw).decode("ascii")


def _algorithm_of(key: DkimPrivateKey) -> DkimAlgorithm:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return DkimAlgorithm.ED25519
    return DkimAlgorithm.RSA


def generate_dkim_key(
    folder: Path, selector: str, algorithm: DkimAlgorithm | str = DkimAlgorithm.ED25519
) -> DkimKey:
    """Create a key for `selector` (never overwriting one) and return its public form."""
    chosen = DkimAlgorithm(algorithm)
    key_path, txt_path = _paths(Path(folder), selector)
    key: DkimPrivateKey
    if chosen is DkimAlgorithm.ED25519:
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_DKIM_BITS)
    write_private_key(key_path, key)
    result = DkimKey(selector, chosen, key_path, public_value(key))
    write_public_file(txt_path, (result.txt_record + "\n").encode("ascii"))
    return result


def load_dkim_private_key(path: Path) -> DkimPrivateKey:
    key = load_private_key(path)
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path}: a DKIM key is Ed25519 or RSA")
    return key


def load_dkim_key(folder: Path, selector: str) -> DkimKey:
    key_path, _ = _paths(Path(folder), selector)
    key = load_dkim_private_key(key_path)
    return DkimKey(selector, _algorithm_of(key), key_path, public_value(key))


def ensure_dkim_key(
    folder: Path, selector: str, algorithm: DkimAlgorithm | str = DkimAlgorithm.ED25519
) -> DkimKey:
    """Load the selector's key, or create it on first use."""
    key_path, _ = _paths(Path(folder), selector)
    if key_path.exists():
        return load_dkim_key(folder, selector)
    return generate_dkim_key(folder, selector, algorithm)


def signing_key_for_dkimpy(key: DkimKey) -> bytes:
    """The `privkey` argument of `dkim.sign`: PEM for RSA, base64 raw seed for Ed25519."""
    private = load_dkim_private_key(key.private_key_path)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(seed)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
