"""Ingest benchmark of the MX: N messages over K concurrent TLS sessions, durable.

The server is a whole MSS App (SQLite, `synchronous=FULL` unless --database-url) in a
child process, so that its CPU time and peak RSS are its own (resource.getrusage in the
server process). The client is aiosmtplib with an operator client certificate, one
session per worker, messages sent back to back; a message counts when its 250 (after
commit) is read.

    python bench/smtp_ingest.py [--count 2000] [--sizes 4096,204800] [--sessions 1,8,32]
                                [--logging on|off|both]

`--logging both` runs each setting twice on the same server (after a warm-up), event
lines off then on (logfmt, to a file, as `mss serve` writes them to stderr), `--rounds`
times, and prints what the lines cost in server CPU per message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db
from mss.certs import DevPki, ca_client_context
from mss.config import process_count

CLIENT_DOMAIN = "bench-a.localhost"
SERVER_DOMAIN = "bench-b.localhost"


def _process_usage() -> tuple[float, float]:
    """CPU seconds and peak RSS (kB) of this process and of its MX processes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, rss = usage.ru_utime + usage.ru_stime, float(usage.ru_maxrss)
    ticks = os.sysconf("SC_CLK_TCK")
    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            status = Path(f"/proc/{child.pid}/status").read_text()
            rss += float(status.split("VmHWM:")[1].split()[0])
    return cpu, rss


def _server(folder: Path, database_url: str, pipe: Connection, profile: str,
            mx_processes: int) -> None:
    """Child process: run the MX until told to stop; answer rusage requests."""
    from mss.app import App
    from mss.config import load_settings
    from mss.demo import seed_world
    from mss.directory.trust_store import import_trust_list
    from mss.event_log import configure_logging
    from mss.store.store import prepare_data_dir

    configure_logging("logfmt", stream=(folder / "server.log").open("a", encoding="utf-8"))

    async def main() -> None:
        off = {"enabled": False}
        overrides: dict[str, object] = {
            "data_dir": str(folder / "server"),
            "server": {"hostname": f"mx.{SERVER_DOMAIN}", "domain": SERVER_DOMAIN,
                       "patient_domain": f"patient.{SERVER_DOMAIN}", "node_id": "bench"},
            "smtp": {"mx_processes": mx_processes},
            "listeners": {"mx": {"port": 0}, "submission": off, "submissions": off,
                          "imap": off, "imaps": off, "http": off, "admin": off},
        }
        if database_url:
            overrides["database"] = {"url": database_url}
        settings = load_settings(environ={}, overrides=overrides)
        prepare_data_dir(settings)
        shutil.copytree(folder / "pki", settings.pki_dir)
        pki = DevPki.load(settings.pki_dir)
        server_cert = next(c for c in pki.issued() if SERVER_DOMAIN in c.subject_dn)
        pki.install_server_certificate(server_cert)
        app = App(settings)
        app.queue_worker = False
        await app.start()
        assert app.store is not None
        world = await seed_world(app.store)
        client_cert = next(c for c in pki.issued() if CLIENT_DOMAIN in c.subject_dn)
        trust = (
            '<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante '
            'xmlns="https://listeblanche.mssante.fr/schema"><DateDeGeneration>x'
            f"</DateDeGeneration><ListeDomaines><Domaine><Nom>{CLIENT_DOMAIN}</Nom>"
            f"<DNCertificatOperateur>{client_cert.subject_dn}</DNCertificatOperateur>"
            "</Domaine></ListeDomaines></ListeBlancheMSSante>"
        )
        await import_trust_list(app.store, trust.encode())
        port = app.smtp.listeners["mx"].port
        pipe.send((port, world.bruno))
        loop = asyncio.get_running_loop()
        while True:
            request = await loop.run_in_executor(None, pipe.recv)
            if request == "stop":
                break
            if isinstance(request, tuple):  # ("log", on): event lines on or off
                logging.getLogger().setLevel(logging.INFO if request[1] else logging.WARNING)
                pipe.send("ok")
                continue
            pipe.send((*_process_usage(), time.thread_time()))
        await app.stop()

    if profile:
        import cProfile

        # the event loop thread's CPU time, not wall time: waits on the database
        # thread, the disk and the client would otherwise dominate
        profiler = cProfile.Profile(time.thread_time)
        profiler.runctx("asyncio.run(main())", globals(), locals())
        profiler.dump_stats(profile)
    else:
        asyncio.run(main())


