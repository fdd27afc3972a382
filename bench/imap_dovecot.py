"""The IMAP mix of `bench/imap_load.py` against Dovecot, for the comparison issue #6 asks.

    apt-get install -y dovecot-imapd   # Debian's package; this script starts its own
    python bench/imap_dovecot.py [--clients 20] [--seconds 15] [--messages 10000]

A private Dovecot (maildir, passwd-file, TLS with a dev PKI certificate) runs on a
temporary folder and port, as root with Debian's `dovecot`/`dovenull` users; the same
client mix logs in with LOGIN. Run `bench/imap_load.py` with the same arguments for
MSS's figures. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.imap_load import MIX_FOLDER, message, mix_client, percentile
from mss.certs import ensure_server_pki
from mss.config import load_settings

USER, PASSWORD = "bench@mss.localhost", "bench-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dovecot_conf(root: Path, port: int, *, passdb_args: str = "", extra: str = "") -> str:
    """A private Dovecot on `root`: passwd-file users, maildir homes, implicit TLS on
    `port` with `root`/cert.pem and key.pem; `extra` lines go before the blocks."""
    return f"""base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 100
{extra}passdb {{
  driver = passwd-file
  args = {passdb_args + " " if passdb_args else ""}username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
mail_location = maildir:~/Maildir
protocol imap {{
  mail_max_userip_connections = 1000
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


def configure(root: Path, port: int) -> Path:
    pki = ensure_server_pki(load_settings(environ={}, overrides={"data_dir": str(root / "mss")}))
    shutil.copy(pki.paths.server_chain, root / "cert.pem")
    shutil.copy(pki.paths.server_key, root / "key.pem")
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = root / "dovecot.conf"
    config.write_text(dovecot_conf(root, port, passdb_args="scheme=PLAIN"))
    return config


def populate(root: Path, count: int) -> None:
    """The same messages as MSS's benchmark, as maildir files of one folder."""
    maildir = root / "home" / USER / "Maildir"
    for sub in ("cur", "new", "tmp", f".{MIX_FOLDER}/cur", f".{MIX_FOLDER}/new",
                f".{MIX_FOLDER}/tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    for n in range(count):
        (maildir / f".{MIX_FOLDER}" / "cur" / f"{stamp}.M{n}P1.bench:2,").write_bytes(
            message(n).replace(b"\r\n", b"\n"))
    subprocess.run(["chown", "-R", "dovecot:dovecot", str(root / "home")], check=True)


async def run(args: argparse.Namespace) -> None:
    if shutil.which("dovecot") is None:
        print("dovecot is not installed (apt-get install -y dovecot-imapd)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)  # Dovecot's users read their maildir and the run folder
        port = free_port()
        config = configure(root, port)
        populate(root, args.messages)
        server = subprocess.Popen(["dovecot", "-F", "-c", str(config)])
        try:
            context = ssl.create_default_context(
                cafile=str(root / "mss" / "pki" / "ca-bundle.pem"))
            for _ in range(100):  # Dovecot is ready when its port answers
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            timings: dict[str, list[float]] = {}
            until = time.perf_counter() + args.seconds
            login = f'LOGIN "{USER}" "{PASSWORD}"'
            await asyncio.gather(*(mix_client(port, context, until, args.messages, timings,
                                              login) for _ in range(args.clients)))
            total = sum(len(v) for v in timings.values())
            print(f"Dovecot mix: {args.clients} clients, {args.messages} messages: "
                  f"{total / args.seconds:.0f} operations/s")
            for name, values in sorted(timings.items()):
                print(f"  {name:<26} n={len(values):>6} p50={statistics.median(values) * 1000:8.1f}"
                      f" ms p99={percentile(values, 0.99) * 1000:8.1f} ms")
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--messages", type=int, default=10_000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
