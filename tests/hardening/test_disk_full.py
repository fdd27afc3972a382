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
