"""A peer operator that comes and goes: every message arrives once, in order, no DSN.

B's MX is stopped and started between queue passes (a peer flapping); A's queue keeps
retrying on its injected clock. At-least-once delivery with leases must not turn into
duplicates when attempts fail half-way, and the sender hears nothing while it retries.
"""

from __future__ import annotations

from datetime import timedelta

from mss.pipeline.outbound_queue import DELIVERED, queue_rows
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, connect, message, stored_messages, submit


async def test_flapping_peer_gets_each_message_once_and_in_order(operators, session_pki
                                                                 ) -> None:
    a = await operators("a", DOMAIN_A, session_pki.operator_a)
    b = await operators("b", DOMAIN_B, session_pki.operator_b)
    mx = b.app.smtp.listeners["mx"]
    await connect(a, b)
    world = a.world
    subjects = [f"Suivi {n}" for n in range(4)]

    await mx.stop()  # down: the first two wait in the queue
    for subject in subjects[:2]:
        code, _ = await submit(a, world.alice, world.password, world.alice, [b.world.bruno],
                               message(world.alice, b.world.bruno, subject))
        assert code == 250
    assert await a.worker.run_once() == 2
    assert all(row.status == "queued" for row in await queue_rows(a.store))

    await mx.start()  # up again (a new port: the endpoint follows)
    await connect(a, b)
    for subject in subjects[2:]:
        await submit(a, world.alice, world.password, world.alice, [b.world.bruno],
                     message(world.alice, b.world.bruno, subject))
    a.clock.advance(timedelta(minutes=1))
    await a.worker.run_once()
    await mx.stop()  # and down again: nothing is due any more, nothing is retried
    a.clock.advance(timedelta(hours=1))
    assert await a.worker.run_once() == 0

    rows = await queue_rows(a.store)
    assert [row.status for row in rows] == [DELIVERED] * 4
    received = await stored_messages(b, b.world.bruno)
    got = [s for raw in received for s in subjects if f"Subject: {s}\r\n".encode() in raw]
    assert got == subjects  # each once, in the order they were submitted
    assert await stored_messages(a, world.alice) == []  # no DSN to the sender
