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


def _table(text: str, header_start: str, last_cell: str = r"^[\d.]") -> Iterator[list[str]]:
    """Rows of a whitespace table printed after a line starting with `header_start`, each
    ending with a cell that matches `last_cell` (a figure, by default)."""
    inside = False
    for line in text.splitlines():
        if line.strip().startswith(header_start):
            inside = True
            continue
        if inside:
            cells = line.split()
            if not cells or not re.match(last_cell, cells[-1]):
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
    for cells in _table(text, "size ", r"^(on|off)$"):  # the last column: event lines
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


def parse_imap_folders(text: str) -> Iterator[Row]:
    """The `name n= p50= p99= worst=` lines of imap_folders.py."""
    for name, p50, p99 in re.findall(r"^(\S.*?)\s+n=\s*\d+ p50=\s*([\d.]+) ms p99=\s*([\d.]+)",
                                     text, re.M):
        yield f"IMAP {name} p50", float(p50), "ms"
        yield f"IMAP {name} p99", float(p99), "ms"


def parse_idle_memory(text: str) -> Iterator[Row]:
    if found := re.search(r"before any session: (\d+) MB", text):
        yield "mss serve RSS before any IMAP session", float(found[1]), "MB"
    if found := re.search(r"peak RSS with (\d+) IDLE sessions: (\d+) MB", text):
        yield f"mss serve RSS with {found[1]} IDLE sessions", float(found[2]), "MB"
    if found := re.search(r"told of the new message: (\d+)/(\d+)", text):
        yield "IDLE sessions told of a delivery", float(found[1]) / max(float(found[2]), 1), \
            "fraction"


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
    Bench("imap_folders.py", ["--folders", "10", "--per-folder", "2000", "--huge", "20000"],
          ["--folders", "50", "--per-folder", "10000", "--huge", "100000"],
          parse_imap_folders),
    Bench("imap_idle_memory.py", ["--clients", "500", "--step", "500"],
          ["--clients", "5000", "--step", "1000"], parse_idle_memory, pg_flag=""),
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


@dataclass(frozen=True)
class Target:
    """One line of issue 19's table: MSS's figure, the reference's, and the goal."""

    load: str
    mss: str  # the figure's name in the rows (or a regular expression matching it whole)
    reference: str = ""  # the reference's figure, likewise ("" for an absolute goal)
    goal: str = ""  # "ratio >= 1", "ratio <= 2", "< 10", ...


ISSUE_19 = [
    Target("IMAP stress, login per cycle (commands/s)",
           "IMAP stress cycle: commands/s (MSS)", "IMAP stress cycle: commands/s (Dovecot)",
           "ratio >= 1 (0.5 with a profile)"),
    Target("IMAP stress, sessions kept open (commands/s)",
           "IMAP stress open: commands/s (MSS)", "IMAP stress open: commands/s (Dovecot)",
           "ratio >= 1 (0.5 with a profile)"),
    Target("server CPU per IMAP command, open (ms)",
           "IMAP stress open: server CPU ms/command (MSS)",
           "IMAP stress open: server CPU ms/command (Dovecot)"),
    Target("server CPU per login with TLS (ms)",
           "IMAP stress login: server CPU ms/login (MSS)",
           "IMAP stress login: server CPU ms/login (Dovecot)", "ratio <= 2"),
    Target("LIST/STATUS p99 under the stress (ms)",
           "IMAP stress cycle: LIST/STATUS p99 ms (MSS)",
           "IMAP stress cycle: LIST/STATUS p99 ms (Dovecot)"),
    Target("STATUS p99, folders of 10,000 messages (ms)",
           "IMAP STATUS (MESSAGES UNSEEN UIDNEXT), 10000 msgs p99", goal="< 10"),
    Target('LIST "" "*" p99, 51 folders (ms)', 'IMAP LIST "" "*" p99', goal="< 10"),
    Target("SELECT of 100,000 messages p99 (ms)", "IMAP SELECT of 100000 messages p99",
           goal="< 50"),
    Target("MX ingest 4 KB, 32 sessions (msg/s)",
           r"SMTP MX ingest 4KB, 32 sessions \(sqlite[^)]*\)",
           "Postfix MX accept 4KB, 32 sessions", "ratio >= 1"),
    Target("MX ingest 4 KB, server CPU per message (ms)",
           r"SMTP MX ingest 4KB, 32 sessions \(sqlite[^)]*\) server CPU per message",
           goal="< 2"),
    Target("RSS under the 16-client stress (MB)", "IMAP stress cycle: peak RSS MB (MSS)",
           goal="< 300"),
    Target("RSS with 5,000 IDLE sessions (MB)", "mss serve RSS with 5000 IDLE sessions",
           goal="< 1000"),
]


def _met(value: float, ratio: float | None, goal: str) -> str:
    found = re.search(r"(ratio )?([<>]=?) ([\d.]+)", goal)
    if not found:
        return ""
    subject = ratio if found[1] else value
    if subject is None:
        return "?"
    bound = float(found[3])
    ok = {"<": subject < bound, "<=": subject <= bound, ">": subject > bound,
          ">=": subject >= bound}[found[2]]
    return "met" if ok else "not met"


def issue_19_table(rows: list[tuple[str, float, str, str]]) -> Iterator[str]:
    """Issue 19's table from the rows found (lines whose figures were not run are left
    out): load, MSS, reference, ratio, goal, whether it is met."""
    values: dict[str, float] = {}
    for figure, value, _unit, _setting in rows:
        values.setdefault(figure, value)

    def find(name: str) -> float | None:
        """The figure of that name, else the first whose name the regular expression
        `name` matches whole (for names that hold the run's settings)."""
        if name in values:
            return values[name]
        return next((v for f, v in values.items() if re.fullmatch(name, f)), None)

    width = max(len(t.load) for t in ISSUE_19)
    yield (f"{'load':<{width}}  {'MSS':>9}  {'reference':>9}  {'ratio':>6}  "
           f"{'goal':<32}  status")
    for target in ISSUE_19:
        mss = find(target.mss)
        if mss is None:
            continue
        reference = find(target.reference) if target.reference else None
        ratio = mss / reference if reference else None
        shown = f"{reference:9.2f}" if reference is not None else f"{'':9}"
        shown_ratio = f"{ratio:6.2f}" if ratio is not None else f"{'':6}"
        yield (f"{target.load:<{width}}  {mss:9.2f}  {shown}  {shown_ratio}  "
               f"{target.goal:<32}  {_met(mss, ratio, target.goal)}")


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
    load_before = os.getloadavg()
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
    print()
    print("issue 19: MSS against the references, in this run")
    for line in issue_19_table(rows):
        print(line)
    after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}, after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} "
          f"({os.cpu_count()} cores)")
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
