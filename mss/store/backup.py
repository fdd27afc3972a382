"""`mss backup DEST`: a consistent copy while the server runs.

Order matters: the database is snapshotted first (SQLite online backup API), then blob
files are copied. Blobs are immutable and written before the commit that names them,
so every blob the snapshot references is already on disk when it is copied.
The master key is not copied unless asked: a backup and its key belong apart.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mss.config import Settings
from mss.store.db import is_sqlite


class BackupError(Exception):
    pass


@dataclass
class BackupReport:
    destination: Path
    database: Path
    blobs_copied: int
    key_copied: bool


def backup(settings: Settings, dest: Path, *, with_key: bool = False) -> BackupReport:
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest}: destination exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    url = settings.database_url
    if is_sqlite(url):
        database = dest / "mss.db"
        _sqlite_snapshot(Path(url.split("///", 1)[1]), database)
    else:
        database = dest / "database.sql"
        _pg_dump(url, database)
    copied = _copy_blobs(settings.blob_dir, dest / "blobs")
    if with_key:
        shutil.copy2(settings.master_key_path, dest / "master.key")
    return BackupReport(dest, database, copied, with_key)


def _sqlite_snapshot(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"{source}: database file is missing")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_dump(url: str, target: Path) -> None:
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed: needed to back up a PostgreSQL store")
    with target.open("wb") as out:
        result = subprocess.run(["pg_dump", "--no-owner", plain], stdout=out,
                                stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.decode(errors='replace').strip()}")


def _copy_blobs(source: Path, target: Path) -> int:
    count = 0
    if not source.exists():
        return 0
    for path in source.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            count += 1
    return count
