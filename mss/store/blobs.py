"""Encrypted, content-addressed blob files (docs/architecture.md §5).

Invariant: a blob is written to a temporary file, fsynced, renamed into place and its
directory fsynced *before* the database commit that references it; so a committed row
never points at a missing or partial file. Orphan files (written, never committed) are
harmless and reported by `mss verify`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MSSB1\n"
NONCE_BYTES = 12


class BlobError(Exception):
    """A blob is missing, unreadable or fails authentication (corrupted or wrong key)."""


HEADER_AAD = b"header:"


def seal_small(data_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """A small value kept in a database row, sealed like a blob (nonce + AES-GCM)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def open_small(data_key: bytes, aad: bytes, sealed: bytes) -> bytes:
    try:
        return AESGCM(data_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise BlobError("sealed value fails authentication (corrupted or wrong key)") from None


def seal_blob(data_key: bytes, blob_key: str, plaintext: bytes) -> bytes:
    """A blob's stored bytes: magic, nonce, AES-GCM (the blob key as associated data)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, blob_key.encode())


def open_blob(where: str, data_key: bytes, blob_key: str, raw: bytes) -> bytes:
    """The plaintext of a blob's stored bytes (`seal_blob`'s), or BlobError."""
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + NONCE_BYTES + 16:
        raise BlobError(f"{where}: not an MSS blob (corrupted)")
    nonce = raw[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(data_key).decrypt(nonce, raw[len(MAGIC) + NONCE_BYTES :],
                                        blob_key.encode())
    except InvalidTag:
        raise BlobError(f"{where}: blob fails authentication (corrupted or wrong key)") from None


class BlobBackend(Protocol):
    """Where sealed blobs live (issue 24 §3): files (`BlobStore`, the embedded default)
    or the database (mss.store.db_blobs). `put` returns once the blob is durable."""

    async def put(self, mailbox_id: int, blob_key: str, data_key: bytes,
                  plaintext: bytes) -> None: ...

    async def get_many(self, items: Sequence[tuple[int, str, bytes]]) -> list[bytes]:
        """(mailbox id, blob key, data key) each: their plaintexts, in order."""
        ...

    def delete(self, mailbox_id: int, blob_key: str) -> None:
        """Remove a blob no committed row names any more (may finish a moment later)."""
        ...

    async def keys(self) -> list[tuple[int, str]]:
        """Every (mailbox id, blob key) stored, for verification."""
        ...


class BlobStore:
    """Blob files under `root/<mailbox id>/<2 hex>/<blob key>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, mailbox_id: int, blob_key: str, data_key: bytes,
                  plaintext: bytes) -> None:
        await asyncio.to_thread(self.write, mailbox_id, blob_key, data_key, plaintext)

    async def get_many(self, items: Sequence[tuple[int, str, bytes]]) -> list[bytes]:
        def read_files() -> list[bytes]:
            return [self.read(m, b, k) for m, b, k in items]

        return await asyncio.to_thread(read_files)

    async def keys(self) -> list[tuple[int, str]]:
        return await asyncio.to_thread(self.iter_keys)

    def path_for(self, mailbox_id: int, blob_key: str) -> Path:
        return self.root / str(mailbox_id) / blob_key[:2] / blob_key

    def exists(self, mailbox_id: int, blob_key: str) -> bool:
        return self.path_for(mailbox_id, blob_key).exists()

    def write(self, mailbox_id: int, blob_key: str, data_key: bytes, plaintext: bytes) -> None:
        """Encrypt and durably write; a blob already present is left as it is."""
        final = self.path_for(mailbox_id, blob_key)
        if final.exists():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        sealed = seal_blob(data_key, blob_key, plaintext)
        tmp = final.with_name(f".{blob_key}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(sealed)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)

    def read(self, mailbox_id: int, blob_key: str, data_key: bytes) -> bytes:
        path = self.path_for(mailbox_id, blob_key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise BlobError(f"{path}: blob is missing") from None
        except OSError as exc:
            raise BlobError(f"{path}: cannot read blob ({exc.strerror})") from None
        return open_blob(str(path), data_key, blob_key, raw)

    def delete(self, mailbox_id: int, blob_key: str) -> None:
        self.path_for(mailbox_id, blob_key).unlink(missing_ok=True)

    def iter_keys(self) -> list[tuple[int, str]]:
        """Every (mailbox id, blob key) on disk, for verification and garbage collection."""
        found: list[tuple[int, str]] = []
        if not self.root.exists():
            return found
        for mailbox_dir in self.root.iterdir():
            if not mailbox_dir.name.isdigit():
                continue
            for shard in mailbox_dir.iterdir():
                found.extend(
                    (int(mailbox_dir.name), f.name)
                    for f in shard.iterdir()
                    if not f.name.startswith(".")
                )
        return found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    # a new shard or mailbox folder must itself be durable in its parent
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(parent)
    finally:
        os.close(parent)
