"""A running IMAP server on a seeded store, shared by the tests of one module.

Seeding costs argon2 hashes, so each test module gets one world (module scope, one
event loop per module); tests keep out of each other's way by working in folders and
on messages they create themselves. Listeners bind 127.0.0.1 port 0; clients trust the
dev PKI's CA and connect to the name ``localhost`` that the server certificate holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import shutil
import ssl
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from mss.certs import DevPki, ensure_server_pki, server_context
from mss.clock import ManualClock
from mss.config import load_settings
from mss.demo import DemoWorld, seed_world
from mss.identity import Principal, PrincipalKind
from mss.imap.limits import ImapLimits
from mss.imap.server import ImapServer
from mss.pipeline.accept import AcceptResult, Pipeline, Submission
from mss.policy import Channel
from mss.store.mail_delivery import Delivered
from mss.store.store import Store, prepare_data_dir

T = TypeVar("T")
HOST = "localhost"


@dataclass
class ImapWorld:
    store: Store
    world: DemoWorld
    pipeline: Pipeline
    pki: DevPki
    clock: ManualClock
    starttls: ImapServer
    starttls_port: int
    tls: ImapServer
    tls_port: int

    def client_context(self, cert_chain: Path | None = None,
                       key: Path | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.paths.ca_bundle))
        if cert_chain is not None:
            context.load_cert_chain(str(cert_chain), str(key) if key else None)
        return context

    def imaplib_client(self) -> imaplib.IMAP4_SSL:
        return imaplib.IMAP4_SSL(HOST, self.tls_port, ssl_context=self.client_context(),
                                 timeout=30)

    async def login(self, user: str, *, authzid: str | None = None) -> imaplib.IMAP4_SSL:
        """An imaplib client over implicit TLS, logged in (PLAIN when `authzid`)."""
        password = self.world.password

        def connect() -> imaplib.IMAP4_SSL:
            client = self.imaplib_client()
            if authzid is None:
                client.login(user, password)
            else:
                client.authenticate(
                    "PLAIN", lambda _: f"{authzid}\0{user}\0{password}".encode()
                )
            return client

        return await asyncio.to_thread(connect)

    def alice_principal(self) -> Principal:
        return Principal(PrincipalKind.PROFESSIONAL, self.world.alice_rpps, "",
                         self.world.alice)

    async def deliver(self, to: list[str], *, subject: str, body: str = "Bonjour.",
                      sender: str | None = None, raw: bytes | None = None,
                      principal: Principal | None = None) -> AcceptResult:
        """A message through the pipeline, as a professional's submission."""
        sender = sender or self.world.alice
        if raw is None:
            raw = (f"From: <{sender}>\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{uuid.uuid4().hex}@test>\r\n\r\n{body}\r\n").encode()
        result = await self.pipeline.accept(Submission(
            mail_from=sender, recipients=to, raw=raw, channel=Channel.SUBMISSION,
            principal=principal or self.alice_principal(),
        ))
        assert all(r.verdict.accepted for r in result.results), result
        return result

    def forget_failures(self) -> None:
        """Move the clock past the rate-limit window after tests of failed logins."""
        self.clock.advance(timedelta(minutes=10))


async def run(function: Callable[..., T], *args: Any) -> T:
    """Blocking clients (imaplib, imapclient) run in a thread: the server shares the loop."""
    return await asyncio.to_thread(function, *args)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


