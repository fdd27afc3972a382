"""Debian's HAProxy in front of two `mss serve` nodes on one PostgreSQL (issue 24 §4).

TCP mode with `send-proxy-v2` for submissions (465) and IMAPS (993), HTTP mode with
`option forwardfor` for the web; every port on loopback, the nodes' on port 0, HAProxy's
picked free. Mail is sent and IMAP clients IDLE through HAProxy; one node is killed
(SIGKILL) while sessions run on it: new sessions go to the other node (HAProxy's
redispatch), every message acknowledged with 250 is in the mailbox, the IDLE client that
was on the dead node reconnects and, like the other, sees every message. The client
address the nodes log and write in `Received:` is the one HAProxy's header names
(clients connect from 127.0.0.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from mss.demo import DemoWorld
from tests.cluster.test_node_processes import Node, node_env, tls_context, world_of
from tests.conftest import PG_URL

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL"),
    pytest.mark.skipif(not Path(HAPROXY).exists(), reason="HAProxy is installed by .ci/run"),
]
CLIENT = "127.0.0.2"  # the clients' source address, as the nodes must see it
TIMEOUT = 60  # seconds: a failure bound for each wait, never a synchronisation


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_node(settings, node_id: str, log: Path, *, demo: bool) -> Node:
    """`mss serve` behind the balancer: every listener on port 0, 127.0.0.1 trusted to
    send PROXY headers and X-Forwarded-For; its log lines kept in `log`."""
    env = node_env(settings, MSS_SERVER__NODE_ID=node_id,
                   MSS_LISTENERS__PROXY_TRUSTED_NETWORKS="127.0.0.1")
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    command = [sys.executable, "-m", "mss", "serve", *(["--demo"] if demo else [])]
    with log.open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env,
                                   text=True)
    assert process.stdout is not None
    text = ""
    for line in process.stdout:
        text += line
        if line.startswith("ready"):
            break
    ports = {label.lower(): int(port)
             for label, port in re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", text)}
    assert {"submissions", "imaps", "http"} <= set(ports), text
    return Node(process, ports)


def haproxy_config(front: dict[str, int], nodes: list[Node]) -> str:
    def servers(listener: str, extra: str) -> str:
        return "".join(f"    server n{i} 127.0.0.1:{node.ports[listener]}{extra}\n"
                       for i, node in enumerate(nodes))

    return (
        "global\n    maxconn 512\n"
        "defaults\n    timeout connect 5s\n    timeout client 10m\n    timeout server 10m\n"
        "    retries 3\n    option redispatch 1\n    balance roundrobin\n"
        f"frontend submissions\n    mode tcp\n    bind 127.0.0.1:{front['submissions']}\n"
        "    default_backend submissions\n"
        f"backend submissions\n    mode tcp\n{servers('submissions', ' send-proxy-v2')}"
        f"frontend imaps\n    mode tcp\n    bind 127.0.0.1:{front['imaps']}\n"
        "    default_backend imaps\n"
        f"backend imaps\n    mode tcp\n{servers('imaps', ' send-proxy-v2')}"
        f"frontend web\n    mode http\n    bind 127.0.0.1:{front['http']}\n"
        "    option forwardfor\n    default_backend web\n"
        f"backend web\n    mode http\n{servers('http', '')}"
    )


@dataclass
class Balanced:
    settings: object
    nodes: list[Node]
    front: dict[str, int]
    logs: list[Path]

    @property
    def world(self) -> DemoWorld:
        return world_of(self.settings)


@pytest.fixture
def balanced(make_settings, tmp_path: Path) -> Iterator[Balanced]:
    settings = make_settings()
    logs = [tmp_path / "node-a.log", tmp_path / "node-b.log"]
    nodes = [start_node(settings, "node-a", logs[0], demo=True)]
    haproxy_pid = tmp_path / "haproxy.pid"
    try:
        nodes.append(start_node(settings, "node-b", logs[1], demo=False))
        front = {name: free_port() for name in ("submissions", "imaps", "http")}
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config(front, nodes))
        # -D: the command returns once HAProxy has bound its frontends
        started = subprocess.run([HAPROXY, "-D", "-p", str(haproxy_pid), "-f", str(config)],
                                 capture_output=True, text=True, timeout=TIMEOUT)
        assert started.returncode == 0, started.stderr
        yield Balanced(settings, nodes, front, logs)
    finally:
        if haproxy_pid.exists():
            for pid in haproxy_pid.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)
        for node in nodes:
            node.stop()


def client_context(settings) -> ssl.SSLContext:
    return tls_context(settings)  # the node's CA; 127.0.0.1 is in the certificate


async def submit(balanced: Balanced, subject: str) -> None:
    world = balanced.world
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = world.alice, world.bruno, subject
    message["Message-ID"] = f"<{uuid.uuid4()}@test>"
    message.set_content("Compte rendu.")
    await aiosmtplib.send(message, hostname="127.0.0.1", port=balanced.front["submissions"],
                          use_tls=True, tls_context=client_context(balanced.settings),
                          username=world.alice, password=world.password, timeout=TIMEOUT,
                          source_address=(CLIENT, 0))


class Watcher:
    """An IMAP client IDLEing on Bruno's INBOX through HAProxy, on the wire (RFC 2177):
    when its connection breaks it connects again, SELECTs (which resynchronises it:
    EXISTS counts every message) and IDLEs on."""

    def __init__(self, port: int, context: ssl.SSLContext, world: DemoWorld) -> None:
        self.port = port
        self.context = context
        self.world = world
        self.exists = 0
        self.reconnects = 0
        self.changed = asyncio.Condition()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def line(self) -> bytes:
        assert self.reader is not None
        line = await asyncio.wait_for(self.reader.readline(), TIMEOUT)
        while line.endswith(b"}\r\n") and b"{" in line:  # a literal
            size = int(line[line.rindex(b"{") + 1 : -3])
            line += await self.reader.readexactly(size)
            line += await self.reader.readline()
        return line

    async def command(self, tag: str, text: str) -> list[bytes]:
        assert self.writer is not None
        self.writer.write(f"{tag} {text}\r\n".encode())
        lines = []
        while not (lines and lines[-1].startswith(f"{tag} ".encode())):
            line = await self.line()
            if not line:
                raise ConnectionError("closed")
            lines.append(line)
        assert lines[-1].startswith(f"{tag} OK".encode()), lines
        return lines

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=self.context)
        greeting = await self.line()
        assert greeting.startswith(b"* OK"), greeting
        await self.command("a", f'LOGIN "{self.world.bruno}" "{self.world.password}"')
        for line in await self.command("b", "SELECT INBOX"):
            if match := re.match(rb"\* (\d+) EXISTS", line):
                await self._seen(int(match.group(1)))
        self.writer.write(b"c IDLE\r\n")
        assert (await self.line()).startswith(b"+ ")

    async def _seen(self, exists: int) -> None:
        async with self.changed:
            self.exists = exists
            self.changed.notify_all()

    async def run(self) -> None:
        """IDLE responses until cancelled; a broken connection is made again."""
        while True:
            try:
                line = await self.line()
            except (ConnectionError, ssl.SSLError):
                line = b""
            if not line:
                self.reconnects += 1
                await self._reconnect()
                continue
            if match := re.match(rb"\* (\d+) EXISTS", line):
                await self._seen(int(match.group(1)))

    async def _reconnect(self) -> None:
        if self.writer is not None:
            self.writer.close()
        for attempt in range(3):  # HAProxy may still pick the dead node: it redispatches
            try:
                await self.connect()
                return
            except (ConnectionError, ssl.SSLError):
                if attempt == 2:
                    raise

    async def wait_for(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.exists >= count),
                                   TIMEOUT)

    async def subjects(self) -> list[str]:
        """DONE, then every Subject of the folder (FETCH BODY.PEEK[HEADER.FIELDS])."""
        assert self.writer is not None
        self.writer.write(b"DONE\r\n")
        while not (await self.line()).startswith(b"c OK"):
            pass
        lines = await self.command("d", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.writer.close()
        return sorted(match.group(1).decode() for line in lines
                      if (match := re.search(rb"Subject: ([^\r\n]*)", line)))


async def web_status(balanced: Balanced) -> int:
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT)
    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
        response = await client.get(f"http://127.0.0.1:{balanced.front['http']}/login")
    return response.status_code


async def failed_web_login(balanced: Balanced) -> int:
    """A wrong password on the web login form, through HAProxy's HTTP mode."""
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT)
    url = f"http://127.0.0.1:{balanced.front['http']}/login"
    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
        page = await client.get(url)
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text
        response = await client.post(url, data={
            "csrf": match.group(1), "login": balanced.world.alice, "password": "wrong"})
    return response.status_code


