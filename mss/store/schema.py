"""Schema versions: Alembic migrations from the first table on (docs/architecture.md §8.13).

`upgrade` brings a database to head; `check` refuses to run on a database that is
behind (run `mss db upgrade`) or ahead (a newer MSS wrote it) of this code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaError(Exception):
    """The database schema is not the one this version of MSS runs on."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    await check(engine, allow_behind=True)
    cfg = alembic_config()

    def run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, target)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def check(engine: AsyncEngine, *, allow_behind: bool = False) -> None:
    current = await current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaError(
            f"database schema {current} is newer than this MSS knows (head "
            f"{script.get_current_head()}): upgrade MSS, or restore a backup"
        )
    if not allow_behind and current != script.get_current_head():
        raise SchemaError(
            f"database schema is at {current or 'empty'}, this MSS needs "
            f"{script.get_current_head()}: run `mss db upgrade`"
        )
