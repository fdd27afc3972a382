"""SMTP ingest with one node and with two nodes on one PostgreSQL; IDLE delay across nodes.

    python bench/cluster_ingest.py --pg postgresql+asyncpg://postgres@127.0.0.1/postgres
        [--messages 600] [--sessions 16]

Each node is a real `mss serve` process; messages are submitted over implicit TLS with
AUTH by K concurrent sessions spread over the nodes. Prints messages/s for 1 and 2
nodes, their ratio, and p50/p99 of the delay between a submission on node A and the
EXISTS seen by a client idling on node B. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db
from mss.demo import DemoWorld

DOMAIN, PATIENT_DOMAIN = "mss.localhost", "patient.mss.localhost"
WORLD = DemoWorld(DOMAIN, PATIENT_DOMAIN)


def start_node(data: Path, url: str, node_id: str, demo: bool) -> tuple[subprocess.Popen[str],
                                                                       dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({"MSS_DATA_DIR": str(data), "MSS_DATABASE__URL": url,
                "MSS_SERVER__NODE_ID": node_id})
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    process = subprocess.Popen(
        [sys.executable, "-m", "mss", "serve", *(["--demo"] if demo else [])],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
        cwd=Path(__file__).resolve().parents[1])
    assert process.stdout is not None
    text = ""
    for line in process.stdout:
        text += line
        if line.startswith("ready"):
            break
    ports = {k.lower(): int(v) for k, v in re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", text)}
    return process, ports


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)


def message(subject: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = WORLD.alice, WORLD.bruno, subject
    m["Message-ID"] = f"<{uuid.uuid4()}@bench>"
    m.set_content("Compte rendu de consultation. " * 130)  # about 4 KB
    return m


async def ingest(ports: list[int], tls: ssl.SSLContext, total: int, sessions: int) -> float:
    per_session = total // sessions

    async def session(index: int) -> None:
        client = aiosmtplib.SMTP(hostname="localhost", port=ports[index % len(ports)],
                                 use_tls=True, tls_context=tls, timeout=120)
        await client.connect()
        await client.login(WORLD.alice, WORLD.password)
        for i in range(per_session):
            await client.send_message(message(f"s{index}-{i}"))
        await client.quit()

    began = time.perf_counter()
    await asyncio.gather(*(session(i) for i in range(sessions)))
    return per_session * sessions / (time.perf_counter() - began)


async def idle_delays(submit_port: int, imap_port: int, tls: ssl.SSLContext,
                      samples: int) -> list[float]:
    delays = []
    with IMAPClient("localhost", port=imap_port, ssl=True, ssl_context=tls) as imap:
        imap.login(WORLD.bruno, WORLD.password)
        imap.select_folder("INBOX")
        for i in range(samples):
            imap.idle()
            began = time.perf_counter()
            await aiosmtplib.send(message(f"idle-{i}"), hostname="localhost", port=submit_port,
                                  use_tls=True, tls_context=tls, username=WORLD.alice,
                                  password=WORLD.password)
            while True:
                responses = await asyncio.to_thread(imap.idle_check, 10)
                if any(r[1] == b"EXISTS" for r in responses) or not responses:
                    break
            delays.append(time.perf_counter() - began)
            imap.idle_done()
    return delays


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", required=True, help="PostgreSQL admin URL")
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--sessions", type=int, default=16)
    args = parser.parse_args()
    rates = {}
    for nodes in (1, 2):
        name, url = await create_pg_db(args.pg)
        with tempfile.TemporaryDirectory() as tmp:
            first, ports_a = start_node(Path(tmp), url, "node-a", demo=True)
            processes, ports = [first], [ports_a]
            if nodes == 2:
                second, ports_b = start_node(Path(tmp), url, "node-b", demo=False)
                processes.append(second)
                ports.append(ports_b)
            tls = ssl.create_default_context(cafile=str(Path(tmp) / "pki" / "ca-bundle.pem"))
            try:
                rates[nodes] = await ingest([p["submissions"] for p in ports], tls,
                                            args.messages, args.sessions)
                print(f"{nodes} node(s): {rates[nodes]:.0f} messages/s "
                      f"({args.messages} x 4 KB, {args.sessions} TLS sessions)", flush=True)
                if nodes == 2:
                    delays = sorted(await idle_delays(ports[0]["submissions"],
                                                      ports[1]["imaps"], tls, 30))
                    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
                    print(f"IDLE delay across nodes (submission on A to EXISTS on B): "
                          f"p50 {statistics.median(delays) * 1000:.0f} ms, "
                          f"p99 {p99 * 1000:.0f} ms", flush=True)
            finally:
                for process in processes:
                    stop(process)
        await drop_pg_db(args.pg, name)
    print(f"ratio 2 nodes / 1 node: {rates[2] / rates[1]:.2f} (both nodes share 2 cores "
          "and one database; each transaction also locks the audit chain head)")


if __name__ == "__main__":
    asyncio.run(main())
