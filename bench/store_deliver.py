"""Durable deliveries per second into the store (group commit), SQLite and PostgreSQL.

    python bench/store_deliver.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--count 2000]

Prints deliveries/s and p50/p99 latency (prepare blob + commit) for 4 KB and 200 KB
messages with 1 and 32 concurrent writers. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.identity import MailboxKind
from mss.store.mailboxes import INBOX, create_mailbox


def message(size: int, n: int) -> bytes:
    head = f"From: a@mss.localhost\r\nTo: b@mss.localhost\r\nSubject: bench {n}\r\n\r\n".encode()
    return head + os.urandom(size // 2).hex().encode()[: size - len(head)]


async def run_case(
    url: str | None, size: int, writers: int, count: int
) -> tuple[float, float, float]:
    async with temporary_store(url) as store:
        async def make(uow):
            return (await create_mailbox(uow, store.keyring,
                                         address=f"{uuid.uuid4().hex}@b.test",
                                         kind=MailboxKind.PER)).id
        mailbox = await store.write(make)
        async with store.reading() as session:
            inbox = await store.mail.folders.named(session, mailbox, INBOX)
        latencies: list[float] = []
        per_writer = count // writers

        async def writer(w: int) -> None:
            for i in range(per_writer):
                raw = message(size, w * per_writer + i)
                start = time.perf_counter()
                blob = await store.mail.contents.prepare_blob(mailbox, raw)

                async def job(uow, blob=blob, raw=raw):
                    return await store.mail.delivery.deliver(uow, inbox.id, blob, raw)

                await store.write(job)
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000






async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="", help="PostgreSQL admin URL (also benchmark PG)")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    engines: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.pg:
        engines.append(("postgresql", args.pg))
    print(f"{'engine':<11} {'size':>6} {'writers':>7} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for engine, admin in engines:
        for size in (4 * 1024, 200 * 1024):
            for writers in (1, 32):
                count = args.count if size < 100_000 else max(args.count // 4, 64)
                count = max(count, writers)
                db_name = None
                url = None
                if admin:
                    db_name, url = await create_pg_db(admin)
                try:
                    rate, p50, p99 = await run_case(url, size, writers, count)
                finally:
                    if admin and db_name:
                        await drop_pg_db(admin, db_name)
                print(f"{engine:<11} {size // 1024:>5}K {writers:>7} {rate:>8.0f} "
                      f"{p50:>8.1f} {p99:>8.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
