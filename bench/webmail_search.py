"""Search over a patient's messages with 10,000 messages (issue 21: results < 200 ms).

    python bench/webmail_search.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--messages 10000] [--requests 100]

The patient receives the messages from two professionals, with subjects and texts drawn
from a small medical vocabulary (so a word matches from a few to thousands of
messages). The index is then built (its
time is printed: it is built once, at the first search), and the /search page is
requested in-process through the ASGI app (httpx ASGITransport: the route, the catch-up
check, the index query, the names and the template; no network) for word, prefix,
sender, date-range and combined queries. Prints p50, p99 and the process CPU time per
request, and the machine's load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.demo import seed_world
from mss.directory.web_sessions import open_session
from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import Pipeline, Submission
from mss.pipeline.message_search import catch_up
from mss.pipeline.system_mail import attach_vault
from mss.policy import Channel
from mss.webmail.app import create_app
from mss.webmail.web_auth import SESSION_COOKIE
from mss.webmail.web_context import WebContext

WORDS = ["échographie", "bilan", "sanguin", "cholestérol", "ordonnance", "radiographie",
         "thorax", "cardiologie", "rendez-vous", "convocation", "vaccin", "rappel",
         "glycémie", "tension", "artérielle", "scanner", "compte", "rendu",
         "hospitalisation", "sortie", "traitement", "posologie", "allergie",
         "kinésithérapie", "dermatologie", "consultation", "analyse", "urinaire",
         "créatinine", "ferritine"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(url: str | None, messages: int, requests: int) -> None:
    rng = random.Random(21)
    async with temporary_store(url) as store:
        world = await seed_world(store)
        pipeline = Pipeline(store, store.settings)
        attach_vault(pipeline)
        await pipeline.ensure_spool_mailbox()
        senders = [(world.alice, world.alice_rpps, "Dr Alice MARTIN"),
                   (world.bruno, world.bruno_rpps, "Bruno PETIT")]
        began = time.perf_counter()

        async def deliver(i: int) -> None:
            address, rpps, name = senders[0] if i % 3 else senders[1]
            subject = " ".join(rng.sample(WORDS, 2)).capitalize() + f" {i}"
            text = " ".join(rng.choice(WORDS) for _ in range(60))
            head = (f"From: {name} <{address}>\r\nTo: <{world.jeanne}>\r\n"
                    f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4()}@b>\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n")
            raw = (head + f"\r\nBonjour, {text}.\r\n").encode()
            result = await pipeline.accept(Submission(
                mail_from=address, recipients=[world.jeanne], raw=raw,
                channel=Channel.SUBMISSION, principal=Principal(
                    PrincipalKind.PROFESSIONAL, rpps, name, address), save_to_sent=False))
            assert result.results[0].accepted

        for start in range(0, messages, 200):
            await asyncio.gather(*(deliver(i) for i in
                                   range(start, min(messages, start + 200))))
        print(f"  delivered {messages} messages in {time.perf_counter() - began:.1f} s")
        mailbox_id = await store.mail.mailboxes.id_of(world.jeanne)
        assert mailbox_id is not None
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        indexed = await catch_up(store, mailbox_id, world.jeanne_ins)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) * 1000
        print(f"  indexed {indexed} rows in {time.perf_counter() - t0:.1f} s "
              f"({cpu / max(indexed, 1):.2f} ms CPU per row)")
        web = WebContext.build(store, pipeline)
        app = create_app(web)
        patient = Principal(PrincipalKind.PATIENT, world.jeanne_ins, "Jeanne DUPONT",
                            world.jeanne)
        mine = await open_session(store, patient)
        today = store.clock.now().date()
        queries = [
            ("rare word", {"q": "ferritine creatinine"}),
            ("common word", {"q": "bilan"}),
            ("prefix", {"q": "cardio"}),
            ("sender", {"sender": "petit"}),
            ("word + sender", {"q": "echographie", "sender": "martin"}),
            ("date range", {"since": today.isoformat(), "until": today.isoformat()}),
            ("all filters", {"q": "vaccin rappel", "sender": "martin",
                             "since": today.isoformat()}),
            ("no match", {"q": "zzzzzz"}),
        ]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as client:
            client.cookies.set(SESSION_COOKIE, mine.token)
            worst = 0.0
            for name, params in queries:
                times = []
                page = await client.get("/search", params=params)
                assert page.status_code == 200
                found = page.text.count('href="/messages/')
                cpu0 = resource.getrusage(resource.RUSAGE_SELF)
                for _ in range(requests):
                    t0 = time.perf_counter()
                    response = await client.get("/search", params=params)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200
                cpu1 = resource.getrusage(resource.RUSAGE_SELF)
                cpu = ((cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime)
                       * 1000 / requests)
                worst = max(worst, percentile(times, 99))
                print(f"  {name:14} {found:3} shown  p50 {percentile(times, 50):6.1f} ms   "
                      f"p99 {percentile(times, 99):6.1f} ms   cpu {cpu:6.1f} ms/req")
            print(f"  worst p99 {worst:.1f} ms (target < 200 ms); load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        print(f"SQLite, {args.messages} messages")
        asyncio.run(run(None, args.messages, args.requests))
    if args.pg:
        name, url = asyncio.run(create_pg_db(args.pg))
        try:
            print(f"PostgreSQL, {args.messages} messages")
            asyncio.run(run(url, args.messages, args.requests))
        finally:
            asyncio.run(drop_pg_db(args.pg, name))


if __name__ == "__main__":
    main()
