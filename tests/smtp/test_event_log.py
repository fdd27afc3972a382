"""One log line per SMTP event, with session and queue id (docs/logging.md).

Real listeners, real clients (smtplib, aiosmtplib); the lines asserted are the ones the
server's own formatter writes (mss.event_log.LogfmtFormatter on the root logger).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
import smtplib

import aiosmtplib
import pytest
from sqlalchemy import select

from mss.event_log import configure_logging, logfmt, logfmt_value
from mss.pipeline.tables import OutboundMessage
from mss.store.tables import AuditEvent, StoredMessage
from tests.event_lines import Lines, fields
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, message
from tests.smtp.test_mx import peer_client

# The filter of docs/logging.md, as fail2ban reads it (<HOST> is its address group).
FAIL2BAN_FAILREGEX = r"^.* event=auth\.failed .* client=<HOST>$"


def fail2ban_pattern() -> re.Pattern[str]:
    return re.compile(FAIL2BAN_FAILREGEX.replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)"))


@pytest.fixture
async def op_a(operators, session_pki):
    return await operators("a", DOMAIN_A, session_pki.operator_a)


async def test_submission_session_lines(op_a, lines: Lines) -> None:
    world = op_a.world
    nobody = f"nobody@{DOMAIN_A}"
    raw = message(world.alice, world.bruno, subject="Compte rendu")

    def run() -> tuple[int, bytes, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", op_a.port("submission")) as client:
            client.starttls(context=op_a.client_context())
            client.ehlo("client.example")
            wrong = base64.b64encode(f"\0{world.alice}\0not-the-password".encode()).decode()
            code, _ = client.docmd("AUTH", "PLAIN " + wrong)
            assert code == 535
            client.login(world.alice, world.password)
            client.mail(world.alice)
            refused = client.rcpt(nobody)
            assert client.rcpt(world.bruno)[0] == 250
            code, reply = client.data(raw)
            return code, reply, refused

    code, reply, refused = await asyncio.to_thread(run)
    assert code == 250 and refused[0] == 550
    queue_id = reply.decode().rsplit(" ", 1)[1]
    text = "\n".join(lines.all())
    assert world.password not in text and "not-the-password" not in text
    assert "recip:" not in text  # aiosmtpd's own line, silenced
    assert "level=warning" not in text  # nor its login_data deprecation warning

    opened, = lines.events("session.opened")
    session = opened["session"]
    assert opened["listener"] == "submission" and opened["client"] == "127.0.0.1"
    tls, = lines.events("session.tls")
    assert tls["tls"].startswith("TLSv1") and tls["cipher"]
    failed, = lines.events("auth.failed")
    assert (failed["user"], failed["mechanism"], failed["client"]) == (
        world.alice, "PLAIN", "127.0.0.1")
    succeeded, = lines.events("auth.succeeded")
    assert succeeded["principal"] == f"professional:{world.alice_rpps}"
    assert succeeded["mailbox"] == world.alice
    rcpt_refused, = lines.events("message.refused")
    assert rcpt_refused["stage"] == "rcpt" and rcpt_refused["to"] == nobody
    assert rcpt_refused["rule"] == "R1" and rcpt_refused["reply"].startswith("550 5.1.1")
    assert rcpt_refused["queue_id"] == queue_id
    accepted, = lines.events("message.accepted")
    assert accepted["queue_id"] == queue_id
    assert accepted["message_id"].startswith("<") and accepted["from"] == world.alice
    assert accepted["to"] == world.bruno and int(accepted["size"]) > len(raw)
    delivered = {d["folder"]: d for d in lines.events("message.delivered")}
    assert delivered["INBOX"]["mailbox"] == world.bruno
    assert delivered["INBOX"]["queue_id"] == delivered["Sent"]["queue_id"] == queue_id
    # every line of the connection carries its session id, up to its end
    for line in [opened, tls, failed, succeeded, rcpt_refused, accepted, *delivered.values()]:
        assert line["session"] == session
    await lines.closed.wait()
    closed, = lines.events("session.closed")
    assert closed["session"] == session and closed["listener"] == "submission"

    # the queue id is stored with the messages and the RCPT refusal is audited
    async with op_a.store.reading() as db:
        stored = (await db.execute(select(StoredMessage.queue_id))).scalars().all()
        details = (await db.execute(select(AuditEvent.detail).where(
            AuditEvent.action == "message.refused"))).scalars().all()
    assert stored.count(queue_id) == 2  # Bruno's INBOX and Alice's Sent
    assert any(f"queue_id={queue_id}" in d and "stage=rcpt" in d for d in details)


async def test_failed_logins_match_the_fail2ban_filter(op_a, lines: Lines) -> None:
    world = op_a.world
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=op_a.port("submissions"),
                             use_tls=True, tls_context=op_a.client_context())
    await client.connect()
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await client.login(world.alice, "wrong password")
    await client.login(world.alice, world.password)
    await client.quit()
    pattern = fail2ban_pattern()
    matched = [m for m in map(pattern.match, lines.all()) if m]
    # aiosmtplib tries PLAIN, then LOGIN, before giving up: two failures, one address
    assert [m.group("host") for m in matched] == ["127.0.0.1", "127.0.0.1"]
    assert [fields(m.string)["mechanism"] for m in matched] == ["PLAIN", "LOGIN"]
    assert "wrong password" not in "\n".join(lines.all())


async def test_mx_session_names_the_peer_and_delivers(operators, session_pki,
                                                      lines: Lines) -> None:
    mx = await operators("b", DOMAIN_B, session_pki.operator_b)
    client = await peer_client(mx, session_pki.operator_a)
    sender = f"dr.dupont@{DOMAIN_A}"
    recipient = mx.world.bruno
    await client.sendmail(sender, [recipient], message(sender, recipient))
    await client.quit()
    tls, = lines.events("session.tls")
    assert tls["listener"] == "mx"
    assert tls["peer_subject"] == session_pki.operator_a.subject_dn
    accepted, = lines.events("message.accepted")
    assert accepted["channel"] == "inbound" and accepted["session"] == tls["session"]
    delivered, = lines.events("message.delivered")
    assert delivered["queue_id"] == accepted["queue_id"]
    assert delivered["mailbox"] == recipient


async def test_queued_message_keeps_its_queue_id(op_a, lines: Lines) -> None:
    world = op_a.world
    remote = f"someone@{DOMAIN_B}"
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=op_a.port("submission"),
                             start_tls=False, tls_context=op_a.client_context())
    await client.connect()
    await client.starttls()
    await client.login(world.alice, world.password)
    _, reply = await client.sendmail(world.alice, [remote], message(world.alice, remote))
    await client.quit()
    queue_id = reply.rsplit(" ", 1)[1]
    queued, = lines.events("message.queued")
    assert (queued["queue_id"], queued["to"]) == (queue_id, remote)
    async with op_a.store.reading() as db:
        kept = (await db.execute(select(OutboundMessage.queue_id))).scalars().all()
    assert kept == [queue_id]


def test_values_are_quoted_so_a_field_cannot_forge_another() -> None:
    assert logfmt_value("plain@example.org") == "plain@example.org"
    assert logfmt_value('a b') == '"a b"'
    assert logfmt_value("x\nevent=auth.failed client=1.2.3.4") == (
        '"x\\nevent=auth.failed client=1.2.3.4"')
    assert logfmt_value("") == '""'
    assert logfmt({"event": "auth.failed", "user": "a=b"}) == 'event=auth.failed user="a=b"'
    forged = logfmt({"event": "auth.succeeded", "user": "x event=auth.failed client=6.6.6.6"})
    assert not fail2ban_pattern().match("ts=1 " + forged)


def test_json_format_has_the_same_fields() -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging("json", stream=stream)
        from mss.event_log import event, in_session
        from mss.store.audit_actions import AuditAction
        with in_session("abc123"):
            event(AuditAction.AUTH_FAILED, protocol="imap", user="u@x", client="::1")
        logging.getLogger("mss.test").info("plain %s", "line")
        assert logging.getLogger("mail.log").getEffectiveLevel() == logging.WARNING
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before[0]:
            root.addHandler(handler)
        root.setLevel(before[1])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "auth.failed" and first["session"] == "abc123"
    assert (first["protocol"], first["user"], first["client"]) == ("imap", "u@x", "::1")
    assert second["msg"] == "plain line" and "session" not in second


async def test_relay_attempt_lines_carry_the_queue_id(pair, lines: Lines) -> None:
    a, b = pair
    world = a.world
    raw = message(world.alice, b.world.bruno)
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=a.port("submission"),
                             start_tls=False, tls_context=a.client_context())
    await client.connect()
    await client.starttls()
    await client.login(world.alice, world.password)
    _, reply = await client.sendmail(world.alice, [b.world.bruno], raw)
    await client.quit()
    queue_id = reply.rsplit(" ", 1)[1]
    assert await a.worker.run_once() == 1
    relayed, = lines.events("message.relayed")
    assert (relayed["queue_id"], relayed["to"], relayed["attempt"]) == (
        queue_id, b.world.bruno, "1")
    assert relayed["reply"].startswith("250")
    # B's acceptance names its own queue id, given back to A in that reply
    received = [e for e in lines.events("message.accepted") if e["channel"] == "inbound"]
    assert received and received[0]["queue_id"] in relayed["reply"]
