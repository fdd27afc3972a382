"""IMAP stress as real clients load a server, MSS and a private Dovecot in one run.

    # Debian's Dovecot 2.3 (installed by this script when missing); it starts its own
    python bench/imap_stress.py [--clients 16] [--seconds 20] [--rounds 1]
        [--target both|mss|dovecot] [--variant all|cycle|open|login]

16 clients on 16 users, each INBOX kept near 30 messages drawn from a generated mbox of
1,000 varied messages (about 24 KB on average: plain, quoted-printable and base64 bodies,
PDF and image attachments, several time zones). Each client loops:

- `cycle`: connect with TLS, LOGIN, LIST "" "*", STATUS (MESSAGES UNSEEN UIDNEXT) of each
  folder, SELECT INBOX, FETCH (FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)
  of a random range, FETCH BODY.PEEK[] of some messages, STORE +/-FLAGS with system flags
  and keywords ($Label1..$Label5), STORE \\Deleted + EXPUNGE, APPEND, LOGOUT;
- `open`: the same session kept open, looping from SELECT (the sessions are opened and
  logged in before the clock and the CPU count start: the loop alone is measured);
- `login`: connect with TLS, LOGIN, LOGOUT: what one login costs the server.

Both servers use argon2id passwords of the same cost (MSS's own hasher; Dovecot's
`{ARGON2ID}` scheme reads the same PHC string) and both cache verified passwords for an
hour: MSS's `auth.password_cache_seconds = 3600` (its default), Dovecot's
`auth_cache_size = 10M`, `auth_cache_ttl = 1 hour` (Dovecot's default is no cache).
Prints commands/s, p50/p99 per command, server CPU per command (the server's whole
process tree), RSS, errors, and the ratio MSS / Dovecot. Asserts nothing: a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import ensure_debian_package
from bench.imap_dovecot import dovecot_conf

USERS_DOMAIN = "mss.localhost"
PASSWORD = "stress-password-2026"
KEEP = 30  # messages kept in each INBOX
FOLDERS = ("Drafts", "Sent", "Trash", "Archives")
KEYWORDS = tuple(f"$Label{n}" for n in range(1, 6))
SYSTEM_FLAGS = ("\\Seen", "\\Flagged", "\\Answered")
ZONES = (0, 1, 2, -5, -8, 5.5, 9, -3)


def user(n: int) -> str:
    return f"stress{n:02d}@{USERS_DOMAIN}"


# -- the corpus ---------------------------------------------------------------------------


def corpus(count: int = 1000, seed: int = 2026) -> list[bytes]:
    """Varied messages of about 24 KB on average, the same for both servers."""
    rng = random.Random(seed)
    words = ("résultat", "bilan", "tension", "patient", "consultation", "examen", "normal",
             "contrôle", "traitement", "ordonnance", "suivi", "échographie", "cardiaque")
    messages = []
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    for n in range(count):
        zone = timezone(timedelta(hours=ZONES[n % len(ZONES)]))
        when = (start + timedelta(minutes=37 * n)).astimezone(zone)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(400, 3800)))
        lines = [text[i:i + 72] for i in range(0, len(text), 72)]
        head = (f"From: Dr Auteur {n % 11} <auteur{n % 11}@{USERS_DOMAIN}>\r\n"
                f"To: <{user(n % 16 + 1)}>\r\n"
                f"Subject: Compte rendu {n} =?utf-8?q?r=C3=A9sultat?=\r\n"
                f"Date: {format_datetime(when)}\r\nMessage-ID: <stress-{n}@{USERS_DOMAIN}>\r\n"
                "MIME-Version: 1.0\r\n")
        kind = n % 4
        if kind == 0:
            body = "\r\n".join(lines).encode()
            messages.append((head + "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + body + b"\r\n")
            continue
        if kind == 1:
            qp = "\r\n".join(line.replace("é", "=C3=A9").replace("ô", "=C3=B4") + "="
                             for line in lines)
            messages.append((head + "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp
                             + "\r\n").encode())
            continue
        boundary = f"=_stress_{n}"
        attachment = rng.randbytes(rng.randint(4_000, 30_000))
        name, ctype = (("compte-rendu.pdf", "application/pdf") if kind == 2
                       else ("cliche.jpg", "image/jpeg"))
        encoded = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
        parts = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n"
                 + base64.encodebytes("\n".join(lines[:20]).encode()).decode()
                 .replace("\n", "\r\n")
                 + f"--{boundary}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
                 f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n" + encoded
                 + f"--{boundary}--\r\n")
        messages.append((head + f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n"
                         "\r\n" + parts).encode())
    return messages


# -- process accounting ------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                tree.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except (OSError, IndexError):
                continue
    return tree


def process_tree(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live descendants and the children they reaped."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = _stat(member)
        except OSError:
            continue
        ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_mb(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the servers -------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    context: ssl.SSLContext


async def prepare_mss(root: Path, users: int) -> Path:
    from mss.config import load_settings
    from mss.directory.mailbox_accounts import ProfessionalIdentity, create_per_mailbox
    from mss.directory.passwords import set_password
    from mss.directory.synthetic_extract import rpps_for
    from mss.store.store import Store

    data = root / "mss"
    settings = load_settings(environ={}, overrides={"data_dir": str(data)})
    store = await Store.open(settings, create=True)
    try:
        for n in range(1, users + 1):
            identity = ProfessionalIdentity(rpps_for(900 + n), f"STRESS{n}", "Test", "Dr",
                                            "10", "Médecin")
            await create_per_mailbox(store, address=user(n), professional=identity)
            await set_password(store, user(n), PASSWORD)
    finally:
        await store.close()
    return data


def start_mss(data: Path) -> Server:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    from dataclasses import fields

    from mss.config import ListenerSettings, ListenersSettings

    ports = {f.name.upper(): free_port() for f in fields(ListenersSettings)
             if f.type in (ListenerSettings, "ListenerSettings")}
    env.update({f"MSS_LISTENERS__{name}__PORT": str(port) for name, port in ports.items()})
    log = open(data / "serve.log", "wb")  # noqa: SIM115 - kept open for the child's life
    process = subprocess.Popen([sys.executable, "-m", "mss", "--data", str(data), "serve"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while b"ready" not in (data / "serve.log").read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("mss serve did not start:\n" + (data / "serve.log").read_text())
        time.sleep(0.1)
    context = ssl.create_default_context(cafile=str(data / "pki" / "ca-bundle.pem"))
    return Server("MSS", ports["IMAPS"], process, context)


def start_dovecot(root: Path, users: int, ca_data: Path) -> Server:
    from argon2 import PasswordHasher, Type

    from mss.directory.passwords import DEFAULT_HASHER

    pki = ca_data / "pki"
    home = root / "dovecot"
    (home / "run").mkdir(parents=True)
    os.chmod(root, 0o755)
    os.chmod(home, 0o755)
    shutil.copy(pki / "server-chain.pem", home / "cert.pem")  # MSS's own server certificate
    shutil.copy(pki / "private" / "server.key", home / "key.pem")
    hasher = PasswordHasher(DEFAULT_HASHER.time_cost, DEFAULT_HASHER.memory_cost,
                            DEFAULT_HASHER.parallelism, DEFAULT_HASHER.hash_len,
                            DEFAULT_HASHER.salt_len, type=Type.ID)
    (home / "passwd").write_text("".join(
        f"{user(n)}:{{ARGON2ID}}{hasher.hash(PASSWORD)}\n" for n in range(1, users + 1)))
    port = free_port()
    folders = "".join(f"  mailbox {name} {{\n    auto = create\n  }}\n" for name in FOLDERS)
    config = home / "dovecot.conf"
    config.write_text(dovecot_conf(home, port, extra=(
        "auth_cache_size = 10M\nauth_cache_ttl = 1 hour\nmail_fsync = always\n"
        f"namespace inbox {{\n  inbox = yes\n  separator = /\n{folders}}}\n")))
    (home / "home").mkdir()
    subprocess.run(["chown", "-R", "dovecot:dovecot", str(home / "home")], check=True)
    process = subprocess.Popen(["dovecot", "-F", "-c", str(config)])
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("dovecot did not start") from None
            time.sleep(0.1)
    context = ssl.create_default_context(cafile=str(pki / "ca-bundle.pem"))
    return Server("Dovecot", port, process, context)


# -- the client ----------------------------------------------------------------------------


class ImapError(Exception):
    """A tagged NO or BAD."""


class Client:
    """A small IMAP client: one command at a time, literals read whole."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.n = reader, writer, 0

    @classmethod
    async def connect(cls, server: Server) -> Client:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=server.context, server_hostname="localhost",
            limit=1 << 20)
        await reader.readline()
        return cls(reader, writer)

    async def _line(self) -> bytes:
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        while line.endswith(b"}\r\n"):
            size = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
            line += await self.reader.readexactly(size)
            line += await self.reader.readline()
        return line

    async def command(self, text: str, literal: bytes | None = None) -> list[bytes]:
        self.n += 1
        tag = f"s{self.n}".encode()
        data = tag + b" " + text.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.writer.write(data + b"\r\n")
        lines = []
        while True:
            line = await self._line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise ImapError(line[:200])
                return lines
            lines.append(line)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self.writer.wait_closed()


