"""End to end between two operators: submission at one, queue, MX at the other, INBOX."""

from __future__ import annotations

import re

from mss.pipeline.outbound_queue import DELIVERED, queue_rows
from tests.smtp.conftest import message, stored_messages, submit


async def test_mail_travels_both_ways_with_dkim_verified(pair) -> None:
    a, b = pair
    alice_a, bruno_b = a.world.alice, b.world.bruno
    code, text = await submit(a, alice_a, a.world.password, alice_a,
                              [bruno_b, a.world.bruno], message(alice_a, bruno_b, "Aller"))
    assert code == 250 and re.match(r"2\.0\.0 OK: queued as [0-9A-F]{12}$", text)
    assert [r.status for r in await queue_rows(a.store)] == ["queued"]
    assert len(await stored_messages(a, a.world.bruno)) == 1  # the local one at once

    assert await a.worker.run_once() == 1
    assert [r.status for r in await queue_rows(a.store)] == [DELIVERED]
    [received] = await stored_messages(b, bruno_b)
    head = received.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("Received: from mx.mss-a.localhost ([127.0.0.1])")
    assert "by mx.mss-b.localhost (MSS) with ESMTPS id" in head
    assert re.search(r"Authentication-Results: mx\.mss-b\.localhost;\r\n\tdkim=pass "
                     r"header\.d=mss-a\.localhost header\.s=mss", head)
    assert "x-mss-peer=pass" in head and "Subject: Aller" in head
    [sent] = await stored_messages(a, alice_a, "Sent")
    assert b"Subject: Aller" in sent

    alice_b = b.world.alice
    code, _ = await submit(b, alice_b, b.world.password, alice_b, [alice_a],
                           message(alice_b, alice_a, "Retour"))
    assert code == 250
    assert await b.worker.run_once() == 1
    [back] = await stored_messages(a, alice_a)
    assert b"dkim=pass header.d=mss-b.localhost" in back and b"Subject: Retour" in back
