"""Disk full: the node answers `452 4.3.1` and accepts again when space returns.

The data folder (SQLite database, blobs, keys) lives on a 4 MiB tmpfs; a filler file
takes the rest of it. While the disk is full, DATA gets the temporary `452 4.3.1`
(RFC 3463 X.3.1) so the client keeps the message; nothing half-written is left behind
(no temporary blob file, `verify_store` clean); once the filler is gone the same session
delivers. On PostgreSQL only the blob folder fills, which is the same failure path.
"""

from __future__ import annotations

import pytest

from mss.store.verify import verify_store
from tests.conftest import engine_name
from tests.hardening.conftest import NodeFactory, fill


def _message(n: int) -> bytes:
    return (f"From: <dr.alice.martin@mss-a.localhost>\r\nTo: <x@y>\r\n"
            f"Subject: disk {n}\r\nMessage-ID: <disk.{n}@t>\r\n\r\n").encode() + (
        b"0123456789abcdef" * 4 + b"\r\n") * 256  # about 16 KiB: larger than any slack


async def test_full_disk_gets_452_then_mail_flows_again(nodes: NodeFactory, small_disk,
                                                        make_settings) -> None:
    import aiosmtplib

    disk = small_disk("node", "4m")
    node = await nodes("node")
    assert str(node.app.settings.data_dir).startswith(str(disk))
    assert (await node.submit(_message(0)))[0] == 250

    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=node.port("submission"),
                             start_tls=False, tls_context=node.client_context(), timeout=60)
    await client.connect()
    await client.starttls()
    await client.login(node.world.alice, node.world.password)
    filler = fill(disk)
    try:
        for n in (1, 2):  # twice: the first failure leaves the node able to fail cleanly
            await client.mail(node.world.alice)
            await client.rcpt(node.world.bruno)
            with pytest.raises(aiosmtplib.SMTPDataError) as refused:
                await client.data(_message(n))
            assert (refused.value.code, refused.value.message[:5]) == (452, "4.3.1")
            await client.rset()
        leftovers = [p for p in node.app.settings.blob_dir.rglob(".*.tmp")]
        assert leftovers == [], "a half-written blob is visible"
    finally:
        filler.unlink()
    await client.mail(node.world.alice)
    await client.rcpt(node.world.bruno)
    response = await client.data(_message(3))
    assert response.code == 250, response
    await client.quit()

    subjects = [raw.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0]
                for raw in await node.inbox(node.world.bruno)]
    assert subjects == [b"disk 0", b"disk 3"]
    report = await verify_store(node.store)
    assert report.ok, report.faults


@pytest.mark.skipif(engine_name() == "postgresql",
                    reason="on PostgreSQL a login writes nothing to the data folder's disk; "
                           "test_database_loss covers its UNAVAILABLE")
async def test_imap_login_on_a_full_disk_is_unavailable_in_one_log_line(
    nodes: NodeFactory, small_disk, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 5530 §3: a subsystem down is `NO [UNAVAILABLE]`, which clients retry, not the
    `NO [SERVERBUG]` of a bug; the log says it in one line, without a traceback. Once
    space returns the same login works."""
    import asyncio
    import logging

    disk = small_disk("node", "4m")
    node = await nodes("node")

    filler = fill(disk)
    try:
        with caplog.at_level(logging.INFO, logger="mss.imap"):
            status, text = await asyncio.to_thread(node.imap_login)
    finally:
        filler.unlink()
    assert status == "NO" and "[UNAVAILABLE] " in text and "SERVERBUG" not in text
    imap_records = [r for r in caplog.records if r.name.startswith("mss.imap")]
    unavailable = [r for r in imap_records if "unavailable" in r.getMessage()]
    assert len(unavailable) == 1 and "disk full" in unavailable[0].getMessage()
    assert [r for r in imap_records if r.exc_info is not None] == []
    assert await asyncio.to_thread(node.imap_login) == ("OK", "")
