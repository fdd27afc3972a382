"""Accepted messages per second through the pipeline (facts, policy, one transaction).

    python bench/pipeline_accept.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--count 1000] [--profile]

A professional writes 4 KB messages to a colleague (local delivery plus a Sent copy),
with 1 and 32 concurrent submitters, on SQLite and optionally PostgreSQL. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.demo import seed_world
from mss.pipeline.accept import Pipeline, Submission
from mss.policy import Channel


async def run_case(url: str | None, submitters: int, count: int) -> tuple[float, float, float]:
    async with temporary_store(url) as store:
        world = await seed_world(store)
        pipeline = Pipeline(store, store.settings)
        alice = world.alice_principal
        body = ("Compte rendu de consultation. " * 140)[:4000]
        latencies: list[float] = []
        per = count // submitters

        async def submitter(s: int) -> None:
            for i in range(per):
                raw = (f"From: <{world.alice}>\r\nTo: <{world.bruno}>\r\n"
                       f"Subject: CR {s}-{i}\r\nMessage-ID: <{uuid.uuid4()}@b>\r\n\r\n"
                       f"{body}\r\n").encode()
                start = time.perf_counter()
                result = await pipeline.accept(Submission(
                    mail_from=world.alice, recipients=[world.bruno], raw=raw,
                    channel=Channel.SUBMISSION, principal=alice))
                assert result.results[0].accepted
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(submitter(s) for s in range(submitters)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    engines: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.pg:
        engines.append(("postgresql", args.pg))
    print(f"{'engine':<11} {'submitters':>10} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for engine, admin in engines:
        for submitters in (1, 32):
            db_name = url = None
            if admin:
                db_name, url = await create_pg_db(admin)
            try:
                rate, p50, p99 = await run_case(url, submitters, max(args.count, submitters))
            finally:
                if admin and db_name:
                    await drop_pg_db(admin, db_name)
            print(f"{engine:<11} {submitters:>10} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f}",
                  flush=True)


if __name__ == "__main__":
    asyncio.run(main())
