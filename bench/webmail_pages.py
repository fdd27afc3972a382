"""Latency of the patient's inbox and conversation pages with 10,000 messages.

    python bench/webmail_pages.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--messages 10000] [--requests 200]

The patient receives the messages from three professionals (most from one), reads a
tenth of them, then the pages are requested in-process through the ASGI app (httpx
ASGITransport: the application, its queries and the template, no network). Prints p50
and p99; asserts nothing.
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

import httpx

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.demo import seed_world
from mss.directory.web_sessions import open_session
from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import Pipeline, Submission
from mss.policy import Channel
from mss.webmail.app import create_app
from mss.webmail.web_auth import SESSION_COOKIE
from mss.webmail.web_context import WebContext


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(url: str | None, messages: int, requests: int) -> None:
    async with temporary_store(url) as store:
        world = await seed_world(store)
        pipeline = Pipeline(store, store.settings)
        senders = [(world.alice, world.alice_rpps), (world.bruno, world.bruno_rpps)]
        began = time.perf_counter()

        async def deliver(i: int) -> None:
            address, rpps = senders[0] if i % 10 else senders[1]
            raw = (f"From: <{address}>\r\nTo: <{world.jeanne}>\r\nSubject: Suivi {i}\r\n"
                   f"Message-ID: <{uuid.uuid4()}@b>\r\n\r\nBonjour, message {i}.\r\n"
                   ).encode()
            result = await pipeline.accept(Submission(
                mail_from=address, recipients=[world.jeanne], raw=raw,
                channel=Channel.SUBMISSION, principal=Principal(
                    PrincipalKind.PROFESSIONAL, rpps, "", address), save_to_sent=False))
            assert result.results[0].accepted

        for start in range(0, messages, 200):
            await asyncio.gather(*(deliver(i) for i in
                                   range(start, min(messages, start + 200))))
        print(f"  delivered {messages} messages in {time.perf_counter() - began:.1f} s")
        web = WebContext.build(store, pipeline)
        app = create_app(web)
        patient = Principal(PrincipalKind.PATIENT, world.jeanne_ins, "Jeanne DUPONT",
                            world.jeanne)
        session = await open_session(store, patient)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as client:
            client.cookies.set(SESSION_COOKIE, session.token)
            inbox = await client.get("/inbox")
            key = inbox.text.split('href="/conversations/')[1].split('"')[0]
            for name, path in (("inbox", "/inbox"),
                               ("conversation", f"/conversations/{key}"),
                               ("conversation p.20", f"/conversations/{key}?page=20")):
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    response = await client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200
                print(f"  {name:18} p50 {percentile(times, 50):7.1f} ms   "
                      f"p99 {percentile(times, 99):7.1f} ms   "
                      f"mean {statistics.mean(times):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
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
