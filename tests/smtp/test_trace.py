"""`mss trace` and `mss audit` on what real SMTP sessions did (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json

import aiosmtplib
import pytest

from mss.cli import main
from tests.smtp.conftest import DOMAIN_A, Operator, message


async def cli(operator: Operator, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `mss` on the operator's data folder (in a thread: it runs its own loop)."""
    monkeypatch.setenv("MSS_DATABASE__URL", operator.settings.database_url)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["--data", str(operator.settings.data_dir), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def send(operator: Operator, recipients: list[str], raw: bytes) -> tuple[dict, str]:
    world = operator.world
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=operator.port("submission"),
                             start_tls=False, tls_context=operator.client_context())
    await client.connect()
    await client.starttls()
    await client.login(world.alice, world.password)
    refused, reply = await client.sendmail(world.alice, recipients, raw)
    await client.quit()
    return refused, reply.rsplit(" ", 1)[1]


async def test_trace_follows_one_message_everywhere(pair, monkeypatch, capsys) -> None:
    a, b = pair
    world = a.world
    nobody = f"nobody@{DOMAIN_A}"
    raw = message(world.alice, world.bruno, subject="Trace")
    message_id = raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()
    refused, queue_id = await send(a, [world.bruno, b.world.bruno, nobody], raw)
    assert list(refused) == [nobody]
    assert await a.worker.run_once() == 1

    code, out, _ = await cli(a, monkeypatch, capsys, "trace", queue_id)
    assert code == 0
    actions = [line.split()[2] for line in out.splitlines()
               if line.startswith("  20") and len(line.split()) > 2]
    assert actions[0].startswith("message.refused")  # at RCPT, before the data came
    assert [a for a in actions if not a.startswith("message.refused")] == [
        "message.delivered", "message.queued", "message.relayed"]
    assert f"{queue_id}  {world.bruno}  INBOX" in out
    assert f"{queue_id}  {world.alice}  Sent" in out
    assert f"{queue_id}  {b.world.bruno}  delivered  attempts=1" in out
    assert "stage=rcpt" in out and "rule=R1" in out

    code, by_id, _ = await cli(a, monkeypatch, capsys, "trace", message_id, "--json")
    assert code == 0
    document = json.loads(by_id)
    assert queue_id in document["queue_ids"] and message_id in document["message_ids"]
    assert {c["folder"] for c in document["copies"]} == {"INBOX", "Sent"}

    # B's side: the same Message-ID, its own queue id, delivered to its Bruno
    code, theirs, _ = await cli(b, monkeypatch, capsys, "trace", message_id)
    assert code == 0 and f"{b.world.bruno}  INBOX" in theirs

    code, _, err = await cli(a, monkeypatch, capsys, "trace", "0123456789AB")
    assert code == 1 and err.startswith("mss: no message known by")


async def test_audit_reads_the_trail_with_filters(pair, monkeypatch, capsys) -> None:
    a, _ = pair
    world = a.world
    nobody = f"nobody@{DOMAIN_A}"
    await send(a, [world.bruno, nobody], message(world.alice, world.bruno))

    code, out, _ = await cli(a, monkeypatch, capsys, "audit", "--action", "message.refused",
                             "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["target"], r["outcome"]) for r in rows] == [(nobody, "refused")]
    assert "stage=rcpt" in rows[0]["detail"]

    code, out, _ = await cli(a, monkeypatch, capsys, "audit", "--mailbox", world.bruno)
    assert code == 0 and "message.delivered" in out and nobody not in out

    code, out, _ = await cli(a, monkeypatch, capsys, "audit", "--action", "auth",
                             "--since", "2025-12-31")
    assert code == 0 and "auth.succeeded" in out and "message." not in out
    code, out, _ = await cli(a, monkeypatch, capsys, "audit", "--since", "2026-01-02T00:00")
    assert code == 0 and out == ""  # the operator's clock stands at 2026-01-01

    await send(a, [world.jeanne], message(world.alice, world.jeanne, subject="Résultats"))
    code, out, _ = await cli(a, monkeypatch, capsys, "audit", "--patient", world.jeanne_ins)
    assert code == 0 and f"message.delivered  professional:{world.alice_rpps} -> " \
        f"{world.jeanne}" in out
    assert world.bruno not in out

    code, _, err = await cli(a, monkeypatch, capsys, "audit", "--since", "yesterday")
    assert code == 1 and err.startswith("mss: --since 'yesterday'")


async def test_trace_follows_a_message_to_its_notice_and_acknowledgement(
        pair, monkeypatch, capsys) -> None:
    from mss.vault.mdn_sending import drain_acknowledgements
    from tests.smtp.test_acknowledgement_recipients import report_for

    a, _ = pair
    world = a.world
    raw = report_for(world, world.alice, world.jeanne)
    _, queue_id = await send(a, [world.jeanne], raw)
    await drain_acknowledgements()

    code, out, _ = await cli(a, monkeypatch, capsys, "trace", queue_id, "--json")
    assert code == 0
    trace = json.loads(out)
    steps = [(s["action"], s["target"]) for s in trace["steps"]]
    assert ("message.delivered", world.jeanne) in steps
    assert any(action == "document.deposited" and target.startswith("document:")
               for action, target in steps)
    [queued] = [s for s in trace["steps"] if s["action"] == "notice.queued"]
    assert queued["target"] == world.jeanne and f"queue_id={queue_id}" in queued["detail"]
    assert "@" not in queued["detail"]  # never the patient's personal address
    # the acknowledgement went back to Alice under its own queue id, linked by In-Reply-To
    [acknowledgement] = [q for q in trace["queue_ids"] if q != queue_id]
    assert any(s["action"] == "message.delivered" and s["target"] == world.alice
               and f"queue_id={acknowledgement}" in s["detail"]
               and "in_reply_to=<" in s["detail"] for s in trace["steps"])
    assert {(c["queue_id"], c["mailbox"]) for c in trace["copies"]} >= {
        (queue_id, world.jeanne), (acknowledgement, world.alice)}
