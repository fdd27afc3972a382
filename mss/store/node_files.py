"""The data-folder files every node needs, sealed in the database (issue 24 §3).

The PKI folder (CA, this operator's server certificate and keys, CRL, the index of
issued certificates) and the DKIM keys are files of the data folder; with several nodes
each node needs the same ones. They are kept in `sealed_files`, AES-GCM under a key
derived from the master key (never stored), their data-folder relative name as
associated data, so a copied database reveals none of them and a row cannot be moved
onto another name.

How changes travel (`sync`, run by every node at start and then as a periodic pass,
mss.store.node_file_sync): a file and its row whose contents differ are reconciled by
time, the file's mtime against the row's `updated_at`:
- the newest wins: a file changed here after the row (a revocation re-signed the CRL, a
  server certificate installed, a DKIM key replaced) is sealed over the row, with its
  mtime as `updated_at` and `version` + 1; a row newer than the file is written over
  the file (whole, then renamed into place), the file's mtime set to the row's
  `updated_at`, so that the two then compare equal in time as in content;
- a tie is the database's (a file both have is the database's);
- a file older than its row never reaches the database: the UPDATE is made only over
  the version read and only if the file is newer than that row, so `updated_at` of a
  row only grows, even when two nodes republish at once (one wins; the other compares
  again at its next pass, and gets the winner's file);
- a file the database lacks is sealed into it; a row whose file is missing is written.
  A removal does not travel: the file comes back from the database.
Times are the nodes' wall clocks (keep them in step, NTP); a file put in place with its
old mtime (`cp -p`, a restored backup) is older than its row and is replaced: touch it.
Hidden files (the PKI's `.lock`, half-written temporary files) are never sealed.

A check row, sealed the same way, tells a node started with another master key so at once
(`check_master_key`), before it could write anything under the wrong key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mss.store.insert_once import insert_once
from mss.store.keys import Keyring, MasterKeyError
from mss.store.tables import Mailbox, SealedFile

_LABEL = b"mss-sealed-node-files-v1"
_AAD = b"mss-node-file:"
CHECK_NAME = "#master-key-check"
_CHECK_VALUE = b"mss master key check v1"
_T = SealedFile.__table__
NONCE = 12
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

FileLock = Callable[[], AbstractContextManager[object]]
_Stamp = tuple[int, int, int]  # inode, size, mtime in ns


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one `sync` changed: names sealed into the database, names written here."""

    published: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Row:
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class _Publish:
    name: str
    content: bytes
    changed_at: datetime  # the file's mtime
    stamp: _Stamp
    over_version: int | None  # None: no row yet


