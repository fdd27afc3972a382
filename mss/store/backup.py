"""`mss backup DEST` and `mss restore SRC`: the same operator back, from one folder.

A backup holds everything that makes this operator itself (docs/backup-restore.md):
the database (messages, inline blobs, UIDVALIDITY/UIDs, audit chain), the blob files,
the PKI (CA, server certificate and key: the identity peers know), the DKIM keys, the
other files of the data folder and the settings file in use; the master key only when
asked (a backup and its key belong apart).

Order matters: the audit checkpoints are read first (docs/audit.md: each names a row
the snapshot must hold), then the database is snapshotted (SQLite online backup API, or
pg_dump's one snapshot), then files are copied. Blobs are immutable and written before
the commit that names them, so every blob the snapshot references is on disk when it is
copied; later blobs are unreferenced extras that `mss verify` counts, never faults.

A restore goes into an empty folder through a staging folder beside it: copied there,
opened and checked with the `mss verify` checks, and only then renamed into place, so a
bad backup leaves nothing that looks like a data folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from mss.config import Settings
from mss.store.db import is_sqlite

MANIFEST = "backup.json"
FORMAT = 1
_DATABASE_FILES = ("mss.db", "mss.db-wal", "mss.db-shm", "mss.db-journal")


class BackupError(Exception):
    pass


@dataclass
class BackupReport:
    destination: Path
    database: Path
    blobs_copied: int
    files_copied: int
    key_copied: bool


@dataclass
class RestoreReport:
    data_dir: Path
    blobs_checked: int
    entries_checked: int
    audit_rows: int
    settings_file: Path | None


def _refuse_unless_empty(folder: Path, what: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder}: {what} is an existing file, not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise BackupError(f"{folder}: {what} exists and is not empty")


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.database_url).database or "")


def backup(settings: Settings, dest: Path, *, with_key: bool = False,
           config_file: Path | None = None) -> BackupReport:
    _refuse_unless_empty(dest, "backup destination")
    if not settings.data_dir.is_dir():
        raise BackupError(f"{settings.data_dir}: no such data folder")
    dest.mkdir(parents=True, exist_ok=True)
    # the audit checkpoints are read before the snapshot: none may name a row it lacks
    checkpoints = settings.audit_checkpoint_path
    checkpoint_bytes = checkpoints.read_bytes() if checkpoints.is_file() else None
    url = settings.database_url
    if is_sqlite(url):
        database = dest / "mss.db"
        _sqlite_snapshot(_sqlite_path(settings), database)
    else:
        database = dest / "database.sql"
        _pg_dump(url, database)
    skipped = {settings.master_key_path.resolve(), _sqlite_path(settings).resolve()}
    skipped |= {(settings.data_dir / name).resolve() for name in _DATABASE_FILES}
    skipped.add(checkpoints.resolve())
    files = _copy_tree(settings.data_dir, dest / "data", skip=skipped)
    if checkpoint_bytes is not None and checkpoints.resolve().is_relative_to(
            settings.data_dir.resolve()):
        copy = dest / "data" / checkpoints.resolve().relative_to(settings.data_dir.resolve())
        copy.parent.mkdir(parents=True, exist_ok=True)
        _write_synced(copy, checkpoint_bytes)
        files += 1
    blob_dir = settings.blob_dir.resolve()
    inside = blob_dir.is_relative_to(settings.data_dir.resolve())
    blobs = (_count_files(dest / "data" / blob_dir.relative_to(settings.data_dir.resolve()))
             if inside else _copy_tree(blob_dir, dest / "blobs", skip=set()))
    if with_key:
        shutil.copy2(settings.master_key_path, dest / "master.key")
    if config_file is not None:
        shutil.copy2(config_file, dest / "settings.toml")
    manifest = {
        "format": FORMAT, "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "sqlite" if is_sqlite(url) else "postgresql",
        "blobs_outside_data": not inside, "with_key": with_key,
        "settings": config_file is not None, "domain": settings.server.domain,
    }
    _write_synced(dest / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")
    return BackupReport(dest, database, blobs, files - (blobs if inside else 0), with_key)


def _sqlite_snapshot(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"{source}: database file is missing")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # one read transaction: a consistent copy while writers go on
    finally:
        dst.close()
        src.close()
    _fsync(target)


def _plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _pg_dump(url: str, target: Path) -> None:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed: needed to back up a PostgreSQL store")
    with target.open("wb") as out:
        result = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", _plain_url(url)],
                                stdout=out, stderr=subprocess.PIPE, check=False)
        out.flush()
        os.fsync(out.fileno())
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.decode(errors='replace').strip()}")


def _copy_tree(source: Path, target: Path, *, skip: set[Path]) -> int:
    """Regular files only (no sockets, no dot files: temporaries being written)."""
    count = 0
    if not source.exists():
        return 0
    for path in sorted(source.rglob("*")):
        if (not path.is_file() or path.name.startswith(".") or path.resolve() in skip
                or any(part.startswith(".") for part in path.relative_to(source).parts)):
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        _fsync(dest)
        count += 1
    return count


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


# restore ------------------------------------------------------------------------------

def read_manifest(source: Path) -> dict[str, object]:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source}: not an MSS backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST}: unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST}: unknown backup format")
    return manifest


def _key_source(source: Path, settings: Settings, key_file: Path | None) -> Path:
    if key_file is not None:
        if not key_file.is_file():
            raise BackupError(f"{key_file}: no such master key file")
        return key_file
    if (source / "master.key").is_file():
        return source / "master.key"
    if settings.store.master_key_file and settings.master_key_path.is_file():
        return settings.master_key_path  # kept apart from the data folder, as it should
    raise BackupError(f"{source}: the master key is not in this backup; give --key FILE "
                      "(the key kept apart from backups)")


async def restore(source: Path, settings: Settings, *, key_file: Path | None = None
                  ) -> RestoreReport:
    """Bring the backup at `source` back as `settings.data_dir`, checked before use."""
    from mss.store.store import Store
    from mss.store.verify import verify_store

    manifest = read_manifest(source)
    target = settings.data_dir
    _refuse_unless_empty(target, "restore target")
    if settings.store.blob_dir:
        raise BackupError("restore puts blobs in the data folder: unset store.blob_dir, "
                          "restore, then move them")
    sqlite = manifest["database"] == "sqlite"
    if sqlite != is_sqlite(settings.database_url):
        raise BackupError(f"this backup holds a {manifest['database']} database; the "
                          f"settings name {settings.database_url.split(':', 1)[0]}")
    if sqlite and _sqlite_path(settings).resolve() != (target / "mss.db").resolve():
        raise BackupError("restore puts the SQLite database in the data folder (mss.db): "
                          "unset database.url")
    key = _key_source(source, settings, key_file)
    staging = target.parent / f".{target.name}.restoring"
    if staging.exists():
        shutil.rmtree(staging)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        _copy_tree(source / "data", staging, skip=set())
        if manifest.get("blobs_outside_data"):
            _copy_tree(source / "blobs", staging / "blobs", skip=set())
        if sqlite:
            shutil.copy2(source / "mss.db", staging / "mss.db")
            _fsync(staging / "mss.db")
        else:
            await _pg_restore(settings, source / "database.sql")
        if (source / "settings.toml").is_file():
            shutil.copy2(source / "settings.toml", staging / "settings-from-backup.toml")
        staged = dataclasses.replace(
            settings, data_dir=staging,
            store=dataclasses.replace(settings.store, master_key_file=str(key.resolve())))
        store = await Store.open(staged)
        try:
            report = await verify_store(store)
        finally:
            await store.close()
        if not report.ok:
            raise BackupError(f"the backup fails verification ({len(report.faults)} "
                              f"fault(s)), nothing restored; first: {report.faults[0]}")
        key_home = (settings.master_key_path if settings.store.master_key_file
                    else staging / "master.key")
        if not key_home.exists():
            key_home.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(key, key_home)
            os.chmod(key_home, 0o600)
            _fsync(key_home)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    restored_settings = target / "settings-from-backup.toml"
    return RestoreReport(target, report.blobs_checked, report.entries_checked,
                         report.audit_rows,
                         restored_settings if restored_settings.exists() else None)


async def _pg_restore(settings: Settings, dump: Path) -> None:
    """Into an empty database only: a restore never mixes with data already there."""
    from mss.store import schema
    from mss.store.db import create_engine

    engine = create_engine(settings.database_url)
    try:
        if await schema.current_revision(engine) is not None:
            raise BackupError("the database named by the settings is not empty: restore "
                              "into a new database (createdb)")
    finally:
        await engine.dispose()
    if shutil.which("psql") is None:
        raise BackupError("psql is not installed: needed to restore a PostgreSQL store")
    result = subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--single-transaction",
         "-f", str(dump), _plain_url(settings.database_url)],
        capture_output=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"psql failed: {result.stderr.decode(errors='replace').strip()}")