PG_URL = os.environ.get("MSS_TEST_DATABASE_URL", "")


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, template_db: str) -> Any:
    data = tmp_path_factory.mktemp("imap")
    values: dict[str, object] = {"data_dir": str(data)}
    created = None
    if PG_URL:
        created = f"mss_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{created}" TEMPLATE "{template_db}"')
        values["database"] = {"url": PG_URL.rpartition("/")[0] + "/" + created}
    else:
        shutil.copy(template_db, data / "mss.db")
    settings = load_settings(environ={}, overrides=values)
    prepare_data_dir(settings)
    yield settings
    if created:
        _pg_admin(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')


def test_limits() -> ImapLimits:
    return ImapLimits(max_literal=2 * 1024 * 1024, max_line=16 * 1024)


test_limits.__test__ = False  # type: ignore[attr-defined]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def imap(module_settings: Any) -> AsyncIterator[ImapWorld]:
    clock = ManualClock()
    store = await Store.open(module_settings, clock=clock)
    pki = await asyncio.to_thread(ensure_server_pki, module_settings)
    world = await seed_world(store)
    pipeline = Pipeline(store, module_settings)
    await pipeline.ensure_spool_mailbox()
    context = server_context(pki.paths, client_cert="optional")
    starttls = ImapServer(store, context, implicit_tls=False, limits=test_limits())
    tls = ImapServer(store, context, implicit_tls=True, limits=test_limits())
    _, starttls_port = await starttls.start("127.0.0.1", 0)
    _, tls_port = await tls.start("127.0.0.1", 0)
    try:
        yield ImapWorld(store, world, pipeline, pki, clock, starttls, starttls_port,
                        tls, tls_port)
    finally:
        await starttls.stop()
        await tls.stop()
        await store.close()


class RawClient:
    """Bytes on the wire, for the protocol cases real clients never produce."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, context: ssl.SSLContext | None) -> RawClient:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname=HOST if context else None
        )
        client = cls(reader, writer)
        greeting = await client.response()
        assert greeting.startswith(b"* OK"), greeting
        return client

    async def response(self) -> bytes:
        """One response line, literals included."""
        line = await asyncio.wait_for(self.reader.readline(), 30)
        assert line, "connection closed"
        while line.endswith(b"}\r\n") and b"{" in line:
            size = int(line[line.rindex(b"{") + 1 : -3].rstrip(b"+"))
            line += await self.reader.readexactly(size)
            line += await self.reader.readline()
        return line

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self, tag: str, text: str | bytes) -> list[bytes]:
        """Send `tag text`, return every line up to and including the tagged one."""
        body = text.encode() if isinstance(text, str) else text
        await self.send(tag.encode() + b" " + body + b"\r\n")
        return await self.until(tag)

    async def until(self, tag: str) -> list[bytes]:
        lines = []
        while True:
            line = await self.response()
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    async def closed(self) -> bool:
        """True once the server has closed the connection (reads to the end)."""
        rest = await asyncio.wait_for(self.reader.read(), 30)
        return rest == b"" or rest.endswith(b"\r\n")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def raw_login(imap: ImapWorld, user: str) -> RawClient:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    reply = await client.command("l", f'LOGIN "{user}" "{imap.world.password}"')
    assert reply[-1].startswith(b"l OK"), reply
    return client


async def put_messages(imap: ImapWorld, address: str, folder: str,
                       messages: list[bytes], flags: tuple[str, ...] = (),
                       recent: bool = False) -> list[int]:
    """Create `folder` in `address`'s mailbox and store `messages` there (store API).

    Unless `recent`, the messages are then taken as \\Recent (RFC 3501 §2.3.2) as if a
    session had already selected the folder, so tests of other behaviours see the flags
    they stored and nothing else."""
    from mss.store.mail_errors import MailStoreError
    from mss.store.mailboxes import find_mailbox

    store = imap.store
    async with store.reading() as session:
        mailbox = await find_mailbox(session, address)
        assert mailbox is not None
    mailbox_id = mailbox.id

    async def create(uow: Any) -> None:
        with contextlib.suppress(MailStoreError):
            await store.mail.folders.create(uow, mailbox_id, folder)

    await store.write(create)
    async with store.reading() as session:
        target = await store.mail.folders.named(session, mailbox_id, folder)
    uids = []
    for raw in messages:
        blob = await store.mail.contents.prepare_blob(mailbox_id, raw)

        async def job(uow: Any, blob: Any = blob, raw: bytes = raw) -> Delivered:
            return await store.mail.delivery.deliver(
                uow, target.id, blob, raw.split(b"\r\n\r\n")[0], flags=flags)

        uids.append((await store.write(job)).uid)  # known after the commit
    if not recent and uids:
        async def claim(uow: Any) -> None:
            await store.mail.folders.claim_recent(uow, target.id, uids[-1] + 1)

        await store.write(claim)
    return uids


def imapclient_for(imap: ImapWorld, user: str, authzid: str | None = None) -> Any:
    from imapclient import IMAPClient

    client = IMAPClient(HOST, port=imap.tls_port, ssl=True, ssl_context=imap.client_context(),
                        timeout=30)
    if authzid:
        client.plain_login(user, imap.world.password, authorization_identity=authzid)
    else:
        client.login(user, imap.world.password)
    return client
