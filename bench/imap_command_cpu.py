"""Server CPU per IMAP command, one command kind at a time (MSS, optionally Dovecot).

    python bench/imap_command_cpu.py [--repeat 200] [--target mss|both]

One client, sessions kept open, the INBOX filled as in `bench/imap_stress.py` (30
messages of the same corpus). Each kind of command of the stress mix is sent `--repeat`
times in a row and the server's process-tree CPU is read before and after: the cost of
that command alone, which is what the stress mix's CPU per command is made of.
Asserts nothing: a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import ensure_debian_package
from bench.imap_stress import (
    KEEP,
    PASSWORD,
    Client,
    Server,
    corpus,
    fill,
    prepare_mss,
    start_dovecot,
    start_mss,
    tree_cpu,
    user,
)


def mix(messages: list[bytes], rng: random.Random) -> list[tuple[str, str, bytes | None]]:
    """(name, command, literal) of each kind the stress mix sends from SELECT on."""
    return [
        ("SELECT", "SELECT INBOX", None),
        ("FETCH headers", "FETCH 5:20 (FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE "
                          "BODYSTRUCTURE)", None),
        ("FETCH BODY[]", "FETCH 7 BODY.PEEK[]", None),
        ("STORE flags", "STORE 3 +FLAGS (\\Flagged $Label1 $Label3)", None),
        ("STORE -flags", "STORE 3 -FLAGS (\\Flagged $Label1 $Label3)", None),
        ("LIST", 'LIST "" "*"', None),
        ("STATUS", "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)", None),
        ("NOOP", "NOOP", None),
    ]


def server_cpu(server: Server) -> float:
    return tree_cpu(server.process.pid)


async def measure(server: Server, repeat: int, messages: list[bytes]) -> dict[str, float]:
    client = await Client.connect(server)
    await client.command(f'LOGIN "{user(1)}" "{PASSWORD}"')
    await client.command("SELECT INBOX")
    found: dict[str, float] = {}
    for name, text, literal in mix(messages, random.Random(7)):
        before = server_cpu(server)
        started = time.perf_counter()
        for _ in range(repeat):
            await client.command(text, literal)
        elapsed = time.perf_counter() - started
        found[name] = (server_cpu(server) - before) * 1000 / repeat
        found[name + " (wall)"] = elapsed * 1000 / repeat
    # APPEND, STORE \Deleted and EXPUNGE in turn (the folder keeps its size), each
    # command's CPU read on its own (clock ticks: the mean over many is what counts)
    rng = random.Random(8)
    spent = {"APPEND": [0.0, 0.0], "STORE \\Deleted": [0.0, 0.0], "EXPUNGE": [0.0, 0.0]}
    for _ in range(repeat):
        for name, text, literal in (
                ("APPEND", "APPEND INBOX (\\Seen)", rng.choice(messages)),
                ("STORE \\Deleted", f"STORE {KEEP} +FLAGS.SILENT (\\Deleted)", None),
                ("EXPUNGE", "EXPUNGE", None)):
            before, started = server_cpu(server), time.perf_counter()
            await client.command(text, literal)
            spent[name][0] += server_cpu(server) - before
            spent[name][1] += time.perf_counter() - started
    for name, (cpu, wall) in spent.items():
        found[name] = cpu * 1000 / repeat
        found[name + " (wall)"] = wall * 1000 / repeat
    await client.command("LOGOUT")
    await client.close()
    return found


async def main_async(args: argparse.Namespace) -> None:
    messages = corpus()
    targets = ["mss", "dovecot"] if args.target == "both" else ["mss"]
    if "dovecot" in targets and not ensure_debian_package("dovecot", "dovecot-imapd"):
        raise SystemExit("dovecot could not be installed (apt-get install -y dovecot-imapd)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = await prepare_mss(root, 1)
        servers = {"mss": start_mss(data)}
        try:
            if "dovecot" in targets:
                servers["dovecot"] = start_dovecot(root, 1, data)
            results = {}
            for name in targets:
                await fill(servers[name], 1, messages)
                results[name] = await measure(servers[name], args.repeat, messages)
            names = [n for n in results["mss"] if not n.endswith("(wall)")]
            print(f"{'command':<16} {'MSS CPU ms':>11} {'wall ms':>8}"
                  + (f" {'Dovecot CPU ms':>15} {'wall ms':>8}" if len(targets) > 1 else ""))
            for n in names:
                line = f"{n:<16} {results['mss'][n]:>11.2f} {results['mss'][n + ' (wall)']:>8.2f}"
                if "dovecot" in results:
                    d = results["dovecot"]
                    line += f" {d[n]:>15.2f} {d[n + ' (wall)']:>8.2f}"
                print(line)
        finally:
            for server in servers.values():
                server.process.terminate()
                server.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--target", choices=("mss", "both"), default="mss")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
