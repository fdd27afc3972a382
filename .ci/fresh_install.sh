#!/usr/bin/env bash
# Proves the README's first block on a clean machine: a new venv, `pip install -e .` with
# no extras, `mss serve --demo` on a temporary data folder and free ports; every listener
# must answer (SMTP banners, IMAP greetings, HTTP 200 on /health), then SIGTERM must stop
# the server cleanly. Any failure fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -9 "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -e . >"$work/pip.log" 2>&1 \
  || { cat "$work/pip.log"; echo "fresh install: pip install -e . failed"; exit 1; }
"$work/venv/bin/mss" --version

# Free ports, chosen by the kernel, for each listener.
read -r mx sub subs imap imaps http admin < <("$work/venv/bin/python" - <<'PY'
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)
export MSS_LISTENERS__MX__PORT=$mx MSS_LISTENERS__SUBMISSION__PORT=$sub \
  MSS_LISTENERS__SUBMISSIONS__PORT=$subs MSS_LISTENERS__IMAP__PORT=$imap \
  MSS_LISTENERS__IMAPS__PORT=$imaps MSS_LISTENERS__HTTP__PORT=$http \
  MSS_LISTENERS__ADMIN__PORT=$admin
"$work/venv/bin/mss" --data "$work/data" serve --demo >"$work/serve.log" 2>&1 &
server_pid=$!

"$work/venv/bin/python" - "$work/serve.log" "$server_pid" <<'PY'
import os, socket, ssl, sys, time, urllib.request

log_path, pid = sys.argv[1], int(sys.argv[2])
env = os.environ
deadline = time.monotonic() + 60  # the demo seeds in a few seconds; a minute is the budget
while "ready" not in open(log_path, encoding="utf-8", errors="replace").read():
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("fresh install: mss serve --demo exited before it was ready:\n" + open(log_path).read())
    if time.monotonic() > deadline:
        sys.exit("fresh install: mss serve --demo not ready within 60 s:\n" + open(log_path).read())
    time.sleep(0.2)

def first_line(port: int, implicit_tls: bool) -> bytes:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    if implicit_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = ctx.wrap_socket(raw)
    with raw:
        return raw.makefile("rb").readline()

checks = [
    ("submission", int(env["MSS_LISTENERS__SUBMISSION__PORT"]), False, b"220 "),
    ("submissions", int(env["MSS_LISTENERS__SUBMISSIONS__PORT"]), True, b"220 "),
    ("imap", int(env["MSS_LISTENERS__IMAP__PORT"]), False, b"* OK"),
    ("imaps", int(env["MSS_LISTENERS__IMAPS__PORT"]), True, b"* OK"),
]
failed = False
for name, port, tls, expect in checks:
    try:
        line = first_line(port, tls)
    except OSError as exc:
        line = repr(exc).encode()
    ok = line.startswith(expect)
    failed |= not ok
    print(f"fresh install: {name} :{port} {'answers' if ok else 'FAILED'}: {line[:80]!r}")
# The MX wants a peer certificate: it must at least accept the TCP connection and speak TLS or SMTP.
try:
    socket.create_connection(("127.0.0.1", int(env["MSS_LISTENERS__MX__PORT"])), timeout=10).close()
    print("fresh install: mx accepts connections")
except OSError as exc:
    failed = True
    print(f"fresh install: mx FAILED: {exc!r}")
health_ports = [int(env["MSS_LISTENERS__HTTP__PORT"])]
if env.get("MSS_LISTENERS__ADMIN__PORT"):
    health_ports.insert(0, int(env["MSS_LISTENERS__ADMIN__PORT"]))
for port in health_ports:
    try:
        status = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10).status
    except Exception as exc:  # noqa: BLE001 - any failure is reported
        status = repr(exc)
    print(f"fresh install: /health on :{port} -> {status}")
    if status == 200:
        break
else:
    failed = True
sys.exit(1 if failed else 0)
PY

kill -TERM "$server_pid"
for _ in $(seq 1 150); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$server_pid" 2>/dev/null; then
  cat "$work/serve.log"; echo "fresh install: mss serve did not stop on SIGTERM within 30 s"; exit 1
fi
wait "$server_pid" && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 143 ]; then
  cat "$work/serve.log"; echo "fresh install: mss serve exited $rc after SIGTERM"; exit 1
fi
server_pid=""
echo "fresh install: OK (pip install -e ., mss serve --demo answered on every listener, stopped on SIGTERM)"
