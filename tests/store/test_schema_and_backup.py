"""Migrations build exactly the declared schema; a backup taken under load is consistent."""

from __future__ import annotations

import asyncio
import shutil

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mss.config import load_settings
from mss.pipeline.message_search import FTS_TABLES
from mss.schema_tables import all_metadata
from mss.store import schema
from mss.store.backup import backup, restore
from mss.store.db import create_engine
from mss.store.store import Store
from mss.store.verify import verify_store
from tests.store.conftest import deliver, make_mailbox, sample_message


async def test_empty_database_upgrades_to_head(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await schema.current_revision(engine) is None
        await schema.upgrade(engine)
        assert await schema.current_revision(engine) == schema.head_revision()
    finally:
        await engine.dispose()


def _declared(name: str | None, kind: str, _parent: object) -> bool:
    """The SQLite FTS5 tables of the search index (and their shadow tables) are made by
    the migration alone: an FTS5 table is not a declarable SQLAlchemy table."""
    shadows = {f"{t}{s}" for t in FTS_TABLES for s in ("", "_data", "_idx", "_docsize",
                                                        "_config", "_content")}
    return not (kind == "table" and name in shadows)


async def test_migrations_match_the_declared_tables(store) -> None:
    async with store.write_engine.connect() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(
                sync, opts={"include_name": _declared}), all_metadata())
        )
    assert diffs == []


async def test_backup_while_delivering_restores_to_a_verified_store(store, tmp_path) -> None:
    if not store.settings.database_url.startswith("sqlite"):
        assert shutil.which("pg_dump") is not None
    mailbox = await make_mailbox(store, "bob@mss.localhost")
    await asyncio.gather(*(deliver(store, mailbox, sample_message(i)) for i in range(10)))
    dest = tmp_path / "backup"
    load = asyncio.gather(*(deliver(store, mailbox, sample_message(i)) for i in range(10, 40)))
    report = await asyncio.to_thread(backup, store.settings, dest, with_key=True)
    await load
    assert report.blobs_copied >= 10
    if not store.settings.database_url.startswith("sqlite"):
        assert report.database.read_bytes().startswith(b"--")
        return
    restored = load_settings(environ={}, overrides={"data_dir": str(tmp_path / "restored")})
    result = await restore(dest, restored)  # the key came with --with-key
    assert result.blobs_checked >= 10
    copy = await Store.open(restored)
    try:
        assert (await verify_store(copy)).ok
    finally:
        await copy.close()
