"""Metrics of a node count what was committed and what the policy decided."""

from __future__ import annotations

import pytest

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


async def test_event_lines_feed_the_counters_and_the_node_reports_its_state(
        make_settings) -> None:
    """Sessions by listener, RCPT refusals by rule, auth failures by protocol and
    mechanism, through a real SMTP session; build, process, certificate expiry."""
    import aiosmtplib

    from mss.app import App
    from mss.certs import ca_client_context
    from mss.clock import ManualClock

    settings = make_settings("metrics", listeners={
        "mx": {"port": 0}, "submission": {"port": 0}, "submissions": {"enabled": False},
        "imap": {"enabled": False}, "imaps": {"enabled": False},
        "http": {"enabled": False}})
    app = App(settings, clock=ManualClock(), queue_worker=False)
    await app.start()
    try:
        assert app.store is not None
        world = await seed_world(app.store)
        assert app.pki is not None
        context = ca_client_context(app.pki.paths.ca_bundle)
        context.check_hostname = False
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=app.smtp.listeners["submission"].port,
                                 start_tls=False, tls_context=context)
        await client.connect()
        await client.starttls()
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await client.login(world.alice, "wrong")
        await client.login(world.alice, world.password)
        await client.mail(world.alice)
        with pytest.raises(aiosmtplib.SMTPRecipientRefused):
            await client.rcpt(f"nobody@{world.domain}")
        await client.quit()
        await app.beat()
        text = app.metrics.render().decode()
    finally:
        await app.stop()
    assert 'mss_sessions_opened_total{listener="submission"} 1.0' in text
    assert 'mss_auth_failures_total{mechanism="PLAIN",protocol="smtp"} 1.0' in text
    assert 'mss_rcpt_refusals_total{rule="R1"} 1.0' in text
    assert "mss_build_info{" in text and "process_cpu_seconds_total" in text
    assert 'mss_certificate_expiry_days{certificate="server"}' in text
