"""Migration 0021 (one audit chain per writer) goes back to one chain only while no
writer has chained a row of its own: those rows' MACs cannot join the old chain without
the master key, so the downgrade is refused and the database is left as it was."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from mss.store import schema
from mss.store.db import create_engine
from mss.store.store import Store
from tests.store.conftest import make_mailbox


def _migrate(sync_conn, target: str, down: bool) -> None:
    cfg = schema.alembic_config()
    cfg.attributes["connection"] = sync_conn
    (command.downgrade if down else command.upgrade)(cfg, target)


async def _node_chain_rows(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE chain <> ''"))).scalar_one()


async def test_the_downgrade_is_refused_once_a_node_chain_holds_rows(make_settings, clock) -> None:
    settings = make_settings()
    store = await Store.open(settings, clock=clock)
    try:
        await make_mailbox(store, "chained@mss.localhost")
    finally:
        await store.close()
    engine = create_engine(settings.database_url)
    try:
        written = await _node_chain_rows(engine)
        assert written > 0
        with pytest.raises(RuntimeError, match="per-node chains"):
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "0020", True)
        assert await _node_chain_rows(engine) == written  # nothing changed
        async with engine.connect() as conn:
            heads = (await conn.execute(sa.text("SELECT count(*) FROM audit_heads"))).scalar_one()
        assert heads >= 1
    finally:
        await engine.dispose()


async def test_the_downgrade_keeps_the_single_chain_when_no_node_wrote(make_settings) -> None:
    settings = make_settings()
    engine = create_engine(settings.database_url)
    try:
        assert await _node_chain_rows(engine) == 0
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0020", True)
            tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
        assert "audit_head" in tables and "audit_heads" not in tables
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "head", False)
            tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
        assert "audit_heads" in tables and "audit_head" not in tables
    finally:
        await engine.dispose()
