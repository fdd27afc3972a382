"""Benchmark: import a synthetic national directory extract, then search it.

    python bench/directory_import.py [--lines 535000] [--pg postgresql+asyncpg://...]

Prints, per engine: generation time, import time (first run and idempotent re-run),
process CPU time (every thread: the import's and the SQLite driver's),
peak RSS of the process (resource.getrusage) and search latency p50/p99 over a few
hundred queries. Targets (issue 3): import < 60 s, RSS < 500 MB, search < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from mss.clock import SystemClock
from mss.config import load_settings
from mss.directory.directory_search import DirectoryQuery, search_directory
from mss.directory.national_import import import_extract
from mss.directory.synthetic_extract import (
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    PROFESSIONS,
    rpps_for,
    write_synthetic_extract,
)
from mss.store.store import Store


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load() -> str:
    """The machine's load average: wall-clock figures mean little without it."""
    return f"load average {os.getloadavg()[0]:.1f}"


def queries(count: int, lines: int, seed: int = 7) -> list[DirectoryQuery]:
    rng = random.Random(seed)
    made: list[DirectoryQuery] = []
    for n in range(count):
        match n % 6:
            case 0:
                made.append(DirectoryQuery(name=rng.choice(LAST_NAMES)[:3]))
            case 1:
                made.append(DirectoryQuery(name=f"{rng.choice(LAST_NAMES)} "
                                                f"{rng.choice(FIRST_NAMES)[:2]}"))
            case 2:
                made.append(DirectoryQuery(rpps=rpps_for(rng.randrange(lines))))
            case 3:
                made.append(DirectoryQuery(profession_code=rng.choice(PROFESSIONS)[0],
                                           postcode=rng.choice(CITIES)[0]))
            case 4:
                made.append(DirectoryQuery(postcode=rng.choice(CITIES)[0][:2], kind="ORG"))
            case _:
                made.append(DirectoryQuery(kind="PER", name=rng.choice(LAST_NAMES)[:4]))
    return made


async def run(url: str | None, extract: Path, lines: int, data: Path) -> None:
    overrides: dict[str, object] = {"data_dir": str(data)}
    if url:
        overrides["database"] = {"url": url}
    settings = load_settings(environ={}, overrides=overrides)
    store = await Store.open(settings, create=True, clock=SystemClock())
    try:
        engine = "postgresql" if url else "sqlite"
        started, cpu = time.perf_counter(), time.process_time()
        report = await import_extract(store, extract)
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"[{engine}] first import: {first:.1f} s, process CPU {first_cpu:.1f} s "
              f"({report.summary()}; {load()})")
        started, cpu = time.perf_counter(), time.process_time()
        again = await import_extract(store, extract)
        second, second_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"[{engine}] re-import:    {second:.1f} s, process CPU {second_cpu:.1f} s "
              f"({again.summary()}; {load()})")
        latencies = []
        found = 0
        for query in queries(600, lines):
            started = time.perf_counter()
            found += len(await search_directory(store, query))
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"[{engine}] search: {len(latencies)} queries, {found} results, "
              f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
              f"max {latencies[-1]:.1f} ms")
        print(f"[{engine}] peak RSS so far: {peak_rss_mb():.0f} MB")
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=535_000)
    parser.add_argument("--pg", help="PostgreSQL admin URL (postgresql+asyncpg://...)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mss-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        extract = write_synthetic_extract(folder / "extract.csv", args.lines)
        size = extract.stat().st_size / 1e6
        print(f"generated {args.lines} lines ({size:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        asyncio.run(run(None, extract, args.lines, folder / "sqlite"))
        if args.pg:
            asyncio.run(run_pg(args.pg, extract, args.lines, folder / "pg"))
    return 0


async def run_pg(admin_url: str, extract: Path, lines: int, data: Path) -> None:
    import asyncpg

    name = f"mss_bench_{uuid.uuid4().hex[:8]}"
    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(plain)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        await run(f"{admin_url.rpartition('/')[0]}/{name}", extract, lines, data)
    finally:
        conn = await asyncpg.connect(plain)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
