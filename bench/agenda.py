"""Agenda figures (issue 23), CPU time per operation (the machine is shared: CPU time,
not wall-clock throughput):

    python bench/agenda.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--count 1000]

1. `read_calendar` of a hospital's convocation (REQUEST with a VTIMEZONE), and of a
   weekly recurring one expanded to its occurrences.
2. `apply_posted`: appointments an APP posts (the API's translation + one transaction).
3. Reminder passes with every appointment due: CPU per reminder claimed and queued;
   then two services on two stores racing over the same due set: duplicates (must be 0).
4. Private feed fetches of a patient with `--count` appointments: CPU per fetch.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.agenda.feed import create_feed, read_feed
from mss.agenda.invitations import read_calendar
from mss.agenda.posted_appointments import apply_posted, posted_request
from mss.agenda.reminders import ReminderService
from mss.clock import ManualClock
from mss.demo import seed_world
from mss.directory.api_tokens import create_api_token, principal_for_token
from mss.notify.notice_queue import notices
from mss.store.store import Store
from tests.agenda.calendars import convocation


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def per_op(label: str, count: int, job: Callable[[int], Awaitable[object]]) -> None:
    start = cpu()
    for n in range(count):
        await job(n)
    spent = cpu() - start
    print(f"{label}: {spent / count * 1e3:.3f} ms CPU per operation ({count} operations)")


async def run(url: str | None, count: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    single = convocation()
    weekly = convocation(extra="RRULE:FREQ=WEEKLY;COUNT=52", start="20260105T093000")
    await per_op("read_calendar, one convocation", 500,
                 lambda _: asyncio.sleep(0, read_calendar(single, now=now)))
    await per_op("read_calendar, weekly x52 expanded", 100,
                 lambda _: asyncio.sleep(0, read_calendar(weekly, now=now)))
    async with temporary_store(url) as store:
        clock = ManualClock(now)
        store.clock = clock  # type: ignore[misc]
        world = await seed_world(store)
        app = await principal_for_token(store, await create_api_token(store, world.noreply))
        assert app is not None
        start = now + timedelta(days=2)

        async def post(n: int) -> None:
            ins = world.jeanne_ins if n % 2 else world.paul_ins
            at = start + timedelta(minutes=n)
            await apply_posted(store, app, posted_request({
                "patient": ins, "uid": f"rdv-{n}@labo", "summary": "Prise de sang",
                "start": at.isoformat(), "end": (at + timedelta(minutes=15)).isoformat()},
                world.patient_domain))

        await per_op("apply_posted (API appointment)", count, post)
        clock.advance(timedelta(days=1, hours=12))  # every reminder due (1 day before)
        first = await Store.open(store.settings, clock=clock)
        second = await Store.open(store.settings, clock=clock)
        try:
            half = count // 2
            before = cpu()
            queued = 0
            service = ReminderService(store, node_id="bench")
            while queued < half:  # the first half alone
                got = await service.run_once()
                if not got:
                    break
                queued += got
            spent = cpu() - before
            print(f"reminder pass: {spent / max(queued, 1) * 1e3:.3f} ms CPU per reminder "
                  f"claimed and queued ({queued} reminders)")
            racers = [ReminderService(first, node_id="a"), ReminderService(second, node_id="b")]
            while sum(await asyncio.gather(*(r.run_once() for r in racers))):
                pass
            kinds = [n.kind for n in await notices(store)]
            print(f"two nodes racing: {kinds.count('reminder')} notices for {count} "
                  f"appointments (duplicates: {kinds.count('reminder') - count})")
        finally:
            await first.close()
            await second.close()
        token = await create_feed(store, world.jeanne_principal, show_details=False)
        await per_op(f"feed fetch ({count // 2} appointments)", 50,
                     lambda _: read_feed(store, token, client="bench"))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()

    async def go() -> None:
        name = ""
        url = None
        if args.pg:
            name, url = await create_pg_db(args.pg)
        try:
            await run(url, args.count)
        finally:
            if name:
                await drop_pg_db(args.pg, name)

    asyncio.run(go())


if __name__ == "__main__":
    main()
