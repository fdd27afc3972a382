"""Scale-out of ingest: 1, 2 and 4 `mss serve` nodes on one private PostgreSQL (issue 24 §2).

    python bench/cluster_ingest.py --pg postgresql+asyncpg://postgres@127.0.0.1/postgres
        [--nodes 1,2,4] [--quota 0.4] [--messages 2000] [--sessions 32]
        [--workloads hot,spread] [--channels submission,mx] [--rounds 1]

Method:
- each run gets a fresh database on the server named by --pg (fsync as the server has
  it), seeded from this process: the demo world, 8 more professionals, a trust list
  naming a peer operator whose client certificate the MX accepts;
- each node is a real `mss serve` process in a cgroup of its own (cgroup v1
  `cpu/<group>/cpu.cfs_quota_us`, or `cpu.max` on v2) holding it to --quota cores, its
  CPU read from the group's `cpuacct.usage` (v2: `cpu.stat`); this load generator and
  PostgreSQL stay outside every quota; without a writable cgroup the nodes run
  unbounded, as said in the output, and CPU is read from /proc;
- the K sessions are spread over the nodes round robin and connect, STARTTLS/TLS and
  log in (argon2) before the clock starts: only sending is timed;
- workloads: `hot`, every message Alice → Bruno (one INBOX, and on submission one Sent
  folder, for the whole cluster); `spread`, four disjoint sender → recipient pairs;
- channels: `submission` (465, AUTH, filed in Sent) and `mx` (25, STARTTLS with the
  peer's client certificate, no Sent);
- while sending, pg_stat_activity is sampled every 20 ms: the share of samples in which
  some node's backend waits on a lock (by what it waits on: folder rows, the audit
  head, NOTIFY's commit lock, other) and in which one is "idle in transaction".
Prints figures; asserts nothing. Runs are alternated over the node counts per round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import create_pg_db, drop_pg_db

ROOT = Path(__file__).resolve().parents[1]
PEER_DOMAIN = "bench-peer.localhost"
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
CPUACCT_V1 = Path("/sys/fs/cgroup/cpuacct")
CGROUP_V2 = Path("/sys/fs/cgroup")
PASSWORD = "demo-password-2026"
PAIRS = 4


@dataclass
class World:
    domain: str
    hot: tuple[str, str]
    pairs: list[tuple[str, str]]
    client_chain: Path
    client_key: Path
    ca_bundle: Path


async def seed(data: Path, url: str) -> World:
    """The run's mailboxes, PKI and trust list, written by this process before any node."""
    from mss.certs import DevPki, ensure_server_pki
    from mss.config import load_settings
    from mss.demo import seed_world
    from mss.directory.mailbox_accounts import ProfessionalIdentity, create_per_mailbox
    from mss.directory.passwords import set_password
    from mss.directory.synthetic_extract import rpps_for
    from mss.directory.trust_store import import_trust_list
    from mss.store.store import Store

    settings = load_settings(environ={}, overrides={"data_dir": str(data),
                                                    "database": {"url": url}})
    store = await Store.open(settings, create=True)
    try:
        world = await seed_world(store)
        pairs = []
        for i in range(2 * PAIRS):
            address = f"pro{i}@{world.domain}"
            await create_per_mailbox(store, address=address, professional=ProfessionalIdentity(
                rpps_for(300 + i), "BANC", f"Pro{i}", "M.", "60", "Infirmier",
                postcode="75012"), display_name=f"Pro {i}")
            await set_password(store, address, PASSWORD)
        pairs = [(f"pro{2 * i}@{world.domain}", f"pro{2 * i + 1}@{world.domain}")
                 for i in range(PAIRS)]
        pki: DevPki = ensure_server_pki(settings)
        client = pki.issue_operator(f"mx.{PEER_DOMAIN}", "2000000001", "BENCH PEER",
                                    "Paris (75)")
        trust = (
            '<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante '
            'xmlns="https://listeblanche.mssante.fr/schema"><DateDeGeneration>x'
            f"</DateDeGeneration><ListeDomaines><Domaine><Nom>{PEER_DOMAIN}</Nom>"
            f"<DNCertificatOperateur>{client.subject_dn}</DNCertificatOperateur>"
            "</Domaine></ListeDomaines></ListeBlancheMSSante>")
        await import_trust_list(store, trust.encode())
    finally:
        await store.close()
    return World(world.domain, (world.alice, world.bruno), pairs, client.chain_path,
                 client.key_path, pki.paths.ca_bundle)


