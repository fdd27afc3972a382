"""Operator master key and per-mailbox data keys (docs/architecture.md §5).

Each mailbox has its own AES-256 data key, stored wrapped (AES-GCM) by the operator
master key, so that a copied database or blob folder reveals nothing without the key
file, and one mailbox's key opens nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
_WRAP_AAD = b"mss-mailbox-data-key-v1"


class MasterKeyError(Exception):
    """The master key is missing, malformed or not the one that wrapped the data."""


def create_master_key(path: Path) -> None:
    """Write a new random master key (hex), never replacing an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def write_master_key(path: Path, key: bytes) -> None:
    """Write a given master key (`mss node join`), never replacing an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def parse_master_key(text: str, where: str) -> bytes:
    """A master key from its hex form (a key file's content, or $MSS_MASTER_KEY)."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{where}: not a master key (expected {KEY_BYTES * 2} hex digits)")
    return key


def load_master_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise MasterKeyError(f"{path}: master key file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"{path}: cannot read the master key ({exc})") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{path}: not a master key (expected {KEY_BYTES * 2} hex digits)")
    return key


class Keyring:
    """Wraps and unwraps mailbox data keys; caches unwrapped keys in memory."""

    def __init__(self, master_key: bytes) -> None:
        self._master = AESGCM(master_key)
        self._master_key = master_key
        self._cache: dict[bytes, bytes] = {}
        self.fingerprint = hashlib.sha256(b"mss-master-fp" + master_key).hexdigest()[:16]

    def derive(self, label: bytes) -> bytes:
        """A key for one purpose (`label`), derived from the master key by HKDF-SHA256
        (RFC 5869): it is kept nowhere, so the database alone never holds it."""
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                    info=label).derive(self._master_key)

    def new_wrapped_data_key(self) -> bytes:
        key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(12)
        return nonce + self._master.encrypt(nonce, key, _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        cached = self._cache.get(wrapped)
        if cached is not None:
            return cached
        try:
            key = self._master.decrypt(wrapped[:12], wrapped[12:], _WRAP_AAD)
        except InvalidTag:
            raise MasterKeyError("the master key does not open this mailbox's data key "
                            "(wrong master key file?)") from None
        self._cache[wrapped] = key
        return key


def blob_key_for(data_key: bytes, sha256_hex: str) -> str:
    """Blob file name: keyed by the mailbox key so that a name reveals no plaintext hash."""
    return hmac.new(data_key, sha256_hex.encode(), hashlib.sha256).hexdigest()