def make_message(size: int, index: int) -> bytes:
    head = (f"From: <bench@{CLIENT_DOMAIN}>\r\nTo: <dest@{SERVER_DOMAIN}>\r\n"
            f"Subject: bench {index}\r\nMessage-ID: <{index}.{time.time_ns()}@bench>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return (head + body).encode()


async def _session(port: int, context: object, rcpt: str, messages: list[bytes],
                   latencies: list[float]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                             tls_context=context, timeout=120)  # type: ignore[arg-type]
    await client.connect()
    await client.starttls()
    for raw in messages:
        started = time.perf_counter()
        await client.sendmail(f"bench@{CLIENT_DOMAIN}", [rcpt], raw)
        latencies.append(time.perf_counter() - started)
    await client.quit()


async def run_load(port: int, context: object, rcpt: str, count: int, size: int,
                   sessions: int) -> tuple[float, list[float]]:
    messages = [make_message(size, i) for i in range(count)]
    latencies: list[float] = []
    shares = [messages[i::sessions] for i in range(sessions)]
    started = time.perf_counter()
    await asyncio.gather(*(_session(port, context, rcpt, share, latencies)
                           for share in shares if share))
    return time.perf_counter() - started, latencies


def _cpu_seconds() -> float:
    """This (client) process's CPU time: with the server's, it shows the ceiling that
    two cores put on the rate (the client's share is not the server's to save)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="messages of 4 KB per run")
    parser.add_argument("--large-count", type=int, default=400, help="messages of 200 KB")
    parser.add_argument("--sizes", default="4096,204800")
    parser.add_argument("--sessions", default="1,8,32")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL server URL (default SQLite): the run gets a "
                             "throwaway database next to the one named, dropped after")
    parser.add_argument("--mx-processes", type=int, default=0,
                        help="smtp.mx_processes of the server (SO_REUSEPORT processes; "
                        "0, the default setting: one per core)")
    parser.add_argument("--logging", choices=["on", "off", "both"], default="on",
                        help="the server's event lines (both: each setting twice, on then off)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each setting")
    parser.add_argument("--profile", default="",
                        help="write the server's cProfile (event loop thread CPU) here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mss-bench-"))
    pki = DevPki.init(folder / "pki")
    pki.issue_operator(f"mx.{SERVER_DOMAIN}", "2000000002", "BENCH B", "Paris (75)")
    client_cert = pki.issue_operator(f"mx.{CLIENT_DOMAIN}", "2000000001", "BENCH A",
                                     "Paris (75)")
    context = ca_client_context(pki.paths.ca_bundle, cert_chain=client_cert.chain_path,
                                key=client_cert.key_path)
    context.check_hostname = False
    database_url, throwaway = args.database_url, ""
    if database_url:
        throwaway, database_url = asyncio.run(create_pg_db(args.database_url))
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_server, args=(folder, database_url, child, args.profile, args.mx_processes))
    process.start()
    port, rcpt = parent.recv()
    engine = "PostgreSQL" if args.database_url else "SQLite (synchronous=FULL)"
    processes = process_count(args.mx_processes)
    print(f"MX ingest, {engine}, server in its own process(es): {processes} MX "
          "process(es), TLS with client certificates; loop busy: the main process's")
    print(f"{'size':>7} {'K':>3} {'N':>5} {'msg/s':>8} {'MB/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'srv CPU s':>9} {'CPU/msg ms':>10} {'cli CPU/msg':>11} "
          f"{'peak RSS MB':>11} {'loop busy':>8} {'log':>4}")
    # both: off then on, `--rounds` times, after a warm-up run that is not counted
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.logging] * args.rounds
    asyncio.run(run_load(port, context, rcpt, min(args.count, 300), 4096, 8))
    cpu_per_message: dict[bool, list[float]] = {True: [], False: []}
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            count = args.count if size <= 16384 else args.large_count
            for sessions, log_on in ((int(k), m) for k in args.sessions.split(",")
                                     for m in modes):
                parent.send(("log", log_on))
                parent.recv()
                parent.send("usage")
                cpu_before, _, loop_before = parent.recv()
                client_before = _cpu_seconds()
                elapsed, latencies = asyncio.run(
                    run_load(port, context, rcpt, count, size, sessions))
                client_cpu = _cpu_seconds() - client_before
                parent.send("usage")
                cpu_after, rss_kb, loop_after = parent.recv()
                rate = count / elapsed
                cpu = cpu_after - cpu_before
                print(f"{size // 1024:>5}KB {sessions:>3} {count:>5} {rate:>8.0f} "
                      f"{rate * size / 1e6:>7.2f} {percentile(latencies, 0.5) * 1e3:>7.1f} "
                      f"{percentile(latencies, 0.99) * 1e3:>7.1f} {cpu:>9.2f} "
                      f"{cpu / count * 1e3:>10.2f} {client_cpu / count * 1e3:>11.2f} "
                      f"{rss_kb / 1024:>11.0f} {(loop_after - loop_before) / elapsed:>8.0%} "
                      f"{'on' if log_on else 'off':>4}", flush=True)
                cpu_per_message[log_on].append(cpu / count)
        if args.logging == "both":
            on, off = sum(cpu_per_message[True]), sum(cpu_per_message[False])
            print(f"event lines cost {(on - off) / off:+.1%} of the server's CPU per message "
                  f"(sum over the settings: {on * 1e3:.2f} ms on, {off * 1e3:.2f} ms off)")
    finally:
        parent.send("stop")
        process.join(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        if throwaway:
            asyncio.run(drop_pg_db(args.database_url, throwaway))
    return 0


if __name__ == "__main__":
    sys.exit(main())
