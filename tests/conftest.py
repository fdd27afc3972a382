"""Shared fixtures: settings in a temporary data folder and an open store.

The database is SQLite by default; when MSS_TEST_DATABASE_URL names a PostgreSQL
server (postgresql+asyncpg://user@host/db), each test gets its own database, cloned
from a template upgraded once per run, so the same tests run on both engines.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from mss.clock import ManualClock
from mss.config import Settings, load_settings
from mss.store.store import Store, prepare_data_dir
from tests.event_lines import lines  # noqa: F401 - the `lines` fixture, for every test

# Property tests judge behaviour, never speed: Hypothesis's per-example deadline (200 ms)
# fails examples on a loaded machine, so it is off for the whole suite.
hypothesis_settings.register_profile("mss", deadline=None)
hypothesis_settings.load_profile("mss")

PG_URL = os.environ.get("MSS_TEST_DATABASE_URL", "")


def engine_name() -> str:
    return "postgresql" if PG_URL else "sqlite"


def pg_admin(sql: str) -> None:
    """Run one administrative statement (CREATE/DROP DATABASE) from any context."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg  # only with PostgreSQL

    async def run() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:  # works inside a running event loop too
        pool.submit(asyncio.run, run()).result()


def _pg_url_for(db: str) -> str:
    head, _, _ = PG_URL.rpartition("/")
    return f"{head}/{db}"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database upgraded to head once; tests start from a copy of it."""
    import asyncio

    from mss.store import schema
    from mss.store.db import create_engine

    if PG_URL:
        name = f"mss_tpl_{uuid.uuid4().hex[:10]}"
        pg_admin(f'CREATE DATABASE "{name}"')
        url = _pg_url_for(name)
    else:
        path = tmp_path_factory.mktemp("template") / "mss.db"
        url = f"sqlite+aiosqlite:///{path}"

    async def build() -> None:
        engine = create_engine(url)
        await schema.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    yield name if PG_URL else str(path)
    if PG_URL:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_settings(tmp_path: Path, template_db: str) -> Iterator:
    """Build settings for a fresh data folder whose database is a copy of the template."""
    created: list[str] = []

    def build(name: str = "node", **overrides: object) -> Settings:
        data = tmp_path / name
        data.mkdir(parents=True, exist_ok=True)
        values: dict[str, object] = {"data_dir": str(data)}
        if PG_URL:
            db = f"mss_t_{uuid.uuid4().hex[:12]}"
            pg_admin(f'CREATE DATABASE "{db}" TEMPLATE "{template_db}"')
            created.append(db)
            values["database"] = {"url": _pg_url_for(db)}
        else:
            shutil.copy(template_db, data / "mss.db")
        values.update(overrides)
        # the admin listener on a free port unless a test sets it: nodes side by side
        listeners = dict(values.get("listeners") or {})  # type: ignore[call-overload]
        listeners.setdefault("admin", {"port": 0})
        values["listeners"] = listeners
        settings = load_settings(environ={}, overrides=values)
        prepare_data_dir(settings)
        return settings

    yield build
    if PG_URL:
        for db in created:
            pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(make_settings, clock: ManualClock) -> AsyncIterator[Store]:
    s = await Store.open(make_settings(), clock=clock)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(autouse=True)
def failure_pauses() -> Iterator[list[float]]:
    """The delays failed sign-ins would wait, recorded instead of slept (STYLE §8)."""
    from mss.directory.authentication import FAILURE_PAUSE

    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    original = FAILURE_PAUSE.sleep
    FAILURE_PAUSE.sleep = record
    yield recorded
    FAILURE_PAUSE.sleep = original


@pytest.fixture(autouse=True, scope="session")
def one_core_for_in_process_servers() -> Iterator[None]:
    """`smtp.mx_processes` and `imap.processes` default to one process per core; servers
    started inside a test process count one core, so that they spawn no extra process
    unless the test sets a count (tests/smtp/test_mx_processes.py, tests/imap/
    test_imap_processes.py). `mss serve` nodes started as subprocesses keep the default.
    Session-wide, so that servers of module-scoped fixtures count one core too."""
    import mss.config

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mss.config, "cores", lambda: 1)
        yield