# -- CPU quota ------------------------------------------------------------------------


class Quota:
    """One node's cgroup: a CPU quota and its CPU usage (ns)."""

    def __init__(self, name: str, cores: float) -> None:
        self.name = name
        self.mode = "none"
        self.dirs: list[Path] = []
        period = 100_000
        try:
            if (CGROUP_V1 / "cpu.cfs_quota_us").exists():
                group = CGROUP_V1 / name
                group.mkdir(exist_ok=True)
                (group / "cpu.cfs_period_us").write_text(str(period))
                (group / "cpu.cfs_quota_us").write_text(str(int(cores * period)))
                self.dirs.append(group)
                if CPUACCT_V1.exists() and CPUACCT_V1 != CGROUP_V1:
                    account = CPUACCT_V1 / name
                    account.mkdir(exist_ok=True)
                    self.dirs.append(account)
                self.mode = "v1"
            elif (CGROUP_V2 / "cgroup.controllers").exists():
                group = CGROUP_V2 / name
                group.mkdir(exist_ok=True)
                (group / "cpu.max").write_text(f"{int(cores * period)} {period}")
                self.dirs.append(group)
                self.mode = "v2"
        except OSError as exc:
            print(f"cgroup {name}: not writable ({exc.strerror}): nodes run without a quota",
                  flush=True)
            self.mode = "none"

    def wrap(self, command: list[str]) -> list[str]:
        """The command, started inside the group(s): `sh` joins them, then execs."""
        if self.mode == "none":
            return command
        joins = " && ".join(f"echo $$ > {d}/cgroup.procs" for d in self.dirs)
        return ["sh", "-c", f'{joins} && exec "$@"', "sh", *command]

    def usage_ns(self, pid: int) -> int:
        if self.mode == "v1":
            for d in self.dirs:
                if (d / "cpuacct.usage").exists():
                    return int((d / "cpuacct.usage").read_text())
        if self.mode == "v2":
            stat = (self.dirs[0] / "cpu.stat").read_text()
            return int(re.search(r"usage_usec (\d+)", stat).group(1)) * 1000  # type: ignore[union-attr]
        return _proc_tree_cpu_ns(pid)

    def throttled(self) -> int:
        if self.mode == "none":
            return 0
        stat = (self.dirs[0] / "cpu.stat").read_text()
        found = re.search(r"nr_throttled (\d+)", stat)
        return int(found.group(1)) if found else 0

    def remove(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(OSError):
                d.rmdir()


def _proc_tree_cpu_ns(pid: int) -> int:
    """CPU of a process and of its live children, from /proc (no cgroup)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return int(total * 1e9)


# -- nodes ----------------------------------------------------------------------------


@dataclass
class Node:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    quota: Quota


def start_node(data: Path, url: str, node_id: str, cores: float) -> Node:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({"MSS_DATA_DIR": str(data), "MSS_DATABASE__URL": url,
                "MSS_SERVER__NODE_ID": node_id, "MSS_LOGGING__FORMAT": "logfmt",
                # one process per node: the quota is the node's whatever it runs in
                "MSS_SMTP__MX_PROCESSES": "1", "MSS_IMAP__PROCESSES": "1"})
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    quota = Quota(f"mss-bench-{node_id}", cores)
    process = subprocess.Popen(
        quota.wrap([sys.executable, "-m", "mss", "serve"]), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env=env, text=True, cwd=ROOT)
    assert process.stdout is not None
    text = ""
    for line in process.stdout:
        text += line
        if line.startswith("ready"):
            break
    else:
        raise SystemExit(f"node {node_id} did not start:\n{text}")
    ports = {k.lower(): int(v) for k, v in re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", text)}
    return Node(process, ports, quota)


def stop(node: Node) -> None:
    node.process.send_signal(signal.SIGTERM)
    node.process.communicate(timeout=120)
    node.quota.remove()


# -- load -----------------------------------------------------------------------------


def message(sender: str, recipient: str, subject: str) -> bytes:
    head = (f"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4()}@bench>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n")
    return (head + "Compte rendu de consultation, suite du traitement.\r\n" * 78).encode()


async def open_sessions(nodes: list[Node], world: World, channel: str, workload: str,
                        sessions: int) -> list[tuple[aiosmtplib.SMTP, str, str]]:
    """Connected, TLS'd (and on submission logged-in) sessions: before the clock."""
    tls = ssl.create_default_context(cafile=str(world.ca_bundle))
    tls.check_hostname = False
    if channel == "mx":
        tls.load_cert_chain(world.client_chain, world.client_key)

    async def one(i: int) -> tuple[aiosmtplib.SMTP, str, str]:
        sender, recipient = world.hot if workload == "hot" else world.pairs[i % PAIRS]
        if channel == "mx":
            sender = f"peer{i}@{PEER_DOMAIN}"
        node = nodes[i % len(nodes)]
        if channel == "mx":
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=node.ports["mx"],
                                     start_tls=False, tls_context=tls, timeout=300)
            await client.connect()
            await client.starttls()
        else:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=node.ports["submissions"],
                                     use_tls=True, tls_context=tls, timeout=300)
            await client.connect()
            await client.login(sender, PASSWORD)
        return client, sender, recipient

    return list(await asyncio.gather(*(one(i) for i in range(sessions))))