async def test_haproxy_moves_sessions_to_the_surviving_node(balanced: Balanced) -> None:
    node_a, _ = balanced.nodes
    context = client_context(balanced.settings)
    watchers = [Watcher(balanced.front["imaps"], context, balanced.world) for _ in range(2)]
    for watcher in watchers:
        await watcher.connect()  # round robin: one on each node
    running = [asyncio.create_task(w.run()) for w in watchers]
    assert [await web_status(balanced) for _ in range(2)] == [200, 200]  # both nodes

    acknowledged: list[str] = []
    kill_after = 8

    async def sender(name: str, count: int) -> None:
        for i in range(count):
            subject = f"{name}-{i}"
            for _attempt in range(3):  # a session cut by the kill is tried again
                try:
                    await submit(balanced, subject)
                except (aiosmtplib.SMTPException, OSError):
                    continue
                acknowledged.append(subject)
                break
            if len(acknowledged) >= kill_after and node_a.process.poll() is None:
                node_a.kill()

    try:
        await asyncio.gather(*(sender(name, 8) for name in ("s1", "s2", "s3")))
        assert node_a.process.returncode == -signal.SIGKILL
        await submit(balanced, "after-the-kill")
        acknowledged.append("after-the-kill")
        for watcher in watchers:
            await watcher.wait_for(len(acknowledged))
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    assert sorted(w.reconnects for w in watchers) == [0, 1]  # the one on the dead node
    for watcher in watchers:
        seen = await watcher.subjects()
        missing = set(acknowledged) - set(seen)
        assert not missing, f"acknowledged but not seen: {sorted(missing)}"
    assert [await web_status(balanced) for _ in range(2)] == [200, 200]  # the survivor
    assert await failed_web_login(balanced) == 401

    log_lines = "\n".join(path.read_text() for path in balanced.logs)
    opened = [line for line in log_lines.splitlines() if "event=session.opened" in line]
    submissions = [line for line in opened if "listener=submissions" in line]
    assert submissions and all(f"client={CLIENT}" in line for line in submissions)
    assert "event=proxy.refused" not in log_lines
    web_failure = [line for line in log_lines.splitlines()
                   if "event=auth.failed" in line and "protocol=http" in line]
    assert web_failure and f"client={CLIENT}" in web_failure[0]  # from X-Forwarded-For
