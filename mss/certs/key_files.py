"""Writing keys and certificates to disk: private keys 0600 and never overwritten.

A private key is created with `O_CREAT | O_EXCL` and mode 0600 in one system call, so it
is never readable by others, not even for an instant, and an existing key is never
replaced by accident. Public files (certificates, CRLs) are replaced atomically (temp
file, fsync, rename) so that a TLS context never loads half a CRL.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

PRIVATE_FILE_MODE = 0o600


def private_key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: the process reads it at start like any mail server."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600; FileExistsError if it is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_key(path: Path, key: PrivateKey) -> None:
    write_private_file(path, private_key_pem(key))


def replace_private_file(path: Path, data: bytes) -> None:
    """Replace `path` atomically with a new 0600 file (a re-issued server key)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.new")
    temp.unlink(missing_ok=True)
    write_private_file(temp, data)
    os.replace(temp, path)


def write_public_file(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data` (mode 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.write(fd, data)
        os.fsync(fd)
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    os.replace(temp_name, path)


def load_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, PrivateKey):
        raise ValueError(f"{path}: unsupported key type {type(key).__name__}")
    return key
