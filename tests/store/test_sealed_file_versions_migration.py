"""Migration 0024 (a version on each sealed node file): the rows sealed before it are
version 1, their sealed bytes untouched; the downgrade drops the column and keeps them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from mss.store import schema
from mss.store.db import create_engine


def _migrate(sync_conn, target: str, down: bool) -> None:
    cfg = schema.alembic_config()
    cfg.attributes["connection"] = sync_conn
    (command.downgrade if down else command.upgrade)(cfg, target)


async def test_rows_sealed_before_0024_become_version_1_and_survive_the_downgrade(
    make_settings,
) -> None:
    settings = make_settings()
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0023", True)
            await conn.execute(sa.text(
                "INSERT INTO sealed_files (name, sealed, updated_at) "
                "VALUES ('pki/crl.pem', :sealed, :at)"),
                {"sealed": b"sealed bytes", "at": datetime(2026, 12, 1, 10, tzinfo=UTC)})
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "head", False)
            rows = (await conn.execute(sa.text(
                "SELECT name, sealed, version FROM sealed_files"))).all()
        assert [tuple(r) for r in rows] == [("pki/crl.pem", b"sealed bytes", 1)]
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0023", True)
            columns = await conn.run_sync(lambda sync: {
                c["name"] for c in sa.inspect(sync).get_columns("sealed_files")})
            kept = (await conn.execute(sa.text("SELECT sealed FROM sealed_files"))).scalar()
        assert "version" not in columns and kept == b"sealed bytes"
    finally:
        await engine.dispose()
