"""One whole node (`App`) on real sockets for the abuse and fault tests.

The node runs MX, submission (587 STARTTLS, 465) and IMAP (143, 993) on 127.0.0.1 port 0,
with the demo world seeded and a trust list naming this operator, the same way the SMTP
tests build an operator (tests/smtp/conftest.py: session PKI, one argon2 hash per
password). Clients speak raw bytes (`RawSmtp`, `RawImap`) or use aiosmtplib.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mss.app import App
from mss.clock import ManualClock
from mss.demo import DemoWorld, seed_world
from mss.directory.trust_store import import_trust_list
from mss.smtp.listeners import SmtpListener
from mss.smtp.options import SmtpOptions
from mss.store.store import Store
from tests.smtp.conftest import (  # noqa: F401  (fixtures re-exported for this folder)
    DOMAIN_A,
    RawSmtp,
    SessionPki,
    install_pki,
    one_hash_per_password,
    session_pki,
    trust_list_xml,
)


@dataclass
class Node:
    app: App
    world: DemoWorld
    pki: SessionPki

    @property
    def store(self) -> Store:
        assert self.app.store is not None
        return self.app.store

    def port(self, listener: str) -> int:
        if listener in ("imap", "imaps"):
            service = self.app.imap
            return int(service.addresses[listener][1])
        listeners: dict[str, SmtpListener] = self.app.smtp.listeners
        return listeners[listener].port

    def client_context(self, *, with_certificate: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.pki.paths.ca_bundle))
        context.check_hostname = False
        if with_certificate:
            chosen = self.pki.operator_a
            context.load_cert_chain(str(chosen.chain_path), str(chosen.key_path))
        return context

    async def submit(self, raw: bytes, *, recipients: list[str] | None = None,
                     sender: str | None = None) -> tuple[int, str]:
        """One message on 587 (STARTTLS, AUTH PLAIN as Alice); the DATA reply."""
        import aiosmtplib

        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port("submission"),
                                 start_tls=False, tls_context=self.client_context(),
                                 timeout=60)
        await client.connect()
        try:
            await client.starttls()
            await client.login(self.world.alice, self.world.password)
            await client.mail(sender or self.world.alice)
            for rcpt in recipients or [self.world.bruno]:
                await client.rcpt(rcpt)
            response = await client.data(raw)
            return response.code, response.message
        finally:
            client.close()

    def imap_login(self) -> tuple[str, str]:
        """LOGIN as Alice over IMAPS with imaplib (blocking): ("OK", "") or ("NO", text)."""
        import imaplib

        client = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"),
                                   ssl_context=self.client_context(), timeout=60)
        try:
            client.login(self.world.alice, self.world.password)
            client.logout()
            return "OK", ""
        except imaplib.IMAP4.error as refused:
            return "NO", str(refused)

    async def inbox(self, address: str) -> list[bytes]:
        from mss.store.mailboxes import find_mailbox

        async with self.store.reading() as session:
            mailbox = await find_mailbox(session, address)
            assert mailbox is not None
            folder = await self.store.mail.folders.named(session, mailbox.id, "INBOX")
            entries = await self.store.mail.reads.entries(session, folder.id)
        return [await self.store.mail.contents.read_raw(e.mailbox_id, e.blob_key) for e in entries]


NodeFactory = Callable[..., Awaitable[Node]]


def node_overrides(name: str, **extra: object) -> dict[str, object]:
    zero = {"port": 0, "host": "127.0.0.1"}
    values: dict[str, object] = {
        "server": {"hostname": f"mx.{DOMAIN_A}", "domain": DOMAIN_A,
                   "patient_domain": f"patient.{DOMAIN_A}", "node_id": name},
        "listeners": {"mx": zero, "submission": zero, "submissions": zero, "imap": zero,
                      "imaps": zero, "http": {"enabled": False}, "admin": zero},
    }
    values.update(extra)
    return values


@pytest.fixture
async def nodes(make_settings, session_pki: SessionPki) -> AsyncIterator[NodeFactory]:  # noqa: F811
    started: list[App] = []

    async def start(name: str = "node", *, options: SmtpOptions | None = None,
                    **extra: object) -> Node:
        settings = make_settings(name, **node_overrides(name, **extra))
        install_pki(settings, session_pki, session_pki.operator_a)
        app = App(settings, clock=ManualClock())
        app.queue_worker = False
        app.smtp_options = options
        started.append(app)
        await app.start()
        assert app.store is not None
        world = await seed_world(app.store)
        await import_trust_list(app.store, trust_list_xml([
            (DOMAIN_A, session_pki.operator_a.subject_dn),
            (f"patient.{DOMAIN_A}", session_pki.operator_a.subject_dn),
        ]))
        return Node(app, world, session_pki)

    yield start
    for app in reversed(started):
        await app.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """`mount(name, size)`: a tmpfs of `size` at tmp_path/name (root only), unmounted after."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                       check=True, capture_output=True)
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def fill(folder: Path) -> Path:
    """Write a filler file until the file system says ENOSPC; return it."""
    filler = folder / "filler"
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
                os.fsync(handle.fileno())
        except OSError:
            pass
    return filler


async def wait_for(predicate: Callable[[], bool], *, step: Callable[[], Awaitable[None]]
                   ) -> None:
    """Run `step` until `predicate` holds (no sleeping: each step does real work)."""
    for _ in range(10_000):
        if predicate():
            return
        await step()
    raise AssertionError("condition never held")


def all_tasks_but_current() -> int:
    return len(asyncio.all_tasks()) - 1


# Losing the database server is a PostgreSQL fault: on SQLite the module is not collected.
collect_ignore = [] if os.environ.get("MSS_TEST_DATABASE_URL") else ["test_database_loss.py"]