@dataclass
class LockSamples:
    samples: int = 0
    waiting: dict[str, int] = field(default_factory=dict)  # kind -> samples with a wait
    any_wait: int = 0
    idle_in_tx: int = 0
    waiters: int = 0  # sum over samples of waiting backends
    idle_after: dict[str, int] = field(default_factory=dict)  # last statement -> samples


def _kind(query: str, event: str) -> str:
    lowered = query.lower()
    if event == "object":
        return "notify"
    if "audit_head" in lowered:
        return "audit head"
    if "folders" in lowered:
        return "folder rows"
    return "other"


async def sample_locks(admin_dsn: str, database: str, stop_event: asyncio.Event,
                       into: LockSamples) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        while not stop_event.is_set():
            rows = await conn.fetch(
                "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()", database)
            into.samples += 1
            kinds = {_kind(r["query"] or "", r["wait_event"] or "")
                     for r in rows if r["wait_event_type"] == "Lock"}
            waiting = sum(1 for r in rows if r["wait_event_type"] == "Lock")
            into.waiters += waiting
            if waiting:
                into.any_wait += 1
            for kind in kinds:
                into.waiting[kind] = into.waiting.get(kind, 0) + 1
            idle = [r for r in rows if r["state"] == "idle in transaction"]
            if idle:
                into.idle_in_tx += 1
            for r in idle:  # what the transaction ran last, held while its node works
                last = " ".join((r["query"] or "").split())[:60]
                into.idle_after[last] = into.idle_after.get(last, 0) + 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), 0.02)
    finally:
        await conn.close()


async def send_all(clients: list[tuple[aiosmtplib.SMTP, str, str]], total: int,
                   tag: str) -> float:
    per = total // len(clients)

    async def run(i: int) -> None:
        client, sender, recipient = clients[i]
        for n in range(per):
            await client.sendmail(sender, [recipient], message(sender, recipient,
                                                               f"{tag}-{i}-{n}"))

    began = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(len(clients))))
    return time.perf_counter() - began


@dataclass
class Result:
    rate: float
    cpu_ms: list[float]  # per node, per message of the run
    throttled: int
    locks: LockSamples