class NodeFiles:
    """Seals and opens node files under the master key's derived key, and keeps a data
    folder and the database in step (`sync`). One object per node: it remembers what it
    last found in step, so a pass reads only the files and rows changed since."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._aead = AESGCM(keyring.derive(_LABEL))
        self._in_step: dict[str, tuple[int, _Stamp]] = {}  # name → row version, file stamp

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
        """Write every sealed file missing from `data_dir`; their names (`mss node join`)."""
        rows = (await connection.execute(
            select(_T.c.name, _T.c.sealed, _T.c.updated_at).where(
                _T.c.name != CHECK_NAME))).all()
        written = []
        for name, sealed, updated_at in rows:
            path = _inside(data_dir, name)
            if path.exists():
                continue
            _write_private(path, self.open(name, sealed), updated_at)
            written.append(name)
        return written

    async def sync(self, connection: AsyncConnection, data_dir: Path,
                   folders: Iterable[Path], *,
                   lock: FileLock = contextlib.nullcontext) -> SyncOutcome:
        """Bring `folders` (under `data_dir`) and the database in step, by the rules of
        the module docstring. The files are read and written under `lock` (the PKI's
        writer lock: a `mss certs` beside this node waits, and is not overwritten
        halfway), in a thread."""
        folders = list(folders)
        under = tuple(f"{folder.relative_to(data_dir).as_posix()}/" for folder in folders)
        rows = {name: _Row(version, updated_at) for name, version, updated_at in (
            await connection.execute(select(_T.c.name, _T.c.version, _T.c.updated_at)
                                     .where(_T.c.name != CHECK_NAME))).all()
                if name.startswith(under)}
        local = await asyncio.to_thread(_scan, data_dir, folders)
        names = sorted(rows.keys() | local.keys())
        to_check = [name for name in names if name not in rows or name not in local
                    or self._in_step.get(name) != (rows[name].version, local[name])]
        if not to_check:
            return SyncOutcome()
        contents: dict[str, bytes] = {}
        wanted = [name for name in to_check if name in rows]
        if wanted:
            for name, sealed in (await connection.execute(
                    select(_T.c.name, _T.c.sealed).where(_T.c.name.in_(wanted)))).all():
                contents[name] = self.open(name, sealed)
        outcome = SyncOutcome()
        publish = await asyncio.to_thread(
            self._reconcile, data_dir, to_check, rows, contents, lock, outcome)
        for item in publish:
            if await self._seal_over(connection, item):
                outcome.published.append(item.name)
        return outcome

    def _reconcile(self, data_dir: Path, names: list[str], rows: dict[str, _Row],
                   contents: dict[str, bytes], lock: FileLock,
                   outcome: SyncOutcome) -> list[_Publish]:
        """The file side of `sync`: write what the database has newer, read what is
        newer here; what to seal."""
        publish: list[_Publish] = []
        with lock():
            for name in names:
                path = _inside(data_dir, name)
                row = rows.get(name)
                stamp = _stamp(path)
                if stamp is None:
                    if row is not None and name in contents:
                        self._write_from_row(path, name, row, contents[name])
                        outcome.rewritten.append(name)
                    continue
                content = path.read_bytes()
                changed_at = _mtime(stamp)
                if row is None:
                    publish.append(_Publish(name, content, changed_at, stamp, None))
                elif content == contents.get(name):
                    self._in_step[name] = (row.version, stamp)
                elif changed_at > row.updated_at:
                    publish.append(_Publish(name, content, changed_at, stamp, row.version))
                else:  # the row is newer, or as new: the database's
                    self._write_from_row(path, name, row, contents[name])
                    outcome.rewritten.append(name)
        return publish

    def _write_from_row(self, path: Path, name: str, row: _Row, content: bytes) -> None:
        _write_private(path, content, row.updated_at)
        stamp = _stamp(path)
        if stamp is not None:
            self._in_step[name] = (row.version, stamp)

    async def _seal_over(self, connection: AsyncConnection, item: _Publish) -> bool:
        """Seal a file newer than its row over that row (only the version read, only if
        still older), or as a new row; False when another node was first."""
        sealed = self.seal(item.name, item.content)
        if item.over_version is None:
            statement: Any = _insert(connection).values(
                name=item.name, sealed=sealed, updated_at=item.changed_at, version=1)
            version = 1
        else:
            statement = update(_T).where(
                _T.c.name == item.name, _T.c.version == item.over_version,
                _T.c.updated_at < item.changed_at,
            ).values(sealed=sealed, updated_at=item.changed_at,
                     version=item.over_version + 1)
            version = item.over_version + 1
        done = (await connection.execute(statement.returning(_T.c.name))).first()
        if done is None:
            self._in_step.pop(item.name, None)
            return False
        self._in_step[item.name] = (version, item.stamp)
        return True


def _insert(connection: AsyncConnection) -> Any:
    """INSERT that leaves a row another node wrote first alone (the next pass compares
    it with the file, by time)."""
    return insert_once(connection.dialect, _T, ["name"])


def _inside(data_dir: Path, name: str) -> Path:
    path = (data_dir / name).resolve()
    if not path.is_relative_to(data_dir.resolve()) or name.startswith(("/", "#")):
        raise MasterKeyError(f"sealed file {name!r}: not a data-folder name")
    return path


def _write_private(path: Path, content: bytes, changed_at: datetime) -> None:
    """Owner-only (they hold private keys), written whole then renamed into place (a
    reader sees the old file or the new one), its mtime the row's `updated_at`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    nanoseconds = (changed_at - _EPOCH) // _MICROSECOND * 1000
    os.utime(tmp, ns=(nanoseconds, nanoseconds))
    os.replace(tmp, path)


def _stamp(path: Path) -> _Stamp | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _mtime(stamp: _Stamp) -> datetime:
    """The file's mtime to the microsecond (what both databases keep)."""
    return _EPOCH + stamp[2] // 1000 * _MICROSECOND


def _scan(data_dir: Path, folders: list[Path]) -> dict[str, _Stamp]:
    """Data-folder name → stamp of every file under `folders`, hidden ones left out."""
    found: dict[str, _Stamp] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            relative = path.relative_to(data_dir)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            stamp = _stamp(path)
            if stamp is not None:
                found[relative.as_posix()] = stamp
    return found
