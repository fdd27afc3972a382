"""Metrics of a node count what was committed and what the policy decided."""

from __future__ import annotations

from mss.demo import seed_world
from mss.metrics import NodeMetrics
from mss.pipeline.accept import Pipeline, Submission
from mss.policy import Channel


async def test_accepted_and_refused_recipients_are_counted_by_rule(store) -> None:
    metrics = NodeMetrics("node-test")
    store.batcher.audit_listeners.append(metrics.count_audit)
    world = await seed_world(store)
    pipeline = Pipeline(store, store.settings)
    pipeline.after_accept.append(metrics.count_accept)
    alice = world.alice_principal
    raw = b"Subject: x\r\n\r\nbody\r\n"
    await pipeline.accept(Submission(
        mail_from=world.alice, recipients=[world.bruno, f"nobody@{world.domain}"], raw=raw,
        channel=Channel.SUBMISSION, principal=alice))
    text = metrics.render().decode()
    assert 'mss_recipient_verdicts_total{accepted="true",rule="OK"} 1.0' in text
    assert 'mss_recipient_verdicts_total{accepted="false",rule="R1"} 1.0' in text
    assert 'mss_events_total{action="message.delivered",outcome="ok"} 1.0' in text
    assert 'mss_events_total{action="message.refused",outcome="refused"} 1.0' in text
    assert "mss_accept_seconds_count 1.0" in text
    assert 'mss_node_info{node="node-test"} 1.0' in text
