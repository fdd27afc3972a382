"""Memory of `mss serve` holding many IDLE sessions (issue 19: 5,000 IDLE clients
< 1 GB RSS).

    python bench/imap_idle_memory.py [--clients 5000] [--users 16] [--step 1000]

Starts `mss serve` as `bench/imap_stress.py` does, then opens `--clients` TLS sessions
(over `--users` users, passwords verified by argon2id once each, then confirmed from
the password cache), each LOGIN, SELECT INBOX, IDLE, and keeps them open. Prints the
RSS of the server's process tree before the first session and after every `--step`
sessions, the RSS per session, and checks that one delivery reaches every IDLE session
(``* n EXISTS``). Asserts nothing: a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.imap_stress import (
    PASSWORD,
    Client,
    Server,
    prepare_mss,
    start_mss,
    tree_rss_mb,
    user,
)

PER_ADDRESS = 90  # the server takes 100 sessions per client address (ImapLimits)


async def idle_session(server: Server, login: str, number: int) -> Client:
    """Sessions come from 127.0.x.y, PER_ADDRESS from each (all loopback)."""
    source = 2 + number // PER_ADDRESS
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, ssl=server.context, server_hostname="localhost",
        local_addr=(f"127.0.{source // 250}.{source % 250 + 1}", 0))
    await reader.readline()
    client = Client(reader, writer)
    await client.command(f'LOGIN "{login}" "{PASSWORD}"')
    await client.command("SELECT INBOX")
    client.n += 1
    client.writer.write(b"i%d IDLE\r\n" % client.n)
    line = await client.reader.readline()
    if not line.startswith(b"+"):
        raise RuntimeError(f"IDLE refused: {line!r}")
    return client


async def exists_seen(client: Client, timeout: float) -> bool:
    try:
        while True:
            line = await asyncio.wait_for(client.reader.readline(), timeout)
            if not line:
                return False
            if line.endswith(b" EXISTS\r\n"):
                return True
    except TimeoutError:
        return False


async def main_async(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    if hard < args.clients + 100:
        raise SystemExit(f"open files limited to {hard}: too few for {args.clients} sessions")
    with tempfile.TemporaryDirectory() as tmp:
        data = await prepare_mss(Path(tmp), args.users)
        server = start_mss(data)
        clients: list[Client] = []
        try:
            await asyncio.sleep(1)  # let the node finish its start-up work
            base = tree_rss_mb(server.process.pid)
            print(f"mss serve before any session: {base:.0f} MB")
            started = time.perf_counter()
            while len(clients) < args.clients:
                wave = min(args.step, args.clients - len(clients))
                for start in range(0, wave, 100):
                    count = min(100, wave - start)
                    clients += await asyncio.gather(*(
                        idle_session(server, user(1 + (len(clients) + k) % args.users),
                                     len(clients) + k)
                        for k in range(count)))
                rss = tree_rss_mb(server.process.pid)
                print(f"{len(clients):>6} IDLE sessions: RSS {rss:7.0f} MB, "
                      f"{(rss - base) * 1024 / len(clients):6.1f} KB per session "
                      f"({time.perf_counter() - started:.0f} s)")
            sender = await Client.connect(server)
            await sender.command(f'LOGIN "{user(1)}" "{PASSWORD}"')
            await sender.command("APPEND INBOX",
                                 b"Subject: to the IDLE sessions\r\n\r\nBonjour.\r\n")
            told = await asyncio.gather(*(exists_seen(c, 60) for i, c in enumerate(clients)
                                          if i % args.users == 0))
            print(f"sessions of {user(1)} told of the new message: {sum(told)}/{len(told)}")
            print(f"peak RSS with {len(clients)} IDLE sessions: "
                  f"{tree_rss_mb(server.process.pid):.0f} MB")
            await sender.close()
        finally:
            for client in clients:
                client.writer.close()
            server.process.terminate()
            server.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--step", type=int, default=1000)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
