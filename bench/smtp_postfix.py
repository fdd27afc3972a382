"""The MX ingest of `bench/smtp_ingest.py` against Postfix, to calibrate issue #5's target.

    apt-get install -y postfix   # Debian's package; this script starts its own instance
    python bench/smtp_postfix.py [--count 1000] [--sessions 1,32] [--size 4096]

A private Postfix (its own configuration, queue and port on a temporary folder, run as
root with Debian's `postfix` user) accepts mail for the bench domain the way the MX
does: STARTTLS required, a client certificate from the dev PKI required, and `250`
only once the queue file is fsynced; accepted mail is then discarded (the figure is
acceptance, as MSS's is). The same aiosmtplib client and messages as
`bench/smtp_ingest.py`; Postfix's CPU is its master and every child's. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_support import ensure_debian_package
from bench.smtp_ingest import SERVER_DOMAIN, _cpu_seconds, percentile, run_load
from mss.certs import DevPki, ca_client_context

SERVICES = """\
{port} inet n - n - 200 smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def configure(root: Path, port: int, pki: DevPki, server_chain: Path, server_key: Path) -> Path:
    etc = root / "etc"
    etc.mkdir()
    for name in ("dynamicmaps.cf", "postfix-files"):
        shutil.copy(Path("/etc/postfix") / name, etc / name)
    for folder in ("postfix-files.d", "dynamicmaps.cf.d"):
        if (Path("/etc/postfix") / folder).is_dir():
            shutil.copytree(Path("/etc/postfix") / folder, etc / folder)
    (etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
meta_directory = {etc}
mail_owner = postfix
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.{SERVER_DOMAIN}
mydestination = {SERVER_DOMAIN}
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
local_transport = discard:
default_transport = discard:
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = encrypt
smtpd_tls_req_ccert = yes
smtpd_tls_cert_file = {server_chain}
smtpd_tls_key_file = {server_key}
smtpd_tls_CAfile = {pki.paths.ca_bundle}
smtpd_tls_loglevel = 0
smtpd_client_connection_count_limit = 0
default_process_limit = 200
""")
    (etc / "master.cf").write_text(SERVICES.format(port=f"127.0.0.1:{port}"))
    (root / "spool").mkdir()
    (root / "data").mkdir()
    shutil.chown(root / "data", "postfix", "postfix")  # the master's lock and caches
    return etc


def postfix_cpu(root: Path) -> float:
    """CPU seconds of the instance: the master with its reaped children, and the live
    children (every process whose command line names this instance's folders or that
    descends from its master)."""
    pid_file = root / "spool" / "pid" / "master.pid"
    master = int(pid_file.read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry.name), int(fields[1])
        if pid == master:
            total += sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
        elif parent == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--sessions", default="1,32")
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    if not ensure_debian_package("postfix", "postfix"):
        print("postfix could not be installed: apt-get install -y postfix")
        return 1
    root = Path(tempfile.mkdtemp(prefix="mss-postfix-"))
    os.chmod(root, 0o755)
    try:
        pki = DevPki.init(root / "pki")
        server = pki.issue_operator(f"mx.{SERVER_DOMAIN}", "2000000002", "BENCH B",
                                    "Paris (75)")
        client_cert = pki.issue_operator("mx.bench-a.localhost", "2000000001", "BENCH A",
                                         "Paris (75)")
        for path in (server.chain_path, server.key_path, pki.paths.ca_bundle):
            os.chmod(path, 0o644 if path != server.key_path else 0o600)
        port = free_port()
        etc = configure(root, port, pki, server.chain_path, server.key_path)
        started = subprocess.run(["postfix", "-c", str(etc), "start"], text=True,
                                 capture_output=True)
        if started.returncode != 0:
            print(f"postfix did not start: {started.stderr.strip()}")
            return 1
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # waiting for a daemon to listen, outside any measurement
        context = ca_client_context(pki.paths.ca_bundle, cert_chain=client_cert.chain_path,
                                    key=client_cert.key_path)
        context.check_hostname = False
        print(f"Postfix {subprocess.run(['postconf', '-d', '-h', 'mail_version'], text=True, capture_output=True).stdout.strip()}"  # noqa: E501
              ": STARTTLS + client certificate required, queue file fsynced before 250")
        print(f"{'size':>7} {'K':>3} {'N':>5} {'msg/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'srv CPU/msg ms':>14} {'cli CPU/msg ms':>14}")
        for sessions in (int(k) for k in args.sessions.split(",")):
            server_before, client_before = postfix_cpu(root), _cpu_seconds()
            elapsed, latencies = asyncio.run(run_load(
                port, context, f"dest@{SERVER_DOMAIN}", args.count, args.size, sessions))
            server_cpu = postfix_cpu(root) - server_before
            client_cpu = _cpu_seconds() - client_before
            print(f"{args.size // 1024:>5}KB {sessions:>3} {args.count:>5} "
                  f"{args.count / elapsed:>8.0f} {percentile(latencies, 0.5) * 1e3:>7.1f} "
                  f"{percentile(latencies, 0.99) * 1e3:>7.1f} "
                  f"{server_cpu / args.count * 1e3:>14.2f} "
                  f"{client_cpu / args.count * 1e3:>14.2f}", flush=True)
    finally:
        if (root / "etc").exists():
            subprocess.run(["postfix", "-c", str(root / "etc"), "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
