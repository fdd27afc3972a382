"""Every benchmark of the project in one command, as one table: figure, value, unit, setting.

    python bench/run_all.py --small        # about two minutes on two cores
    python bench/run_all.py --large        # the figures of the README (tens of minutes)
    python bench/run_all.py --small --pg postgresql+asyncpg://postgres@127.0.0.1/postgres

Each benchmark runs as its own process with the arguments of the chosen setting (the
scripts keep their own defaults and output when run alone); its printed lines are read
into rows. The memory of a whole node is measured here: RSS of `mss serve --demo` when
idle, then with many connections open on its IMAP port. Timings are printed, never
asserted: a slower machine is not a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
Row = tuple[str, float, str]  # figure, value, unit


@dataclass(frozen=True)
class Bench:
    script: str
    small: list[str]
    large: list[str]
    parse: Callable[[str], Iterator[Row]]
    pg_flag: str = "--pg"


def _table(text: str, header_start: str) -> Iterator[list[str]]:
    """Rows of a whitespace table printed after a line starting with `header_start`."""
    inside = False
    for line in text.splitlines():
        if line.strip().startswith(header_start):
            inside = True
            continue
        if inside:
            cells = line.split()
            if not cells or not re.match(r"^[\d.]", cells[-1]):
                inside = False
                continue
            yield cells


def parse_store(text: str) -> Iterator[Row]:
    for engine, size, writers, rate, p50, p99 in _table(text, "engine "):
        name = f"store deliver {size}B, {writers} writers ({engine})"
        yield f"{name}", float(rate), "msg/s"
        yield f"{name} p50", float(p50), "ms"
        yield f"{name} p99", float(p99), "ms"


def parse_pipeline(text: str) -> Iterator[Row]:
    for engine, submitters, rate, p50, p99 in _table(text, "engine "):
        name = f"pipeline accept, {submitters} submitters ({engine})"
        yield name, float(rate), "msg/s"
        yield f"{name} p50", float(p50), "ms"
        yield f"{name} p99", float(p99), "ms"


def parse_smtp(text: str) -> Iterator[Row]:
    engine = "postgresql" if "PostgreSQL" in text.split("MX ingest", 1)[-1][:40] else "sqlite"
    found = re.search(r"(\d+) MX process", text)
    processes = f", {found[1]} MX processes" if found and found[1] != "1" else ""
    for cells in _table(text, "size "):
        size, sessions, _count, rate, mbs, p50, p99, _cpu, cpu_msg, _client, rss = cells[:11]
        name = f"SMTP MX ingest {size}, {sessions} sessions ({engine}{processes})"
        yield name, float(rate), "msg/s"
        yield f"{name} throughput", float(mbs), "MB/s"
        yield f"{name} p50", float(p50), "ms"
        yield f"{name} p99", float(p99), "ms"
        yield f"{name} server CPU per message", float(cpu_msg), "ms"
        yield f"{name} server peak RSS", float(rss), "MB"


def parse_imap(text: str) -> Iterator[Row]:
    if found := re.search(r"server RSS at start: (\d+) MB", text):
        yield "IMAP server RSS at start", float(found[1]), "MB"
    if found := re.search(r"SELECT of (\d+) messages: median (\d+) ms", text):
        yield f"IMAP SELECT of {found[1]} messages, median", float(found[2]), "ms"
    if found := re.search(r"mix: (\d+) clients, .* = (\d+) operations/s; server RSS (\d+)", text):
        yield f"IMAP mix, {found[1]} clients", float(found[2]), "operations/s"
        yield f"IMAP mix, {found[1]} clients, server RSS", float(found[3]), "MB"
    for name, p50, p99 in re.findall(r"^  (\S.*?)\s+n=\s*\d+ p50=\s*([\d.]+) ms p99=\s*([\d.]+)",
                                     text, re.M):
        yield f"IMAP {name} p50", float(p50), "ms"
        yield f"IMAP {name} p99", float(p99), "ms"
    if found := re.search(r"(\d+) connections in IDLE .*server RSS (\d+) MB", text):
        yield f"IMAP server RSS with {found[1]} IDLE connections", float(found[2]), "MB"


def parse_vault(text: str) -> Iterator[Row]:
    pattern = (r"^(\w+)\s+deposit\s+(\d+) KB XDM .*?,\s+(\d+) senders:\s+([\d.]+) msg/s "
               r"\(\s*([\d.]+) documents/s\)\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms")
    for engine, size, senders, rate, docs, p50, p99 in re.findall(pattern, text, re.M):
        name = f"vault deposit {size} KB XDM, {senders} senders ({engine})"
        yield name, float(rate), "msg/s"
        yield f"{name} documents", float(docs), "documents/s"
        yield f"{name} p50", float(p50), "ms"
        yield f"{name} p99", float(p99), "ms"
    for engine, who, value in re.findall(
            r"^(\w+)\s+list 5,000 documents by space, (.*?)\s*:\s+([\d.]+) ms", text, re.M):
        yield f"vault list 5,000 documents, {who} ({engine})", float(value), "ms"


def parse_directory(text: str) -> Iterator[Row]:
    lines = re.search(r"generated (\d+) lines", text)
    count = lines[1] if lines else "?"
    for engine, seconds in re.findall(r"\[(\w+)\] first import: ([\d.]+) s", text):
        yield f"directory import of {count} lines ({engine})", float(seconds), "s"
    for engine, seconds in re.findall(r"\[(\w+)\] re-import:\s+([\d.]+) s", text):
        yield f"directory re-import, unchanged ({engine})", float(seconds), "s"
    for engine, p50, p99 in re.findall(r"\[(\w+)\] search: .* p50 ([\d.]+) ms, p99 ([\d.]+) ms",
                                       text):
        yield f"directory search p50 ({engine})", float(p50), "ms"
        yield f"directory search p99 ({engine})", float(p99), "ms"
    for engine, rss in re.findall(r"\[(\w+)\] peak RSS so far: (\d+) MB", text):
        yield f"directory import peak RSS ({engine})", float(rss), "MB"


def parse_webmail(text: str) -> Iterator[Row]:
    engine = "sqlite"
    for line in text.splitlines():
        if line.startswith("PostgreSQL"):
            engine = "postgresql"
        if found := re.match(r"^(?:SQLite|PostgreSQL), (\d+) messages", line):
            messages = found[1]
        if found := re.match(r"^  (\S.*?)\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line):
            name = f"webmail {found[1]} page, patient with {messages} messages ({engine})"
            yield f"{name} p50", float(found[2]), "ms"
            yield f"{name} p99", float(found[3]), "ms"


def parse_imap_stress(text: str) -> Iterator[Row]:
    """The `comparison  MSS  Dovecot  ratio` lines of imap_stress.py."""
    for line in text.splitlines():
        found = re.match(r"^(\w+: [^\d]+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+|-)$", line)
        if not found:
            continue
        name, mss, dovecot, ratio = found.groups()
        unit = name.rsplit(" ", 1)[-1]
        yield f"IMAP stress {name} (MSS)", float(mss), unit
        yield f"IMAP stress {name} (Dovecot)", float(dovecot), unit
        if ratio != "-":
            yield f"IMAP stress {name}: MSS / Dovecot", float(ratio), "ratio"


def parse_postfix(text: str) -> Iterator[Row]:
    for cells in _table(text, "size "):
        size, sessions, _count, rate = cells[:4]
        yield f"Postfix MX accept {size}, {sessions} sessions", float(rate), "msg/s"


BENCHES = [
    Bench("store_deliver.py", ["--count", "200"], ["--count", "2000"], parse_store),
    Bench("pipeline_accept.py", ["--count", "200"], ["--count", "2000"], parse_pipeline),
    Bench("smtp_ingest.py", ["--count", "200", "--large-count", "40", "--sessions", "1,8"],
          ["--count", "2000", "--large-count", "400", "--sessions", "1,8,32",
           "--mx-processes", "2"], parse_smtp,
          pg_flag="--database-url"),
    Bench("imap_load.py", ["--clients", "5", "--seconds", "5", "--messages", "1000",
                           "--large", "5000", "--idlers", "500"],
          ["--clients", "20", "--seconds", "20", "--messages", "10000", "--large", "100000",
           "--idlers", "5000"], parse_imap),
    Bench("imap_stress.py", ["--clients", "8", "--seconds", "8"],
          ["--clients", "16", "--seconds", "20"], parse_imap_stress, pg_flag=""),
    Bench("smtp_postfix.py", ["--count", "200", "--sessions", "1,8"],
          ["--count", "2000", "--sessions", "1,8,32"], parse_postfix, pg_flag=""),
    Bench("vault_deposit.py", ["--count", "20"], ["--count", "200"], parse_vault),
    Bench("directory_import.py", ["--lines", "20000"], ["--lines", "535000"], parse_directory),
    Bench("webmail_pages.py", ["--messages", "1000", "--requests", "50"],
          ["--messages", "10000", "--requests", "200"], parse_webmail),
]


def run_bench(bench: Bench, setting: str, pg: str) -> tuple[list[Row], str]:
    args = list(bench.small if setting == "small" else bench.large)
    if pg and bench.pg_flag:
        args += [bench.pg_flag, pg]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / bench.script), *args],
                          capture_output=True, text=True, cwd=HERE.parent,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    rows = list(bench.parse(done.stdout))
    rows.append((f"{bench.script} wall time", round(time.perf_counter() - started, 1), "s"))
    problem = "" if done.returncode == 0 and len(rows) > 1 else (
        f"{bench.script} exited {done.returncode}: {(done.stderr or done.stdout)[-600:]}")
    return rows, problem


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def node_memory(connections: int) -> list[Row]:
    """RSS of `mss serve --demo` once ready, then with `connections` SMTP clients greeted
    on the MX and holding their connection (no login: argon2 per client would take the
    whole run, and IMAP allows 100 connections per address; imap_load.py measures
    logged-in IDLE sessions on the IMAP server alone)."""
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
        env.update({"MSS_DATA_DIR": data, "PYTHONPATH": str(HERE.parent)})
        for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
            env[f"MSS_LISTENERS__{name}__PORT"] = "0"
        env["MSS_SMTP__CONNECTIONS_PER_ADDRESS"] = str(connections + 10)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mss", "serve", "--demo", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert child.stdout is not None
        text = ""
        try:
            while not text.endswith("ready (Ctrl-C to stop)\n"):
                line = (await asyncio.wait_for(child.stdout.readline(), 120)).decode()
                if not line:
                    raise RuntimeError("mss serve ended before it was ready:\n" + text)
                text += line
            port = int(re.search(r"MX on 127\.0\.0\.1:(\d+)", text)[1])  # type: ignore[index]
            rows: list[Row] = [("mss serve --demo RSS, idle", round(rss_mb(child.pid), 1), "MB")]
            opened = []
            for _ in range(connections):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if not (await reader.readline()).startswith(b"220 "):
                    break  # past the per-address limit: the count below says how many
                opened.append(writer)
            rows.append((f"mss serve --demo RSS, {len(opened)} SMTP connections open",
                         round(rss_mb(child.pid), 1), "MB"))
            for writer in opened:
                writer.close()
            return rows
        finally:
            child.terminate()
            await child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_const", dest="setting", const="small",
                      help="small setting (default): minutes")
    size.add_argument("--large", action="store_const", dest="setting", const="large",
                      help="the README's setting: tens of minutes")
    parser.add_argument("--pg", default="", help="also PostgreSQL (admin URL)")
    parser.add_argument("--only", default="", help="comma-separated script names to run")
    args = parser.parse_args(argv)
    setting = args.setting or "small"
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    rows: list[tuple[str, float, str, str]] = []
    problems: list[str] = []
    for bench in BENCHES:
        if only and bench.script.removesuffix(".py") not in only and bench.script not in only:
            continue
        print(f"running {bench.script} ({setting})...", file=sys.stderr, flush=True)
        found, problem = run_bench(bench, setting, args.pg)
        rows.extend((figure, value, unit, setting) for figure, value, unit in found)
        if problem:
            problems.append(problem)
    if not only or "memory" in only:
        print("running mss serve --demo (memory)...", file=sys.stderr, flush=True)
        connections = 500 if setting == "small" else 5000
        try:
            import resource

            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections * 2 + 1024),
                                                        hard))
        except (ValueError, OSError):
            pass
        try:
            rows.extend((f, v, u, setting) for f, v, u in asyncio.run(node_memory(connections)))
        except Exception as error:  # a benchmark's failure is reported, never a traceback
            problems.append(f"mss serve memory: {error!r}")
    width = max((len(r[0]) for r in rows), default=10)
    print(f"{'figure':<{width}}  {'value':>10}  {'unit':<12}  setting")
    for figure, value, unit, label in rows:
        print(f"{figure:<{width}}  {value:>10g}  {unit:<12}  {label}")
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
