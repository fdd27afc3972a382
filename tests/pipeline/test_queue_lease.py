"""Queue claims carry a lease: a worker that dies leaves its rows to another after it."""

from __future__ import annotations

from datetime import timedelta

from mss.directory.trust_store import import_trust_list
from mss.pipeline.outbound_queue import DEFAULT_LEASE, claim_due
from tests.smtp.conftest import trust_list_xml


async def test_rows_of_a_dead_worker_are_claimed_again_after_the_lease(harness, clock) -> None:
    w = harness.world
    await import_trust_list(harness.store, trust_list_xml([("autre.mssante.fr", "CN=mx")]))
    alice = harness.professional(w.alice_rpps, w.alice)
    result = await harness.send(alice, w.alice, ["dr.x@autre.mssante.fr"])
    assert result.results[0].queued

    first = await claim_due(harness.store, "node-a-worker")
    assert [c.recipient for c in first] == ["dr.x@autre.mssante.fr"]
    assert await claim_due(harness.store, "node-b-worker") == []  # leased to node A
    clock.advance(DEFAULT_LEASE + timedelta(seconds=1))  # node A died: the lease ran out
    second = await claim_due(harness.store, "node-b-worker")
    assert [c.recipient_id for c in second] == [c.recipient_id for c in first]
