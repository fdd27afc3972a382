"""What the SORT indexes of `folder_entries` cost each delivery (migration 0020).

    python bench/sort_index_cost.py [--base 20000] [--count 2000] [--batch 50]
        [--rounds 3] [--pg postgresql+asyncpg://...]

A folder of `--base` messages is filled through the store API (bench/imap_sort.py's
messages); then `--count` more are delivered by the pipeline's path
(`deliver_to_folder_later`, `--batch` per transaction), alternately with the five
(folder_id, key, uid) sort indexes present and dropped, `--rounds` times each, on the
same store. Prints, per variant, the median over rounds of the process CPU and the wall
time per delivery (on PostgreSQL the index work is the server's: it shows in the wall
time only), and the difference. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench.bench_support import store_on
from bench.imap_sort import FOLDER, message, populate
from mss.demo import seed_world
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.tables import SORT_INDEXED


async def set_indexes(store: Store, present: bool) -> None:
    async with store.write_engine.begin() as conn:
        for key in SORT_INDEXED:
            name = f"ix_folder_entries_{key}"
            await conn.execute(text(
                f"CREATE INDEX IF NOT EXISTS {name} ON folder_entries (folder_id, {key}, uid)"
                if present else f"DROP INDEX IF EXISTS {name}"))


async def deliver_round(store: Store, mailbox_id: int, count: int, batch: int,
                        offset: int) -> tuple[float, float]:
    """(process CPU s, wall s) per delivery for `count` deliveries."""
    prepared = []
    for n in range(count):
        raw = message(offset + n)
        prepared.append((await store.mail.contents.prepare_blob(mailbox_id, raw, inline=True),
                         raw.split(b"\r\n\r\n")[0]))
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, count, batch):
        async def job(uow: Any, start: int = start) -> None:
            for blob, header in prepared[start : start + batch]:
                store.mail.delivery.deliver_to_folder_later(uow, FOLDER, blob, header)

        await store.write(job)
    return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count


async def run_bench(store: Store, args: argparse.Namespace) -> None:
    world = await seed_world(store)
    async with store.reading() as session:
        mailbox = await find_mailbox(session, world.alice)
        assert mailbox is not None
    took = await populate(store, mailbox.id, args.base, 2000)
    print(f"populated {args.base} messages in {took:.1f} s")
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    offset = args.base
    for _ in range(args.rounds):
        for present in (True, False):
            await set_indexes(store, present)
            results[present].append(
                await deliver_round(store, mailbox.id, args.count, args.batch, offset))
            offset += args.count
    await set_indexes(store, True)
    print(f"{'variant':28} {'CPU us/delivery':>16} {'wall us/delivery':>17}")
    medians = {}
    for present, rows in results.items():
        cpu = statistics.median(r[0] for r in rows) * 1e6
        wall = statistics.median(r[1] for r in rows) * 1e6
        medians[present] = (cpu, wall)
        label = "with the 5 sort indexes" if present else "without them"
        print(f"{label:28} {cpu:16.0f} {wall:17.0f}")
    print(f"{'difference':28} {medians[True][0] - medians[False][0]:16.0f} "
          f"{medians[True][1] - medians[False][1]:17.0f}")


async def main_async(args: argparse.Namespace) -> None:
    async with store_on(args.pg) as store:
        await run_bench(store, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
