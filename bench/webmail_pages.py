"""Latency of the webmail's pages with 10,000 messages (issue 21: < 100 ms p99).

    python bench/webmail_pages.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--messages 10000] [--requests 200]

The patient receives the messages from two professionals (nine in ten from one), one in
a hundred with a PDF the vault files; then the patient's pages (inbox, a conversation
and its 20th page, a message, documents, traces, settings) and the professional's
(patients, the patient's page and its 20th page, her documents) are requested
in-process through the ASGI app (httpx ASGITransport: the application, its queries and
the template, no network). Prints p50, p99 and the process CPU time per request, and
the machine's load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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
from mss.pipeline.system_mail import attach_vault
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
        attach_vault(pipeline)
        await pipeline.ensure_spool_mailbox()
        senders = [(world.alice, world.alice_rpps), (world.bruno, world.bruno_rpps)]
        began = time.perf_counter()

        async def deliver(i: int) -> None:
            address, rpps = senders[0] if i % 10 else senders[1]
            head = (f"From: <{address}>\r\nTo: <{world.jeanne}>\r\nSubject: Suivi {i}\r\n"
                    f"Message-ID: <{uuid.uuid4()}@b>\r\nMIME-Version: 1.0\r\n")
            if i % 100:
                raw = (head + f"\r\nBonjour, message {i}.\r\n").encode()
            else:
                raw = (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                       f"Content-Type: text/plain\r\n\r\nCompte rendu {i}.\r\n--b\r\n"
                       "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64"
                       f'\r\nContent-Disposition: attachment; filename="cr-{i}.pdf"\r\n\r\n'
                       "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK\r\n"
                       "--b--\r\n").encode()
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
        mine = await open_session(store, patient)
        theirs = await open_session(store, world.alice_principal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as client:
            client.cookies.set(SESSION_COOKIE, mine.token)
            inbox = await client.get("/inbox")
            key = inbox.text.split('href="/conversations/')[1].split('"')[0]
            page = (await client.get(f"/conversations/{key}")).text
            message = page.split('href="/messages/inbox/')[1].split('"')[0]
            ins = world.jeanne_ins
            pages = [("inbox", "/inbox", mine), ("conversation", f"/conversations/{key}", mine),
                     ("conversation p.20", f"/conversations/{key}?page=20", mine),
                     ("message", f"/messages/inbox/{message}", mine),
                     ("documents", "/documents", mine), ("traces", "/traces", mine),
                     ("settings", "/settings", mine), ("pro patients", "/pro", theirs),
                     ("pro patient", f"/pro/patients/{ins}", theirs),
                     ("pro patient p.20", f"/pro/patients/{ins}?page=20", theirs),
                     ("pro documents", f"/pro/patients/{ins}/documents", theirs)]
            worst = 0.0
            for name, path, session in pages:
                client.cookies.set(SESSION_COOKIE, session.token)
                times = []
                cpu0 = resource.getrusage(resource.RUSAGE_SELF)
                for _ in range(requests):
                    t0 = time.perf_counter()
                    response = await client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                cpu1 = resource.getrusage(resource.RUSAGE_SELF)
                cpu = ((cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime)
                       * 1000 / requests)
                worst = max(worst, percentile(times, 99))
                print(f"  {name:18} p50 {percentile(times, 50):7.1f} ms   "
                      f"p99 {percentile(times, 99):7.1f} ms   "
                      f"mean {statistics.mean(times):7.1f} ms   cpu {cpu:6.1f} ms/req")
            print(f"  worst p99 {worst:.1f} ms (target < 100 ms); load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
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
