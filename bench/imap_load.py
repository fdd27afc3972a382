"""IMAP load: a realistic client mix, SELECT of a large folder, RSS of idle connections.

    python bench/imap_load.py [--clients 20] [--seconds 20] [--messages 10000]
        [--large 100000] [--idlers 5000] [--pg postgresql+asyncpg://...]

The server runs in a child process (so its RSS is its own) on a store populated here:
a folder of `--messages` messages for the mix and one of `--large` for SELECT. Clients
authenticate with AUTHENTICATE EXTERNAL (a professional certificate bound to the
mailbox), so the figures measure IMAP, not argon2.

Mix per client, in a loop: SELECT, FETCH FLAGS+ENVELOPE of a 50-message range, UID
FETCH BODY.PEEK[] of one message, SEARCH UNSEEN, UID STORE +FLAGS, a short IDLE ended
by DONE. Prints operations/s, p50/p99 per operation, server RSS; SELECT time on the
large folder; server RSS with `--idlers` connections in IDLE. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mss.certs import ensure_server_pki, server_context
from mss.config import load_settings
from mss.demo import seed_world
from mss.directory.certificate_bindings import bind_certificate
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store

MIX_FOLDER = "Bench"
LARGE_FOLDER = "Large"
VARIANTS = 50


def message(n: int) -> bytes:
    body = (f"Compte rendu {n}: " + "résultats normaux. " * 40 + "\r\n").encode() * 4
    return (f"From: Dr Bench <bench{n % 7}@mss.localhost>\r\nTo: <dr.alice.martin@mss.localhost>"
            f"\r\nSubject: Bench message {n}\r\nDate: Mon, 6 Apr 2026 10:00:00 +0200\r\n"
            f"Message-ID: <bench-{n}@mss.localhost>\r\nContent-Type: text/plain; "
            f"charset=utf-8\r\n\r\n").encode() + body


async def populate(store: Store, mailbox_id: int, folder: str, count: int) -> float:
    """`count` messages, content-addressed blobs shared by `VARIANTS` variants."""
    started = time.perf_counter()

    async def create(uow: Any) -> None:
        await store.mail.folders.create(uow, mailbox_id, folder)

    await store.write(create)
    async with store.reading() as session:
        target = await store.mail.folders.named(session, mailbox_id, folder)
    blobs = []
    for n in range(VARIANTS):
        raw = message(n)
        blobs.append((await store.mail.contents.prepare_blob(mailbox_id, raw),
                      raw.split(b"\r\n\r\n")[0]))
    batch = 2000
    for start in range(0, count, batch):
        async def job(uow: Any, start: int = start) -> None:
            for n in range(start, min(count, start + batch)):
                blob, header = blobs[n % VARIANTS]
                flags = ("\\Seen",) if n % 3 else ()
                await store.mail.delivery.deliver(uow, target.id, blob, header, flags=flags)

        await store.write(job)
    return time.perf_counter() - started


async def prepare(data: Path, url: str | None, messages: int, large: int) -> dict[str, str]:
    overrides: dict[str, object] = {"data_dir": str(data)}
    if url:
        overrides["database"] = {"url": url}
    settings = load_settings(environ={}, overrides=overrides)
    store = await Store.open(settings, create=True)
    try:
        pki = ensure_server_pki(settings)
        world = await seed_world(store)
        issued = pki.issue_professional(world.alice_rpps, "Alice MARTIN")
        await bind_certificate(store, world.alice, subject_dn=issued.subject_dn)
        async with store.reading() as session:
            mailbox = await find_mailbox(session, world.alice)
            assert mailbox is not None
        mix_time = await populate(store, mailbox.id, MIX_FOLDER, messages)
        large_time = await populate(store, mailbox.id, LARGE_FOLDER, large) if large else 0.0
        print(f"populated {messages} messages in {mix_time:.1f} s, {large} in {large_time:.1f} s")
        return {"chain": str(issued.chain_path), "key": str(issued.key_path),
                "ca": str(pki.paths.ca_bundle)}
    finally:
        await store.close()


# -- the server child ------------------------------------------------------------------


async def serve(data: Path, url: str | None) -> None:
    from mss.imap.limits import ImapLimits
    from mss.imap.server import ImapServer

    overrides: dict[str, object] = {"data_dir": str(data)}
    if url:
        overrides["database"] = {"url": url}
    settings = load_settings(environ={}, overrides=overrides)
    store = await Store.open(settings)
    pki = ensure_server_pki(settings)
    limits = ImapLimits(connections_per_address=100_000, commands_per_second=1e9,
                        command_burst=10**9)
    server = ImapServer(store, server_context(pki.paths, "optional"), implicit_tls=True,
                        limits=limits)
    _, port = await server.start("127.0.0.1", 0)
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()
    await store.close()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- clients ------------------------------------------------------------------------------


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.n = reader, writer, 0

    @classmethod
    async def connect(cls, port: int, context: ssl.SSLContext,
                      login: str = "AUTHENTICATE EXTERNAL =") -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                       server_hostname="localhost")
        client = cls(reader, writer)
        await reader.readline()
        await client.command(login)
        return client

    async def line(self) -> bytes:
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("closed")
        while line.endswith(b"}\r\n"):
            size = int(line[line.rindex(b"{") + 1 : -3])
            await self.reader.readexactly(size)
            line = await self.reader.readline()
        return line

    async def command(self, text: str) -> list[bytes]:
        self.n += 1
        tag = f"t{self.n}".encode()
        self.writer.write(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = await self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line)
                return lines

    async def idle_briefly(self) -> None:
        self.n += 1
        tag = f"t{self.n}".encode()
        self.writer.write(tag + b" IDLE\r\n")
        while not (await self.line()).startswith(b"+"):
            pass
        self.writer.write(b"DONE\r\n")
        while not (await self.line()).startswith(tag):
            pass


async def mix_client(port: int, context: ssl.SSLContext, until: float, count: int,
                     timings: dict[str, list[float]],
                     login: str = "AUTHENTICATE EXTERNAL =") -> None:
    client = await Client.connect(port, context, login)
    rng = random.Random()

    async def timed(name: str, coroutine: Any) -> None:
        started = time.perf_counter()
        await coroutine
        timings.setdefault(name, []).append(time.perf_counter() - started)

    while time.perf_counter() < until:
        await timed("SELECT", client.command(f"SELECT {MIX_FOLDER}"))
        for _ in range(5):
            low = rng.randint(1, count - 50)
            await timed("FETCH FLAGS ENVELOPE 50",
                        client.command(f"FETCH {low}:{low + 49} (FLAGS ENVELOPE)"))
            await timed("UID FETCH BODY[]",
                        client.command(f"UID FETCH {rng.randint(1, count)} BODY.PEEK[]"))
            await timed("UID STORE", client.command(
                f"UID STORE {rng.randint(1, count)} +FLAGS.SILENT (\\Flagged)"))
        await timed("SEARCH UNSEEN", client.command("SEARCH UNSEEN"))
        await timed("IDLE+DONE", client.idle_briefly())
    client.writer.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def run_bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        paths = await prepare(data, args.pg, args.messages, args.large)
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(data)] + (["--pg", args.pg] if args.pg
                                                                else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            context = ssl.create_default_context(cafile=paths["ca"])
            context.load_cert_chain(paths["chain"], paths["key"])
            print(f"server RSS at start: {rss_mb(child.pid):.0f} MB")

            if args.large:
                client = await Client.connect(port, context)
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    await client.command(f"SELECT {LARGE_FOLDER}")
                    times.append(time.perf_counter() - started)
                    await client.command("UNSELECT")
                print(f"SELECT of {args.large} messages: median "
                      f"{statistics.median(times) * 1000:.0f} ms (best {min(times) * 1000:.0f})")
                client.writer.close()

            timings: dict[str, list[float]] = {}
            server_cpu, client_cpu = process_cpu(child.pid), own_cpu()
            started = time.perf_counter()
            until = started + args.seconds
            await asyncio.gather(*(mix_client(port, context, until, args.messages, timings)
                                   for _ in range(args.clients)))
            elapsed = time.perf_counter() - started
            server_cpu, client_cpu = process_cpu(child.pid) - server_cpu, own_cpu() - client_cpu
            total = sum(len(v) for v in timings.values())
            print(f"mix: {args.clients} clients, {total} operations in {elapsed:.1f} s = "
                  f"{total / elapsed:.0f} operations/s; server RSS {rss_mb(child.pid):.0f} MB")
            print(f"  CPU per operation: server {server_cpu / total * 1000:.2f} ms, "
                  f"clients {client_cpu / total * 1000:.2f} ms")
            for name, values in sorted(timings.items()):
                print(f"  {name:26s} n={len(values):6d} p50={percentile(values, .5) * 1000:7.1f}"
                      f" ms p99={percentile(values, .99) * 1000:7.1f} ms")

            if args.idlers:
                idlers = []
                started = time.perf_counter()
                for start in range(0, args.idlers, 200):
                    batch = await asyncio.gather(*(Client.connect(port, context)
                                                   for _ in range(min(200, args.idlers - start))))
                    for client in batch:
                        await client.command("SELECT INBOX")
                        client.writer.write(b"i IDLE\r\n")
                        await client.line()
                    idlers.extend(batch)
                print(f"{len(idlers)} connections in IDLE (opened in "
                      f"{time.perf_counter() - started:.0f} s): server RSS "
                      f"{rss_mb(child.pid):.0f} MB")
                for client in idlers:
                    client.writer.close()
        finally:
            if child.stdin:
                child.stdin.close()
            child.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--idlers", type=int, default=5000)
    parser.add_argument("--pg", default=None)
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(Path(args.serve), args.pg))
    else:
        asyncio.run(run_bench(args))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
