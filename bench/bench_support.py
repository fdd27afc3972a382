"""What the benchmark scripts share: a throwaway store, and PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mss.config import load_settings
from mss.store.store import Store


@asynccontextmanager
async def temporary_store(url: str | None) -> AsyncIterator[Store]:
    """A new store in a temporary data folder (SQLite, or the PostgreSQL `url`)."""
    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, object] = {"data_dir": tmp}
        if url:
            overrides["database"] = {"url": url}
        store = await Store.open(load_settings(environ={}, overrides=overrides), create=True)
        try:
            yield store
        finally:
            await store.close()


async def create_pg_db(admin_url: str) -> tuple[str, str]:
    """A new empty database next to `admin_url`'s: (name, URL)."""
    import asyncpg

    name = f"mss_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


async def drop_pg_db(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def store_on(pg_admin_url: str) -> AsyncIterator[Store]:
    """A throwaway store: on a new PostgreSQL database beside `pg_admin_url` (dropped
    afterwards), or on SQLite when it is empty."""
    name, url = await create_pg_db(pg_admin_url) if pg_admin_url else ("", None)
    try:
        async with temporary_store(url) as store:
            yield store
    finally:
        if name:
            await drop_pg_db(pg_admin_url, name)


def ensure_debian_package(command: str, package: str) -> bool:
    """The reference server a benchmark compares with, installed from Debian when missing
    (`apt-get`, as root; its own service is never used: each script runs a private one)."""
    if shutil.which(command) is not None:
        return True
    print(f"installing {package} from Debian for the comparison...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        if subprocess.run(step, env=env, capture_output=True).returncode != 0:
            break
    return shutil.which(command) is not None
