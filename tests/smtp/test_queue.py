"""The outbound queue: retries on the injected clock, expiry DSN, peer certificate checks."""

from __future__ import annotations

from datetime import timedelta

from mss.pipeline.outbound_queue import FAILED, QUEUED, queue_rows
from mss.smtp.options import SmtpOptions
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, connect, message, stored_messages, submit


async def test_peer_down_retries_then_bounces_after_expiry(operators, session_pki) -> None:
    a = await operators("a", DOMAIN_A, session_pki.operator_a)
    b = await operators("b", DOMAIN_B, session_pki.operator_b)
    await connect(a, b)
    await b.app.smtp.listeners["mx"].stop()  # B's MX is down
    world = a.world
    code, _ = await submit(a, world.alice, world.password, world.alice, [b.world.bruno],
                           message(world.alice, b.world.bruno, "Urgent"))
    assert code == 250

    assert await a.worker.run_once() == 1
    [row] = await queue_rows(a.store)
    assert (row.status, row.attempts) == (QUEUED, 1)
    assert "Connect call failed" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at == a.clock.now() + timedelta(minutes=1)
    assert await a.worker.run_once() == 0  # not due yet

    a.clock.advance(timedelta(minutes=1))
    assert await a.worker.run_once() == 1
    [row] = await queue_rows(a.store)
    assert row.attempts == 2 and row.next_attempt_at == a.clock.now() + timedelta(minutes=2)
    assert await stored_messages(a, world.alice) == []  # no DSN while retrying

    a.clock.advance(timedelta(days=5))
    assert await a.worker.run_once() == 1
    [row] = await queue_rows(a.store)
    assert (row.status, row.attempts) == (FAILED, 3)
    [dsn] = await stored_messages(a, world.alice)
    assert b"Action: failed" in dsn and b"Status: 4.4.1" in dsn
    assert f"Final-Recipient: rfc822; {b.world.bruno}".encode() in dsn
    assert b"Subject: Urgent" in dsn  # the returned header (RET default: headers only)
    assert b"From: =?utf-8?" in dsn and b"MAILER-DAEMON@mx.mss-a.localhost" in dsn
    a.clock.advance(timedelta(days=1))
    assert await a.worker.run_once() == 0  # one DSN, never again


async def test_peer_with_a_certificate_of_the_wrong_dn_gets_nothing(operators, session_pki
                                                                   ) -> None:
    a = await operators("a", DOMAIN_A, session_pki.operator_a)
    # B's MX presents a certificate for its host name, chained to the CA, whose DN is
    # not the one the trust list gives for B's domain.
    other = session_pki.pki.issue_operator(f"mx.{DOMAIN_B}", "9999999999", "AUTRE", "Paris (75)")
    impostor = await operators("b", DOMAIN_B, other)
    await connect(a, impostor)
    world = a.world
    await submit(a, world.alice, world.password, world.alice, [impostor.world.bruno],
                 message(world.alice, impostor.world.bruno, "Confidentiel"))
    assert await a.worker.run_once() == 1
    [row] = await queue_rows(a.store)
    assert row.status == QUEUED
    assert row.last_error == (
        f"peer certificate DN {other.subject_dn} is not listed for "
        f"{DOMAIN_B} in the trust list")
    assert await stored_messages(impostor, impostor.world.bruno) == []


async def test_permanent_refusal_bounces_at_once(operators, session_pki) -> None:
    a = await operators("a", DOMAIN_A, session_pki.operator_a)
    b = await operators("b", DOMAIN_B, session_pki.operator_b,
                        options=SmtpOptions(max_message_bytes=2000))
    await connect(a, b)
    world = a.world
    await submit(a, world.alice, world.password, world.alice, [b.world.bruno],
                 message(world.alice, b.world.bruno, "Gros", body=("q" * 70 + "\r\n") * 40))
    assert await a.worker.run_once() == 1
    [row] = await queue_rows(a.store)
    assert row.status == FAILED and "over the peer's SIZE 2000" in row.last_error
    [dsn] = await stored_messages(a, world.alice)
    assert b"Status: 5.3.4" in dsn


async def test_one_delayed_report_after_four_hours_then_the_final_one(operators, session_pki
                                                                    ) -> None:
    """RFC 3464: a "delayed" DSN once the message has waited 4 hours, never twice."""
    a = await operators("a", DOMAIN_A, session_pki.operator_a)
    b = await operators("b", DOMAIN_B, session_pki.operator_b)
    await connect(a, b)
    await b.app.smtp.listeners["mx"].stop()
    world = a.world
    await submit(a, world.alice, world.password, world.alice, [b.world.bruno],
                 message(world.alice, b.world.bruno, "Lent"))
    assert await a.worker.run_once() == 1
    assert await stored_messages(a, world.alice) == []
    for _ in range(2):  # the warning is due after 4 h, and is sent once
        a.clock.advance(timedelta(hours=4, minutes=1))
        assert await a.worker.run_once() == 1
    [delayed] = await stored_messages(a, world.alice)
    assert b"Action: delayed" in delayed and b"Will-Retry-Until:" in delayed
    [row] = await queue_rows(a.store)
    assert row.status == QUEUED and row.delay_warned
    a.clock.advance(timedelta(days=5))
    assert await a.worker.run_once() == 1
    reports = await stored_messages(a, world.alice)
    assert len(reports) == 2 and b"Action: failed" in reports[1]
