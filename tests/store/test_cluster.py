"""Several nodes on one database: events cross nodes, heartbeats say who is alive."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from mss.store.cluster import heartbeat, node_statuses, notify_payloads
from mss.store.events import ChangeEvent
from mss.store.store import Store
from tests.conftest import PG_URL
from tests.store.conftest import deliver, make_mailbox, sample_message


def test_payloads_stay_under_the_notify_limit() -> None:
    events = [ChangeEvent("exists", 1, 2, uid, uid) for uid in range(2000)]
    payloads = notify_payloads("node-a", events)
    assert len(payloads) > 1 and all(len(p) < 8000 for p in payloads)
    back = [e for p in payloads for e in json.loads(p)["events"]]
    assert len(back) == 2000 and back[-1]["uid"] == 1999


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (MSS_TEST_DATABASE_URL)")
async def test_a_delivery_on_one_node_reaches_the_bus_of_another(make_settings) -> None:
    settings = make_settings()
    node_a = await Store.open(settings)
    node_b = await Store.open(settings)
    node_a.node_id, node_b.node_id = "a", "b"
    try:
        await node_b.start_cluster_events()
        mailbox = await make_mailbox(node_a, "bob@mss.localhost")
        async with node_b.bus.subscribe(mailbox) as queue:
            done = await deliver(node_a, mailbox, sample_message(1))
            event = await asyncio.wait_for(queue.get(), timeout=5)
        assert (event.kind, event.uid) == ("exists", done.uid)
    finally:
        await node_a.close()
        await node_b.close()


async def test_heartbeats_list_live_nodes(store, clock) -> None:
    started = clock.now()

    async def beat(uow):
        await heartbeat(uow.session, "node-1", uow.now(), started)

    await store.write(beat)
    async with store.reading() as session:
        [status] = await node_statuses(session, clock.now())
    assert status.node_id == "node-1" and status.alive
    clock.advance(timedelta(minutes=5))
    async with store.reading() as session:
        [status] = await node_statuses(session, clock.now())
    assert not status.alive
