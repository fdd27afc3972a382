"""LIST, STATUS and SELECT of large folders over IMAP (issue 19: LIST/STATUS p99 < 10 ms
with 50 folders of 10,000 messages, SELECT of 100,000 messages < 50 ms).

    python bench/imap_folders.py [--folders 50] [--per-folder 10000] [--huge 100000]
        [--rounds 5] [--pg postgresql+asyncpg://...]

The first folder is filled through the store API (deliveries of 2,000 distinct
messages, a third unread); the others hold the same messages as COPY would put them
there (entries written by one INSERT ... SELECT each, which the counters' triggers see
like any other); one more folder holds `--huge` entries, all read but the last ten (the
first unseen is then at the end, the slow case). An IMAP server runs in this process
and a client on a TLS socket times, wall clock from command to tagged reply: LIST,
STATUS (MESSAGES UNSEEN UIDNEXT) of every folder, LIST with RETURN (STATUS ...), and
SELECT of the large folders. Prints p50, p99 and the worst. Asserts nothing.
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

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import store_on
from bench.imap_sort import Client, message
from mss.certs import ensure_server_pki, server_context
from mss.demo import seed_world
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store

VARIANTS = 2000


async def fill_first(store: Store, folder_id: int, mailbox_id: int, count: int) -> None:
    blobs = []
    for n in range(VARIANTS):
        raw = message(n)
        blobs.append((await store.mail.contents.prepare_blob(mailbox_id, raw, inline=True),
                      raw.split(b"\r\n\r\n")[0]))
    for start in range(0, count, 2000):
        async def job(uow: Any, start: int = start) -> None:
            for n in range(start, min(count, start + 2000)):
                blob, header = blobs[n % VARIANTS]
                await store.mail.delivery.deliver(uow, folder_id, blob, header,
                                         flags=("\\Seen",) if n % 3 else ())

        await store.write(job)


async def copy_entries(store: Store, source: int, target: int, times: int,
                       seen_but_last: int | None = None) -> None:
    """`times` copies of the source's entries (UIDs following on), as COPY makes them."""
    async def job(uow: Any) -> None:
        connection = await uow.core()
        span = (await connection.execute(text(
            "SELECT MAX(uid) FROM folder_entries WHERE folder_id = :s"), {"s": source})).scalar()
        for copy in range(times):
            await connection.execute(text(
                "INSERT INTO folder_entries (folder_id, message_id, uid, modseq, flags) "
                "SELECT :t, message_id, uid + :offset, 1, flags FROM folder_entries "
                "WHERE folder_id = :s"), {"t": target, "s": source, "offset": copy * span})
        last = span * times
        if seen_but_last is not None:
            await connection.execute(text(
                "UPDATE folder_entries SET flags = CASE WHEN uid > :cut THEN '' "
                "ELSE '\\Seen' END WHERE folder_id = :t"),
                {"t": target, "cut": last - seen_but_last})
        await connection.execute(text(
            "UPDATE folders SET uidnext = :next, highestmodseq = 2, recent_uid = :next, "
            "recent_claimed = :next WHERE id = :t"), {"t": target, "next": last + 1})

    await store.write(job)


async def populate(store: Store, mailbox_id: int, args: argparse.Namespace) -> list[str]:
    names = [f"Big{n:02d}" for n in range(1, args.folders + 1)] + ["Huge"]

    async def create(uow: Any) -> list[int]:
        return [(await store.mail.folders.create(uow, mailbox_id, name)).id for name in names]

    ids = await store.write(create)
    await fill_first(store, ids[0], mailbox_id, args.per_folder)
    for target in ids[1:-1]:
        await copy_entries(store, ids[0], target, 1)
    await copy_entries(store, ids[0], ids[-1], max(1, args.huge // args.per_folder),
                       seen_but_last=10)
    return names


def figures(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{name:44} n={len(times):>4} p50={statistics.median(times):7.2f} ms "
            f"p99={p99:7.2f} ms worst={ordered[-1]:7.2f} ms")


async def timed(client: Client, text: str) -> float:
    started = time.perf_counter()
    await client.command(text)
    return (time.perf_counter() - started) * 1000


async def run_bench(store: Store, args: argparse.Namespace) -> None:
    world = await seed_world(store)
    async with store.reading() as session:
        mailbox = await find_mailbox(session, world.alice)
        assert mailbox is not None
    started = time.perf_counter()
    names = await populate(store, mailbox.id, args)
    total = args.per_folder * args.folders + args.huge
    print(f"populated {len(names)} folders, {total} entries in "
          f"{time.perf_counter() - started:.1f} s")
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
        lists, statuses, list_status, selects, select_one = [], [], [], [], []
        for _ in range(args.rounds):
            lists.append(await timed(client, 'LIST "" "*"'))
            for name in names:
                statuses.append(await timed(client, f"STATUS {name} (MESSAGES UNSEEN UIDNEXT)"))
            list_status.append(await timed(
                client, 'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))'))
            selects.append(await timed(client, "SELECT Huge"))
            select_one.append(await timed(client, "SELECT Big01"))
        print(figures('LIST "" "*"', lists))
        print(figures(f"STATUS (MESSAGES UNSEEN UIDNEXT), {args.per_folder} msgs", statuses))
        print(figures(f"LIST RETURN (STATUS ...), {len(names)} folders", list_status))
        print(figures(f"SELECT of {args.huge} messages", selects))
        print(figures(f"SELECT of {args.per_folder} messages", select_one))
        await client.command("LOGOUT")
    finally:
        writer.close()
        await server.stop()


async def main_async(args: argparse.Namespace) -> None:
    async with store_on(args.pg) as store:
        await run_bench(store, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--per-folder", type=int, default=10_000)
    parser.add_argument("--huge", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default="")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