@dataclass
class Tally:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def commands(self) -> int:
        return sum(len(v) for v in self.timings.values())


async def timed(tally: Tally, name: str, call: Callable[[], object]) -> list[bytes]:
    started = time.perf_counter()
    try:
        result = await call()  # type: ignore[misc]
    except ImapError:
        tally.errors[name] = tally.errors.get(name, 0) + 1
        return []
    tally.timings.setdefault(name, []).append(time.perf_counter() - started)
    return result  # type: ignore[no-any-return]


def _exists(lines: list[bytes]) -> int:
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[2] == b"EXISTS":
            return int(parts[1])
    return 0


async def mailbox_work(client: Client, tally: Tally, rng: random.Random,
                       messages: list[bytes]) -> None:
    """From SELECT to APPEND: what a client does in a mailbox it has open."""
    exists = _exists(await timed(tally, "SELECT", lambda: client.command("SELECT INBOX")))
    if exists:
        low = rng.randint(1, exists)
        high = min(exists, low + rng.randint(0, 20))
        await timed(tally, "FETCH headers", lambda: client.command(
            f"FETCH {low}:{high} (FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)"))
        for _ in range(rng.randint(1, 3)):
            seq = rng.randint(1, exists)
            await timed(tally, "FETCH BODY[]",
                        lambda seq=seq: client.command(f"FETCH {seq} BODY.PEEK[]"))
        flags = " ".join(rng.sample(SYSTEM_FLAGS, 1) + rng.sample(KEYWORDS, 2))
        sign = rng.choice("+-")
        seq = rng.randint(1, exists)
        await timed(tally, "STORE flags",
                    lambda: client.command(f"STORE {seq} {sign}FLAGS ({flags})"))
    if exists > KEEP:
        doomed = rng.randint(1, exists)
        await timed(tally, "STORE \\Deleted",
                    lambda: client.command(f"STORE {doomed} +FLAGS.SILENT (\\Deleted)"))
        await timed(tally, "EXPUNGE", lambda: client.command("EXPUNGE"))
    raw = rng.choice(messages)
    await timed(tally, "APPEND", lambda: client.command("APPEND INBOX (\\Seen)", raw))


