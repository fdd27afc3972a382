"""Two `mss serve` processes on one PostgreSQL and one data folder.

A message submitted on node A is seen by an IMAP client idling on node B; a node killed
with SIGKILL under load loses no acknowledged message.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from imapclient import IMAPClient

from mss.certs import DevPki
from mss.demo import DemoWorld
from mss.directory.certificate_bindings import bind_certificate
from mss.smtp.replies import CERTIFICATE_REVOKED
from mss.store.audit_verify import verify_chain
from mss.store.mailboxes import INBOX, find_mailbox
from mss.store.store import Store
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL")
ROOT = Path(__file__).parents[2]


@dataclass
class Node:
    process: subprocess.Popen[str]
    ports: dict[str, int]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.communicate(timeout=60)


def node_env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({
        "MSS_DATA_DIR": str(settings.data_dir), "MSS_DATABASE__URL": settings.database_url,
        "PYTHONPATH": str(ROOT), **extra,
    })
    return env


def start_node(settings, node_id: str, *, demo: bool, **extra_env: str) -> Node:
    env = node_env(settings, MSS_SERVER__NODE_ID=node_id, **extra_env)
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    command = [sys.executable, "-m", "mss", "serve", *(["--demo"] if demo else [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=env, text=True)
    assert process.stdout is not None
    text = ""
    for line in process.stdout:
        text += line
        if line.startswith("ready"):
            break
    ports = {label.lower(): int(port)
             for label, port in re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", text)}
    assert {"submissions", "imaps"} <= set(ports), text
    return Node(process, ports)


@pytest.fixture
def two_nodes(make_settings) -> Iterator[tuple[object, Node, Node]]:
    settings = make_settings()
    node_a = start_node(settings, "node-a", demo=True)  # creates the key, PKI and demo
    node_b = start_node(settings, "node-b", demo=False)
    try:
        yield settings, node_a, node_b
    finally:
        node_a.stop()
        node_b.stop()


def tls_context(settings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(settings.pki_dir / "ca-bundle.pem"))


def world_of(settings) -> DemoWorld:
    return DemoWorld(settings.server.domain, settings.server.patient_domain)


async def submit(settings, port: int, subject: str) -> None:
    world = world_of(settings)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = world.alice, world.bruno, subject
    message["Message-ID"] = f"<{uuid.uuid4()}@test>"
    message.set_content("Compte rendu.")
    await aiosmtplib.send(message, hostname="localhost", port=port, use_tls=True,
                          tls_context=tls_context(settings), username=world.alice,
                          password=world.password, timeout=60)


async def inbox_subjects(settings, address: str) -> list[str]:
    store = await Store.open(settings)
    try:
        async with store.reading() as session:
            mailbox = await find_mailbox(session, address)
            assert mailbox is not None
            folder = await store.mail.folders.named(session, mailbox.id, INBOX)
            entries = await store.mail.reads.entries(session, folder.id)
            assert await verify_chain(session, store.audit_seal) == []
        return [e.subject for e in entries]
    finally:
        await store.close()


async def test_idle_on_one_node_sees_a_submission_on_the_other(two_nodes) -> None:
    settings, node_a, node_b = two_nodes
    world = world_of(settings)
    with IMAPClient("localhost", port=node_b.ports["imaps"], ssl=True,
                    ssl_context=tls_context(settings), timeout=30) as imap:
        imap.login(world.bruno, world.password)
        imap.select_folder("INBOX")
        imap.idle()
        sent_at = time.monotonic()
        await submit(settings, node_a.ports["submissions"], "Par le noeud A")
        responses = await asyncio.to_thread(imap.idle_check, 10)
        delay = time.monotonic() - sent_at
        imap.idle_done()
    assert any(r[1] == b"EXISTS" for r in responses), responses
    assert delay < 10


async def test_a_killed_node_loses_no_acknowledged_message(two_nodes) -> None:
    settings, node_a, node_b = two_nodes
    world = world_of(settings)
    acknowledged: list[str] = []
    kill_after = 15

    async def sender(node: Node, prefix: str, count: int) -> None:
        for i in range(count):
            subject = f"{prefix}-{i}"
            try:
                await submit(settings, node.ports["submissions"], subject)
            except (aiosmtplib.SMTPException, OSError):
                return  # the node died: this one was never acknowledged
            acknowledged.append(subject)
            if prefix == "a" and len(acknowledged) >= kill_after:
                node_a.kill()

    await asyncio.gather(sender(node_a, "a", 200), sender(node_b, "b", 20))
    assert node_a.process.returncode == -signal.SIGKILL
    await submit(settings, node_b.ports["submissions"], "after-the-kill")
    acknowledged.append("after-the-kill")
    stored = await inbox_subjects(settings, world.bruno)
    missing = set(acknowledged) - set(stored)
    assert not missing, f"acknowledged but lost: {sorted(missing)}"
    assert len(stored) == len(set(stored))  # nothing delivered twice


async def test_a_revocation_by_the_cli_reaches_both_nodes_at_once(make_settings) -> None:
    """`mss certs revoke` publishes a "crl" event: PostgreSQL NOTIFY brings it to both
    nodes, which are told not to look at the CRL file within the test."""
    settings = make_settings()
    no_file_check = {"MSS_TRUST__CRL_CHECK_SECONDS": "3600"}
    node_a = start_node(settings, "node-a", demo=True, **no_file_check)
    node_b = start_node(settings, "node-b", demo=False, **no_file_check)
    try:
        world = world_of(settings)
        issued = await asyncio.to_thread(
            lambda: DevPki.load(settings.pki_dir).issue_application(
                "Laboratoire des deux noeuds", "1000000009", "LABO"))
        store = await Store.open(settings)
        try:
            await bind_certificate(store, world.noreply, subject_dn=issued.subject_dn)
        finally:
            await store.close()

        async def external_reply(node: Node) -> tuple[int, str]:
            context = tls_context(settings)
            context.load_cert_chain(str(issued.chain_path), str(issued.key_path))
            client = aiosmtplib.SMTP(hostname="localhost", port=node.ports["submissions"],
                                     use_tls=True, tls_context=context, timeout=30)
            await client.connect()
            try:
                await client.ehlo()
                response = await client.execute_command(b"AUTH", b"EXTERNAL", b"=")
                return response.code, response.message
            except aiosmtplib.SMTPResponseException as refused:
                return refused.code, refused.message
            finally:
                client.close()

        assert [(await external_reply(n))[0] for n in (node_a, node_b)] == [235, 235]
        revoke = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "mss", "certs", "revoke",
                             f"{issued.serial:X}"],
            env=node_env(settings), capture_output=True, text=True, timeout=120)
        assert revoke.returncode == 0, revoke.stderr
        assert "running servers told" in revoke.stdout
        deadline = time.monotonic() + 60  # a generous bound; NOTIFY takes milliseconds
        for node in (node_a, node_b):
            while (reply := await external_reply(node))[0] != 421:
                assert time.monotonic() < deadline, f"still accepted: {reply}"
            assert reply == (421, CERTIFICATE_REVOKED.split(" ", 1)[1])
    finally:
        node_a.stop()
        node_b.stop()
