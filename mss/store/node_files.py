"""The data-folder files every node needs, sealed in the database (issue 24 §3).

The PKI folder (CA, this operator's server certificate and keys, CRL) and the DKIM keys
are files of the data folder; with several nodes each node needs the same ones. They are
kept in `sealed_files`, AES-GCM under a key derived from the master key (never stored),
their data-folder relative name as associated data, so a copied database reveals none
of them and a row cannot be moved onto another name. A node:
- `restore`s the rows it lacks as files before it loads its PKI (`mss node join`, and
  every start on PostgreSQL), so a new node needs only the database URL and the master key;
- `publish`es the files it has that the database lacks (the first node's PKI and DKIM
  keys, made on its first start); a file both have is the database's.
A check row, sealed the same way, tells a node started with another master key so at once
(`check_master_key`), before it could write anything under the wrong key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.store.keys import Keyring, MasterKeyError
from mss.store.tables import Mailbox, SealedFile

_LABEL = b"mss-sealed-node-files-v1"
_AAD = b"mss-node-file:"
CHECK_NAME = "#master-key-check"
_CHECK_VALUE = b"mss master key check v1"
_T = SealedFile.__table__
NONCE = 12


class NodeFiles:
    """Seals and opens node files under the master key's derived key."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._aead = AESGCM(keyring.derive(_LABEL))

    def seal(self, name: str, content: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._aead.encrypt(nonce, content, _AAD + name.encode())

    def open(self, name: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], _AAD + name.encode())
        except (InvalidTag, ValueError):
            raise MasterKeyError(
                f"sealed file {name}: this master key does not open it (not the key of "
                "this database? a new node gets it with `mss node join`)") from None

    async def check_master_key(self, connection: AsyncConnection, now: datetime) -> None:
        """Refuse a master key other than the one this database was used with: the check
        row when there is one (else it is written now), or a mailbox's data key."""
        sealed = (await connection.execute(
            select(_T.c.sealed).where(_T.c.name == CHECK_NAME))).scalar_one_or_none()
        if sealed is not None:
            self.open(CHECK_NAME, sealed)
            return
        wrapped = (await connection.execute(select(Mailbox.data_key).limit(1))).scalar()
        if wrapped is not None:
            self._keyring.unwrap(wrapped)  # MasterKeyError when it is not this key
        await connection.execute(_insert(connection).values(
            name=CHECK_NAME, sealed=self.seal(CHECK_NAME, _CHECK_VALUE), updated_at=now))

    async def restore(self, connection: AsyncConnection, data_dir: Path) -> list[str]:
        """Write every sealed file missing from `data_dir`; their names."""
        rows = (await connection.execute(
            select(_T.c.name, _T.c.sealed).where(_T.c.name != CHECK_NAME))).all()
        written = []
        for name, sealed in rows:
            path = _inside(data_dir, name)
            if path.exists():
                continue
            _write_private(path, self.open(name, sealed))
            written.append(name)
        return written

    async def publish(self, connection: AsyncConnection, data_dir: Path,
                      folders: Iterable[Path], now: datetime) -> list[str]:
        """Seal into the database the files under `folders` it does not hold yet."""
        known = set((await connection.execute(select(_T.c.name))).scalars())
        added = []
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                name = path.relative_to(data_dir).as_posix()
                if name in known or path.name.endswith((".lock", ".tmp")):
                    continue
                await connection.execute(_insert(connection).values(
                    name=name, sealed=self.seal(name, path.read_bytes()), updated_at=now))
                added.append(name)
        return added


def _insert(connection: AsyncConnection) -> Any:
    """INSERT that leaves a row another node wrote first alone (theirs is as good)."""
    insert = sqlite_insert if connection.dialect.name == "sqlite" else pg_insert
    return insert(_T).on_conflict_do_nothing(index_elements=["name"])


def _inside(data_dir: Path, name: str) -> Path:
    path = (data_dir / name).resolve()
    if not path.is_relative_to(data_dir.resolve()) or name.startswith(("/", "#")):
        raise MasterKeyError(f"sealed file {name!r}: not a data-folder name")
    return path


def _write_private(path: Path, content: bytes) -> None:
    """Owner-only (they hold private keys), written whole then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
