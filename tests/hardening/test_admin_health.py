"""The admin listener's /health says when the database is unreachable (503), and ok
again once it is back, without a restart; /metrics is there, not on the web listener.

PostgreSQL: the test database refuses connections and its sessions are terminated.
SQLite: the database file is replaced by one that is not a database (new connections
fail as when the disk or the file is lost), then put back.
"""

from __future__ import annotations

import httpx

from mss.store.db import is_sqlite
from tests.conftest import pg_admin
from tests.hardening.conftest import NodeFactory


def _pg_cut(database: str, allow: bool) -> None:
    pg_admin(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
    if not allow:
        pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE datname = '{database}' AND pid <> pg_backend_pid()")


async def test_health_reports_the_database_unreachable(nodes: NodeFactory) -> None:
    node = await nodes("node")
    base = f"http://127.0.0.1:{node.app.admin.port}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        ok = await client.get("/health")
        assert (ok.status_code, ok.json()) == (200, {"status": "ok", "database": "ok"})
        metrics = (await client.get("/metrics")).text
        assert "mss_events_total" in metrics

        settings = node.app.settings
        store = node.store
        if is_sqlite(settings.database_url):
            path = settings.data_dir / "mss.db"
            kept = path.with_name("mss.db.kept")
            await store.read_engine.dispose()
            path.rename(kept)
            path.write_bytes(b"this is not a database file " * 200)
            try:
                down = await client.get("/health")
            finally:
                path.unlink()
                kept.rename(path)
                await store.read_engine.dispose()
        else:
            database = settings.database_url.rpartition("/")[2]
            _pg_cut(database, allow=False)
            try:
                down = await client.get("/health")
            finally:
                _pg_cut(database, allow=True)
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable" and down.json()["database"]

        back = await client.get("/health")
        assert back.status_code == 200
