"""`mss serve` starts every part in one process and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mss.demo import DEMO_PEER_DOMAIN
from mss.directory.trust_store import trusted_dns
from mss.store.audit import events_for_subject
from mss.store.audit_checkpoints import read_checkpoints
from mss.store.audit_verify import check_chain, verify_chain
from mss.store.store import Store


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serve_demo_prints_listeners_and_stops_on_signal(make_settings, sig) -> None:
    settings = make_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({
        "MSS_DATA_DIR": str(settings.data_dir),
        "MSS_DATABASE__URL": settings.database_url,
        "PYTHONPATH": str(Path(__file__).parents[1]),
    })
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    child = subprocess.Popen(
        [sys.executable, "-m", "mss", "serve", "--demo"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith("ready"):
                break
        http_port = int(re.search(r"HTTP on 127\.0\.0\.1:(\d+)", "".join(lines)).group(1))
        admin_port = int(re.search(r"Admin on 127\.0\.0\.1:(\d+)", "".join(lines)).group(1))
        metrics = httpx.get(f"http://127.0.0.1:{admin_port}/metrics", timeout=30).text
        assert 'mss_node_info{node="' in metrics and "mss_events_total" in metrics
        health = httpx.get(f"http://127.0.0.1:{admin_port}/health", timeout=30)
        assert health.json() == {"status": "ok", "database": "ok"}
        # not on the patients' web listener
        assert httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=30).status_code == 404
        child.send_signal(sig)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:  # a failed check must not leave a server running
            child.kill()
            child.communicate(timeout=60)
    assert child.returncode == 0, err[-3000:]
    text = "".join(lines)
    assert "dr.alice.martin@" in text and "demo password" in text
    assert "Traceback" not in err
    assert f"this operator and the demo peer {DEMO_PEER_DOMAIN}" in text

    store = await Store.open(settings)
    try:
        async with store.reading() as session:
            assert await verify_chain(session, store.audit_seal) == []
            # signed checkpoints at start and at stop: the last one is the final head
            points = read_checkpoints(settings.audit_checkpoint_path, store.audit_seal)
            report = await check_chain(session, store.audit_seal,
                                       checkpoints=points.checkpoints)
            assert report.ok and points.faults == [] and len(points.checkpoints) >= 2
            last = points.checkpoints[-1]
            assert last.seq == report.chains[last.chain].last_seq
            actions = [e.action for e in await events_for_subject(session, "", limit=500)]
        assert "server.started" in actions and "server.stopped" in actions
        peer_dns = await trusted_dns(store, DEMO_PEER_DOMAIN)
        own_dns = await trusted_dns(store, settings.server.domain)
        assert len(peer_dns) == 1 and len(own_dns) == 1 and peer_dns != own_dns
    finally:
        await store.close()