async def login_work(client: Client, tally: Tally, login: str) -> None:
    await timed(tally, "LOGIN", lambda: client.command(f'LOGIN "{login}" "{PASSWORD}"'))
    listed = await timed(tally, "LIST", lambda: client.command('LIST "" "*"'))
    for line in listed:
        name = line.rsplit(b" ", 1)[-1].strip().decode()
        await timed(tally, "STATUS", lambda name=name: client.command(
            f"STATUS {name} (MESSAGES UNSEEN UIDNEXT)"))


async def stress_client(server: Server, n: int, variant: str, until: float, tally: Tally,
                        messages: list[bytes], opened: Client | None = None) -> None:
    rng = random.Random(n)
    login = user(n)
    if variant == "login":  # what one login costs: TLS handshake, LOGIN, LOGOUT
        while time.perf_counter() < until:
            client = await Client.connect(server)
            await timed(tally, "LOGIN", lambda c=client: c.command(
                f'LOGIN "{login}" "{PASSWORD}"'))
            await timed(tally, "LOGOUT", lambda c=client: c.command("LOGOUT"))
            await client.close()
        return
    if variant == "open":  # logged in before the clock starts: the loop is from SELECT
        assert opened is not None
        while time.perf_counter() < until:
            await mailbox_work(opened, tally, rng, messages)
        await opened.close()
        return
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            client = await Client.connect(server)
        except (OSError, ssl.SSLError):
            tally.errors["connect"] = tally.errors.get("connect", 0) + 1
            continue
        tally.timings.setdefault("connect+TLS", []).append(time.perf_counter() - started)
        try:
            await login_work(client, tally, login)
            await mailbox_work(client, tally, rng, messages)
            await timed(tally, "LOGOUT", lambda c=client: c.command("LOGOUT"))
        except (ConnectionError, OSError) as exc:
            tally.errors[type(exc).__name__] = tally.errors.get(type(exc).__name__, 0) + 1
        finally:
            await client.close()


