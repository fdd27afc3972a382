"""SORT, ESORT and THREAD of a large folder over IMAP (RFC 5256, RFC 5267).

    python bench/imap_sort.py [--messages 100000] [--variants 2000] [--runs 5]
        [--pg postgresql+asyncpg://...]

A folder of `--messages` messages (`--variants` distinct headers: subjects with and
without Re:, senders, recipients, dates, sizes) is filled through the store API; an
IMAP server runs in this process and a client on a TLS socket times each SORT key, an
ESORT, a SORT with a search key and THREAD=ORDEREDSUBJECT, wall clock from command to
tagged reply, and the process CPU time of the same span (server and client share this
process: on a loaded machine the CPU time is the figure that holds). Prints the median
and the worst of `--runs` runs. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import store_on
from mss.certs import ensure_server_pki, server_context
from mss.demo import seed_world
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store

FOLDER = "SortBench"
COMMANDS = [
    "SORT (DATE) UTF-8 ALL",
    "SORT (ARRIVAL) UTF-8 ALL",
    "SORT (FROM) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (REVERSE SIZE) UTF-8 ALL",
    "SORT (TO CC DATE) UTF-8 ALL",
    "UID SORT RETURN (MIN MAX COUNT) (REVERSE DATE) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 UNSEEN",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
]


def message(n: int) -> bytes:
    leader = ("", "Re: ", "Fwd: ", "RE: [liste] ")[n % 4]
    return (f"From: Dr {n % 97} <sender{n % 97}@mss.localhost>\r\n"
            f"To: <dest{n % 13}@mss.localhost>\r\nCc: <copy{n % 7}@mss.localhost>\r\n"
            f"Subject: {leader}Compte rendu {n % 500}\r\n"
            f"Date: Mon, {1 + n % 28} Apr 2026 {n % 24:02d}:{n % 60:02d}:00 +0200\r\n"
            f"Message-ID: <sort-{n}@mss.localhost>\r\n\r\n").encode() + b"x" * (n % 3000)


async def populate(store: Store, mailbox_id: int, count: int, variants: int) -> float:
    started = time.perf_counter()

    async def create(uow: Any) -> None:
        await store.mail.folders.create(uow, mailbox_id, FOLDER)

    await store.write(create)
    async with store.reading() as session:
        target = await store.mail.folders.named(session, mailbox_id, FOLDER)
    blobs = []
    for n in range(variants):
        raw = message(n)
        blobs.append((await store.mail.contents.prepare_blob(mailbox_id, raw, inline=True),
                      raw.split(b"\r\n\r\n")[0]))
    batch = 2000
    for start in range(0, count, batch):
        async def job(uow: Any, start: int = start) -> None:
            for n in range(start, min(count, start + batch)):
                blob, header = blobs[n % variants]
                await store.mail.delivery.deliver(uow, target.id, blob, header,
                                         flags=("\\Seen",) if n % 3 else ())

        await store.write(job)
    return time.perf_counter() - started


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.count = reader, writer, 0

    async def command(self, text: str) -> list[bytes]:
        self.count += 1
        tag = f"t{self.count}".encode()
        self.writer.write(tag + b" " + text.encode() + b"\r\n")
        await self.writer.drain()
        lines = []
        while True:
            line = await self.reader.readline()
            lines.append(line)
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                return lines


async def run_bench(store: Store, args: argparse.Namespace) -> None:
    world = await seed_world(store)
    async with store.reading() as session:
        mailbox = await find_mailbox(session, world.alice)
        assert mailbox is not None
    took = await populate(store, mailbox.id, args.messages, args.variants)
    print(f"populated {args.messages} messages ({args.variants} variants) in {took:.1f} s")
    pki = ensure_server_pki(store.settings)
    server = ImapServer(store, server_context(pki.paths), implicit_tls=True,
                        limits=ImapLimits(commands_per_second=1e9))
    _, port = await server.start("127.0.0.1", 0)
    context = ssl.create_default_context(cafile=str(pki.paths.ca_bundle))
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                   server_hostname="localhost",
                                                   limit=64 * 1024 * 1024)
    await reader.readline()
    client = Client(reader, writer)
    try:
        await client.command(f'LOGIN "{world.alice}" "{world.password}"')
        await client.command(f"SELECT {FOLDER}")
        print(f"{'command':60} {'median ms':>10} {'worst ms':>10} {'CPU ms':>8}")
        for text in COMMANDS:
            times, cpu = [], []
            for _ in range(args.runs):
                started, cpu_started = time.perf_counter(), time.process_time()
                await client.command(text)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
            print(f"{text:60} {statistics.median(times):10.0f} {max(times):10.0f}"
                  f" {statistics.median(cpu):8.0f}")
        await client.command("LOGOUT")
    finally:
        writer.close()
        await server.stop()


async def main_async(args: argparse.Namespace) -> None:
    async with store_on(args.pg) as store:
        await run_bench(store, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", default="")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
