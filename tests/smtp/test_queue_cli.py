"""`mss queue list|retry|drop` on a queue with a real row."""

from __future__ import annotations

import asyncio
import json

from mss.cli import main
from mss.demo import seed_world
from mss.directory.trust_store import import_trust_list
from mss.pipeline.accept import Pipeline, Submission
from mss.pipeline.outbound_queue import record_attempt
from mss.policy import Channel
from mss.store.store import Store
from tests.smtp.conftest import DOMAIN_B, message, trust_list_xml


def test_queue_list_retry_drop(make_settings, monkeypatch, capsys) -> None:
    settings = make_settings("cli")
    monkeypatch.setenv("MSS_DATABASE__URL", settings.database_url)
    remote = f"dr.bruno.petit@{DOMAIN_B}"

    async def queue_one() -> int:
        store = await Store.open(settings)
        try:
            world = await seed_world(store)
            await import_trust_list(store, trust_list_xml([(DOMAIN_B, "CN=mx,O=B,C=FR")]))
            pipeline = Pipeline(store, settings)
            await pipeline.ensure_spool_mailbox()
            alice = world.alice_principal
            result = await pipeline.accept(Submission(
                world.alice, [remote], message(world.alice, remote), Channel.SUBMISSION, alice,
                queue_id="4F2A9C01B7E3"))
            assert result.results[0].queued

            async def fail(uow) -> None:  # type: ignore[no-untyped-def]
                await record_attempt(uow, 1, outcome="failed", error="550 5.1.1 unknown")

            await store.write(fail)
            return 1
        finally:
            await store.close()

    row = asyncio.run(queue_one())
    queue_id, world_alice = "4F2A9C01B7E3", f"dr.alice.martin@{settings.server.domain}"
    data = ["--data", str(settings.data_dir)]
    assert main([*data, "queue", "list"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["ID", "QUEUE", "ID", "STATUS"]
    assert header.index("NEXT ATTEMPT") == line.index(line.split()[4])  # in its column
    assert line.split()[:4] == [str(row), queue_id, "failed", "1"]
    assert line.endswith(f"{world_alice}  {remote}  550 5.1.1 unknown")
    assert main([*data, "queue", "list", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["id"], entry["queue_id"], entry["status"], entry["recipient"],
            entry["last_reply"]) == (row, queue_id, "failed", remote, "550 5.1.1 unknown")
    assert main([*data, "queue", "retry", str(row)]) == 0
    assert capsys.readouterr().out == f"queue entry {row} will be retried now\n"
    assert main([*data, "queue", "list", "--status", "queued"]) == 0
    assert f" {remote} " in capsys.readouterr().out
    assert main([*data, "queue", "drop", str(row)]) == 0
    assert main([*data, "queue", "list"]) == 0
    assert capsys.readouterr().out.endswith("queue empty\n")
    assert main([*data, "queue", "drop", str(row)]) == 1
    assert capsys.readouterr().err == f"mss: no queue entry {row}\n"
