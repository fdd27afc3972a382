"""PostgreSQL lost mid-run: temporary failures (`451 4.3.0`), then recovery, no restart.

The test database refuses new connections (`ALLOW_CONNECTIONS false`) and every open
one is terminated (`pg_terminate_backend`), as when the server stops; the SMTP session
opened before keeps talking and gets `451 4.3.0` for its message (RFC 3463 X.3.0: the
client keeps it and retries). Connections are allowed again and the same node, never
restarted, delivers the next message in the same session and in a new one.

PostgreSQL only (collected only when MSS_TEST_DATABASE_URL names a server; see
tests/hardening/conftest.py): SQLite has no server to lose.
"""

from __future__ import annotations

import aiosmtplib
import pytest

from mss.store.verify import verify_store
from tests.conftest import pg_admin
from tests.hardening.conftest import NodeFactory


def _message(n: int) -> bytes:
    return (f"From: <dr.alice.martin@mss-a.localhost>\r\nTo: <x@y>\r\nSubject: db {n}\r\n"
            f"Message-ID: <db.{n}@t>\r\n\r\nBonjour.\r\n").encode()


def _cut(database: str, allow: bool) -> None:
    pg_admin(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
    if not allow:
        pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE datname = '{database}' AND pid <> pg_backend_pid()")


async def test_lost_database_gets_451_then_recovers_without_restart(nodes: NodeFactory
                                                                    ) -> None:
    node = await nodes("node")
    database = node.app.settings.database_url.rpartition("/")[2]
    assert (await node.submit(_message(0)))[0] == 250
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=node.port("submission"),
                             start_tls=False, tls_context=node.client_context(), timeout=60)
    await client.connect()
    await client.starttls()
    await client.login(node.world.alice, node.world.password)
    _cut(database, allow=False)
    try:
        codes = []
        for n in (1, 2):
            try:
                await client.mail(node.world.alice)
                await client.rcpt(node.world.bruno)
                await client.data(_message(n))
                codes.append((250, ""))
            except aiosmtplib.SMTPResponseException as refused:
                codes.append((refused.code, refused.message[:5]))
            await client.rset()
        assert codes == [(451, "4.3.0")] * 2
    finally:
        _cut(database, allow=True)
    await client.mail(node.world.alice)
    await client.rcpt(node.world.bruno)
    assert (await client.data(_message(3))).code == 250
    await client.quit()
    assert (await node.submit(_message(4)))[0] == 250

    subjects = [raw.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0]
                for raw in await node.inbox(node.world.bruno)]
    assert subjects == [b"db 0", b"db 3", b"db 4"]
    assert (await verify_store(node.store)).ok


async def test_imap_login_without_database_is_unavailable_then_works(
    nodes: NodeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 5530 §3: `NO [UNAVAILABLE]` while the database is gone (not `[SERVERBUG]`),
    one log line from IMAP without a traceback; the same node logs in once it is back."""
    import asyncio
    import logging

    node = await nodes("node")
    database = node.app.settings.database_url.rpartition("/")[2]

    _cut(database, allow=False)
    try:
        with caplog.at_level(logging.INFO, logger="mss.imap"):
            status, text = await asyncio.to_thread(node.imap_login)
    finally:
        _cut(database, allow=True)
    assert status == "NO" and "[UNAVAILABLE] " in text and "SERVERBUG" not in text
    imap_records = [r for r in caplog.records if r.name.startswith("mss.imap")]
    unavailable = [r for r in imap_records if "unavailable" in r.getMessage()]
    assert len(unavailable) == 1 and "database unavailable" in unavailable[0].getMessage()
    assert [r for r in imap_records if r.exc_info is not None] == []
    assert await asyncio.to_thread(node.imap_login) == ("OK", "")


pytestmark = pytest.mark.timeout(120)