async def fill(server: Server, users: int, messages: list[bytes]) -> None:
    """Each INBOX (and the extra folders MSS does not create itself) holds KEEP messages."""
    async def one(n: int) -> None:
        client = await Client.connect(server)
        await client.command(f'LOGIN "{user(n)}" "{PASSWORD}"')
        for name in FOLDERS:
            with contextlib.suppress(ImapError):  # already there
                await client.command(f"CREATE {name}")
        for k in range(KEEP):
            await client.command("APPEND INBOX", messages[(n * KEEP + k) % len(messages)])
        await client.command("LOGOUT")
        await client.close()

    await asyncio.gather(*(one(n) for n in range(1, users + 1)))


@dataclass
class Run:
    server: str
    variant: str
    seconds: float
    tally: Tally
    cpu: float
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.tally.commands() / self.seconds


def start_profile(server: Server, path: str) -> subprocess.Popen[bytes]:
    """py-spy over the server's process tree while one run lasts (speedscope or SVG by the
    file's suffix): where the server's CPU goes under this load."""
    fmt = {".json": "speedscope", ".txt": "raw"}.get(Path(path).suffix, "flamegraph")
    return subprocess.Popen(["py-spy", "record", "--subprocesses", "--nonblocking", "--threads",
                             "--rate", "200", "--format", fmt, "-o", path, "--pid",
                             str(server.process.pid)], stdout=subprocess.DEVNULL)


async def measure(server: Server, variant: str, clients: int, seconds: float,
                  messages: list[bytes], profile: str | None = None) -> Run:
    tally = Tally()
    peak = 0.0
    sessions: list[Client | None] = [None] * clients
    if variant == "open":  # sessions opened (TLS, LOGIN, LIST, STATUS) before measuring
        async def open_one(n: int) -> Client:
            client = await Client.connect(server)
            await login_work(client, Tally(), user(n))
            return client

        sessions = list(await asyncio.gather(*(open_one(n) for n in range(1, clients + 1))))
    spy = None
    if profile:
        Path(profile).parent.mkdir(parents=True, exist_ok=True)
        spy = start_profile(server, profile)
    cpu_before = tree_cpu(server.process.pid)
    started = time.perf_counter()
    until = started + seconds
    work = asyncio.gather(*(stress_client(server, n, variant, until, tally, messages,
                                          sessions[n - 1])
                            for n in range(1, clients + 1)))
    while not work.done():
        peak = max(peak, tree_rss_mb(server.process.pid))
        await asyncio.wait([work], timeout=0.5)
    await work
    elapsed = time.perf_counter() - started
    cpu = tree_cpu(server.process.pid) - cpu_before
    if spy is not None:
        spy.send_signal(2)  # SIGINT: py-spy writes its profile and exits
        spy.wait(timeout=60)
    return Run(server.name, variant, elapsed, tally, cpu, peak)


