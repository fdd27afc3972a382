"""What the keyed audit chain costs (issue 17 §6) and how long writers wait for its head.

    python bench/audit_chain.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--count 2000] [--rows 3] [--writers 32]

Prints, in CPU time of this process (resource.getrusage):
- per row, the work done inside the head lock: the plain SHA-256 of before schema 0011
  (content serialised under the lock) against the HMAC of now (content serialised when
  the row is appended, outside the lock), and the whole per-row cost of each;
- per writing transaction of `--rows` audit rows: CPU per transaction through the store;
- on PostgreSQL, the head's row-lock waits seen by `mss_audit_head_lock_seconds`
  (count, total, p99), and `pg_stat_activity` samples of sessions waiting on a Lock
  while running the head's `SELECT ... FOR UPDATE` (the sampling a scale-out run uses).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.identity import Principal, PrincipalKind
from mss.store.audit import AuditSeal, row_body, row_hash
from mss.store.audit_actions import AuditAction

DOCTOR = Principal(PrincipalKind.PROFESSIONAL, "10001234567", "Dr Martin")
# the head lock waits of one run, sampled from PostgreSQL's own view
HEAD_WAITERS = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE '%FROM audit_head%FOR UPDATE%'")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_row(n: int = 100_000) -> None:
    seal = AuditSeal(b"k" * 32, b"s" * 32)
    at = datetime.now(UTC)
    fields = dict(at=at, principal="professional:10001234567", action="message.delivered",
                  target="dr.bruno.petit@mss.localhost", outcome="ok", subject="",
                  detail="queue_id=4F2A9C01B7E3 folder=INBOX uid=42")
    prev = "0" * 64
    start = cpu()
    for seq in range(n):
        row_hash(seq=seq, prev_hash=prev, **fields)  # type: ignore[arg-type]
    plain = (cpu() - start) / n
    body = row_body(**fields)  # type: ignore[arg-type]
    start = cpu()
    for seq in range(n):
        seal.mac("n0", seq, prev, body)
    keyed_in_lock = (cpu() - start) / n
    start = cpu()
    for seq in range(n):
        seal.mac("n0", seq, prev, row_body(**fields))  # type: ignore[arg-type]
    keyed_total = (cpu() - start) / n
    print(f"per row, inside the head lock: plain SHA-256 {plain * 1e6:.2f} µs, "
          f"keyed HMAC {keyed_in_lock * 1e6:.2f} µs")
    print(f"per row, in all:               plain SHA-256 {plain * 1e6:.2f} µs, "
          f"keyed HMAC {keyed_total * 1e6:.2f} µs")


async def per_transaction(url: str | None, count: int, rows: int, writers: int) -> None:
    async with temporary_store(url) as store:
        waits: list[float] = []
        store.audit_seal.head_lock_listeners.append(waits.append)

        async def job(uow):  # one delivery's worth of audit rows
            for i in range(rows):
                uow.audit(AuditAction.MESSAGE_DELIVERED, DOCTOR, target=f"box{i}@b.test",
                          detail="queue_id=4F2A9C01B7E3 folder=INBOX uid=42")

        samples: list[int] = []
        done = asyncio.Event()

        async def sample() -> None:
            if url is None:
                return
            import asyncpg

            conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                while not done.is_set():
                    samples.append(int(await conn.fetchval(HEAD_WAITERS)))
                    await asyncio.sleep(0.01)
            finally:
                await conn.close()

        async def writer() -> None:
            for _ in range(count // writers):
                await store.write(job)

        sampler = asyncio.create_task(sample())
        start = cpu()
        await asyncio.gather(*(writer() for _ in range(writers)))
        spent = cpu() - start
        done.set()
        await sampler
        engine = "postgresql" if url else "sqlite"
        transactions = (count // writers) * writers
        print(f"{engine}: {transactions} writing transactions of {rows} audit rows, "
              f"{writers} writers: {spent / transactions * 1e3:.3f} ms CPU per transaction "
              "(this process, store included)")
        if waits:
            waits.sort()
            print(f"{engine}: head lock waits: {len(waits)} transactions, total "
                  f"{sum(waits) * 1e3:.1f} ms, p50 {waits[len(waits) // 2] * 1e3:.3f} ms, "
                  f"p99 {waits[int(len(waits) * 0.99)] * 1e3:.3f} ms")
        if samples:
            print(f"{engine}: pg_stat_activity samples with a session waiting on the head: "
                  f"{sum(1 for s in samples if s)} of {len(samples)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="PostgreSQL admin URL (a database is made and dropped)")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--writers", type=int, default=32)
    args = parser.parse_args()
    per_row()
    await per_transaction(None, args.count, args.rows, args.writers)
    if args.pg:
        name, url = await create_pg_db(args.pg)
        try:
            await per_transaction(url, args.count, args.rows, args.writers)
        finally:
            await drop_pg_db(args.pg, name)


if __name__ == "__main__":
    asyncio.run(main())
