"""SIGKILL at random points never loses a delivery that was reported as committed."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from mss.store.mailboxes import INBOX, find_mailbox
from mss.store.store import Store
from mss.store.verify import verify_store

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 5


def _child_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env["MSS_DATA_DIR"] = str(settings.data_dir)
    env["MSS_DATABASE__URL"] = settings.database_url
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    return env


def _run_and_kill(settings, seed: int, kill_after: int) -> dict[int, str]:
    """Start the child, wait for `kill_after` commit reports, SIGKILL it; return reports."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(seed)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=_child_env(settings),
    )
    reported: dict[int, str] = {}
    assert child.stdout is not None
    try:
        for line in child.stdout:
            _, uid, digest = line.decode().split()
            reported[int(uid)] = digest
            if len(reported) >= kill_after:
                break
    finally:
        child.send_signal(signal.SIGKILL)  # also when a check above failed: no stray child
    rest, err = child.communicate(timeout=60)
    for line in rest.decode().splitlines():  # reports already written before the kill
        _, uid, digest = line.split()
        reported[int(uid)] = digest
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    return reported


async def test_killed_writer_loses_no_committed_delivery(make_settings) -> None:
    settings = make_settings()
    rng = random.Random(1234)
    all_reported: dict[int, str] = {}
    for round_no in range(ROUNDS):
        reported = _run_and_kill(settings, seed=round_no, kill_after=rng.randint(3, 60))
        assert not set(reported) & set(all_reported), "a UID was reused after a crash"
        all_reported.update(reported)

        store = await Store.open(settings)
        try:
            async with store.reading() as session:
                mailbox = await find_mailbox(session, "crash@mss.localhost")
                assert mailbox is not None
                inbox = await store.mail.folders.named(session, mailbox.id, INBOX)
                entries = {e.uid: e for e in await store.mail.reads.entries(session, inbox.id)}
                for uid, digest in all_reported.items():
                    assert uid in entries, f"round {round_no}: committed UID {uid} lost"
                    raw = await store.mail.contents.read_raw(mailbox.id, entries[uid].blob_key)
                    assert hashlib.sha256(raw).hexdigest() == digest
            report = await verify_store(store)
            assert report.ok, report.faults
        finally:
            await store.close()
    assert len(all_reported) >= ROUNDS * 3