def report(run: Run) -> None:
    commands = run.tally.commands()
    print(f"\n{run.server} [{run.variant}]: {run.rate:.0f} commands/s over {run.seconds:.1f} s, "
          f"server CPU {run.cpu * 1000 / max(commands, 1):.2f} ms/command, peak RSS "
          f"{run.rss_mb:.0f} MB, errors {sum(run.tally.errors.values())} {run.tally.errors}")
    for name, values in sorted(run.tally.timings.items()):
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"  {name:<16} n={len(values):>6} {len(values) / run.seconds:>7.1f}/s "
              f"p50={statistics.median(values) * 1000:8.1f} ms p99={p99 * 1000:8.1f} ms")


def _p99(runs: list[Run], names: tuple[str, ...]) -> float:
    values = sorted(v for r in runs for name in names for v in r.tally.timings.get(name, []))
    return values[min(len(values) - 1, int(len(values) * 0.99))] * 1000 if values else 0.0


def summary(runs: list[Run]) -> Iterator[str]:
    """One `figure  MSS  Dovecot  ratio` line per comparison (read by bench/run_all.py)."""
    yield f"{'comparison':<34} {'MSS':>10} {'Dovecot':>10} {'ratio':>7}"
    for variant in ("cycle", "open", "login"):
        mss = [r for r in runs if r.server == "MSS" and r.variant == variant]
        dove = [r for r in runs if r.server == "Dovecot" and r.variant == variant]
        if not mss:
            continue
        rows = [(f"{variant}: commands/s", lambda rs: statistics.mean(r.rate for r in rs)),
                (f"{variant}: server CPU ms/command", lambda rs: statistics.mean(
                    r.cpu * 1000 / max(r.tally.commands(), 1) for r in rs)),
                (f"{variant}: peak RSS MB", lambda rs: max(r.rss_mb for r in rs))]
        if variant == "login":
            rows.append(("login: server CPU ms/login", lambda rs: statistics.mean(
                r.cpu * 1000 / max(len(r.tally.timings.get("LOGIN", [])), 1) for r in rs)))
        if variant == "cycle":
            rows.append(("cycle: LIST/STATUS p99 ms", lambda rs: _p99(rs, ("LIST", "STATUS"))))
        for name, figure in rows:
            m = figure(mss)
            d = figure(dove) if dove else 0.0
            ratio = f"{m / d:7.2f}" if d else "      -"
            yield f"{name:<34} {m:>10.2f} {d:>10.2f} {ratio}"


async def main_async(args: argparse.Namespace) -> None:
    messages = corpus()
    average = sum(map(len, messages)) / len(messages) / 1024
    print(f"corpus: {len(messages)} messages, {average:.1f} KB on average")
    targets = ["mss", "dovecot"] if args.target == "both" else [args.target]
    if "dovecot" in targets and not ensure_debian_package("dovecot", "dovecot-imapd"):
        raise SystemExit("dovecot could not be installed (apt-get install -y dovecot-imapd)")
    variants = ["cycle", "open", "login"] if args.variant == "all" else [args.variant]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = await prepare_mss(root, args.clients)
        servers: dict[str, Server] = {}
        try:
            servers["mss"] = start_mss(data)
            if "dovecot" in targets:
                servers["dovecot"] = start_dovecot(root, args.clients, data)
            for name in targets:
                await fill(servers[name], args.clients, messages)
            runs = []
            for _ in range(args.rounds):
                for variant in variants:
                    for name in targets:  # alternated, so that drift hits both
                        profile = (str(Path(args.profile).with_stem(
                            f"{Path(args.profile).stem}-{variant}"))
                            if args.profile and name == "mss" else None)
                        run = await measure(servers[name], variant, args.clients,
                                            args.seconds, messages, profile)
                        report(run)
                        runs.append(run)
            print()
            for line in summary(runs):
                print(line)
        finally:
            for server in servers.values():
                server.process.terminate()
                server.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--target", choices=("both", "mss", "dovecot"), default="both")
    parser.add_argument("--variant", choices=("all", "cycle", "open", "login"), default="all")
    parser.add_argument("--profile", metavar="FILE",
                        help="py-spy profile of MSS per variant (FILE.json: speedscope, FILE.txt: "
                             "collapsed stacks, else a flame graph); py-spy must be on PATH")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