async def one_run(args: argparse.Namespace, count: int, channel: str,
                  workload: str) -> Result:
    name, url = await create_pg_db(args.pg)
    admin_dsn = args.pg.replace("+asyncpg", "")
    nodes: list[Node] = []
    with tempfile.TemporaryDirectory(prefix="mss-cluster-") as tmp:
        data = Path(tmp)
        try:
            world = await seed(data, url)
            for i in range(count):
                nodes.append(start_node(data, url, f"n{i}", args.quota))
            # warm-up (untimed): every node's code paths and caches
            warm = await open_sessions(nodes, world, channel, workload, len(nodes) * 2)
            await send_all(warm, len(warm) * 5, "warm")
            for client, _, _ in warm:
                await client.quit()
            clients = await open_sessions(nodes, world, channel, workload, args.sessions)
            cpu_before = [n.quota.usage_ns(n.process.pid) for n in nodes]
            throttled_before = sum(n.quota.throttled() for n in nodes)
            spies = [start_spy(n, Path(args.profile), f"{channel}-{workload}-{count}n-{i}")
                     for i, n in enumerate(nodes)] if args.profile else []
            locks = LockSamples()
            done = asyncio.Event()
            sampler = asyncio.create_task(sample_locks(admin_dsn, name, done, locks))
            elapsed = await send_all(clients, args.messages, "run")
            done.set()
            await sampler
            cpu_after = [n.quota.usage_ns(n.process.pid) for n in nodes]
            throttled = sum(n.quota.throttled() for n in nodes) - throttled_before
            for spy, path in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=120)
                print_profile(path)
            for client, _, _ in clients:
                await client.quit()
            sent = (args.messages // args.sessions) * args.sessions
            return Result(sent / elapsed,
                          [(a - b) / 1e6 / sent for a, b in zip(cpu_after, cpu_before,
                                                                 strict=True)],
                          throttled, locks)
        finally:
            for node in nodes:
                stop(node)
            await drop_pg_db(args.pg, name)


def start_spy(node: Node, folder: Path, label: str) -> tuple[subprocess.Popen[bytes], Path]:
    """py-spy sampling the node (and its worker processes) until interrupted."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{label}.txt"
    spy = subprocess.Popen(["py-spy", "record", "-p", str(node.process.pid), "-o", str(path),
                            "--format", "raw", "--rate", "200", "--subprocesses",
                            "--nonblocking"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return spy, path


def print_profile(path: Path, top: int = 25) -> None:
    """The functions with the most samples, inclusive, from py-spy's collapsed stacks
    (idle event loop waits left out)."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if frames and ("select (selectors.py" in frames[-1]
                       or ("_run_once" in frames[-1] and "select" in frames[-1])):
            continue
        if any("select (selectors.py" in f or "wait (threading.py" in f
               or "_worker (concurrent" in f for f in frames[-2:]):
            continue
        n = int(count)
        total += n
        for frame in dict.fromkeys(f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")")
                                   for f in frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
    print(f"  profile {path.name}: {total} busy samples", flush=True)
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {n / max(1, total):>5.0%} {frame}", flush=True)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", required=True, help="PostgreSQL admin URL")
    parser.add_argument("--nodes", default="1,2,4")
    parser.add_argument("--quota", type=float, default=0.4, help="cores per node")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--workloads", default="hot,spread")
    parser.add_argument("--channels", default="submission,mx")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", default="",
                        help="a folder: py-spy samples each node while it is timed, and "
                             "the busiest functions are printed")
    parser.add_argument("--verbose", action="store_true",
                        help="also what idle-in-transaction backends ran last")
    args = parser.parse_args()
    counts = [int(n) for n in args.nodes.split(",")]
    print(f"cluster ingest: {args.messages} x 4 KB per run, {args.sessions} sessions, "
          f"quota {args.quota} core per node, logins untimed; {_load()}", flush=True)
    print(f"{'channel':<10} {'workload':<7} {'nodes':>5} {'msg/s':>7} {'ratio':>6} "
          f"{'CPU ms/msg (per node)':<28} {'thrott':>6} {'lock-wait %':>11} "
          f"{'by kind':<40} {'idle-in-tx %':>12}", flush=True)
    for channel in args.channels.split(","):
        for workload in args.workloads.split(","):
            rates: dict[int, list[float]] = {}
            for _ in range(args.rounds):
                for count in counts:
                    r = await one_run(args, count, channel, workload)
                    rates.setdefault(count, []).append(r.rate)
                    base = sum(rates[counts[0]]) / len(rates[counts[0]])
                    ls = r.locks
                    kinds = ", ".join(f"{k} {v / max(1, ls.samples):.0%}"
                                      for k, v in sorted(ls.waiting.items()))
                    per_node = " ".join(f"{c:.1f}" for c in r.cpu_ms)
                    print(f"{channel:<10} {workload:<7} {count:>5} {r.rate:>7.1f} "
                          f"{r.rate / base:>6.2f} {sum(r.cpu_ms):>5.1f} ({per_node})"
                          f"{'':<{max(0, 20 - len(per_node))}} {r.throttled:>6} "
                          f"{ls.any_wait / max(1, ls.samples):>11.0%} {kinds or '-':<40} "
                          f"{ls.idle_in_tx / max(1, ls.samples):>12.0%}  [{_load()}]",
                          flush=True)
                    if args.verbose:
                        top = sorted(ls.idle_after.items(), key=lambda kv: -kv[1])[:4]
                        for text, n in top:
                            print(f"    idle in transaction after: {n / ls.samples:.0%} {text}")
    print("CPU ms/msg: the nodes' CPU (their cgroups) over the run / messages sent; "
          "ratio: msg/s over the first node count's (mean of rounds)")


if __name__ == "__main__":
    asyncio.run(main())
