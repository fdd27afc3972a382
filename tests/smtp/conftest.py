"""Two operators, A and B, on real sockets, with certificates from one dev PKI.

Each operator is a whole `App` (its own data folder, database, ports 0) started the way
`mss serve` starts it, with the demo world seeded and a trust list naming both. The queue
worker does not run in the background: tests call `worker.run_once()` and move the
ManualClock (STYLE §8).
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import ClassVar

import pytest

from mss.app import App
from mss.certs import DevPki, IssuedCertificate, ca_client_context, create_foreign_pki
from mss.clock import ManualClock
from mss.config import Settings
from mss.demo import DemoWorld, seed_world
from mss.directory.operators import add_operator_dkim_key, set_operator_endpoint
from mss.directory.trust_store import import_trust_list
from mss.pipeline.accept import Pipeline
from mss.smtp.listeners import SmtpListener
from mss.smtp.options import SmtpOptions
from mss.smtp.outbound_worker import QueueWorker, dkim_folder, operator_dkim_keys_on_disk
from mss.store.store import Store

DOMAIN_A = "mss-a.localhost"
DOMAIN_B = "mss-b.localhost"
ORGANISATION = "MSS TEST OPERATOR"


@pytest.fixture(scope="session", autouse=True)
def one_hash_per_password() -> Iterator[None]:
    """Seeding hashes the demo password for five mailboxes in every test (0.5 s each with
    argon2id's default profile): `set_password` gets a hasher with the same parameters
    that computes each real hash once per session. AUTH still verifies with argon2."""
    from argon2 import PasswordHasher, Type

    from mss.directory import passwords

    class OnceHasher(PasswordHasher):
        cache: ClassVar[dict[str, str]] = {}

        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            key = password if isinstance(password, str) else password.decode()
            if key not in self.cache:
                self.cache[key] = super().hash(password)
            return self.cache[key]

    defaults = passwords.set_password.__kwdefaults__
    assert defaults is not None
    original = defaults["hasher"]
    defaults["hasher"] = OnceHasher(type=Type.ID)
    yield
    defaults["hasher"] = original


@dataclass(frozen=True)
class SessionPki:
    pki: DevPki
    operator_a: IssuedCertificate
    operator_b: IssuedCertificate
    foreign: DevPki
    foreign_operator: IssuedCertificate  # same DN as A's, other CA


@pytest.fixture(scope="session")
def session_pki(tmp_path_factory: pytest.TempPathFactory) -> SessionPki:
    root = tmp_path_factory.mktemp("smtp-pki")
    pki = DevPki.init(root / "pki")
    a = pki.issue_operator(f"mx.{DOMAIN_A}", "1000000001", ORGANISATION, "Paris (75)")
    b = pki.issue_operator(f"mx.{DOMAIN_B}", "1000000002", ORGANISATION, "Paris (75)")
    foreign = create_foreign_pki(root / "foreign")
    forged = foreign.issue_operator(f"mx.{DOMAIN_A}", "1000000001", ORGANISATION, "Paris (75)")
    return SessionPki(pki, a, b, foreign, forged)


def trust_list_xml(entries: list[tuple[str, str]]) -> bytes:
    """A trust list as published (mssante-facts), one <Domaine> per (domain, DN)."""
    domains = "".join(
        f"<Domaine><Nom>{domain}</Nom><Description>test</Description>"
        f"<DNCertificatOperateur>{dn}</DNCertificatOperateur>"
        "<ResponsableContact>x</ResponsableContact><SupportContact>x</SupportContact>"
        "<DateMAJ>2026-01-01T00:00:00Z</DateMAJ></Domaine>"
        for domain, dn in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema">'
        "<DateDeGeneration>2026-01-01T00:00:00Z</DateDeGeneration>"
        f"<ListeDomaines>{domains}</ListeDomaines></ListeBlancheMSSante>"
    ).encode()


@dataclass
class Operator:
    app: App
    clock: ManualClock
    world: DemoWorld
    certificate: IssuedCertificate
    pki: SessionPki

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def store(self) -> Store:
        assert self.app.store is not None
        return self.app.store

    @property
    def pipeline(self) -> Pipeline:
        assert self.app.pipeline is not None
        return self.app.pipeline

    @property
    def worker(self) -> QueueWorker:
        return self.app.smtp.worker  # type: ignore[return-value]

    def port(self, listener: str) -> int:
        listeners: dict[str, SmtpListener] = self.app.smtp.listeners
        return listeners[listener].port

    @property
    def domain(self) -> str:
        return self.settings.server.domain

    def client_context(self, *, with_certificate: bool = False,
                       certificate: IssuedCertificate | None = None) -> ssl.SSLContext:
        """What a client of this operator uses: our CA; optionally a client certificate."""
        chosen = certificate or (self.certificate if with_certificate else None)
        context = ca_client_context(
            self.pki.pki.paths.ca_bundle,
            cert_chain=chosen.chain_path if chosen else None,
            key=chosen.key_path if chosen else None,
        )
        context.check_hostname = False  # tests connect to 127.0.0.1
        return context


OperatorFactory = Callable[..., Awaitable[Operator]]


def operator_settings(make_settings: Callable[..., Settings], name: str, domain: str,
                      *, with_imap: bool = False, **limits: int) -> Settings:
    off = {"enabled": False}
    zero = {"port": 0, "host": "127.0.0.1"}
    overrides: dict[str, object] = {
        "server": {"hostname": f"mx.{domain}", "domain": domain,
                   "patient_domain": f"patient.{domain}", "node_id": name},
        "listeners": {"mx": zero, "submission": zero, "submissions": zero,
                      "imap": off, "imaps": zero if with_imap else off, "http": off},
    }
    if limits:
        overrides["limits"] = limits
    return make_settings(name, **overrides)


def install_pki(settings: Settings, pki: SessionPki, certificate: IssuedCertificate) -> None:
    """The shared CA in this operator's folder, with its own operator certificate, and
    DKIM keys made once per operator name for the session (RSA generation is slow)."""
    shutil.copytree(pki.pki.paths.folder, settings.pki_dir)
    DevPki.load(settings.pki_dir).install_server_certificate(certificate)
    keys = pki.pki.paths.folder.parent / f"dkim-{settings.server.node_id}"
    if not keys.exists():
        operator_dkim_keys_on_disk(replace(settings, data_dir=keys.parent / "tmp-dkim"),
                                   SmtpOptions())
        (keys.parent / "tmp-dkim" / "dkim").rename(keys)
    shutil.copytree(keys, dkim_folder(settings))


@pytest.fixture
async def operators(make_settings, session_pki: SessionPki) -> AsyncIterator[OperatorFactory]:
    started: list[App] = []

    async def start(name: str, domain: str, certificate: IssuedCertificate, *,
                    options: SmtpOptions | None = None,
                    configure: Callable[[Settings], None] | None = None,
                    with_imap: bool = False, **limits: int) -> Operator:
        settings = operator_settings(make_settings, name, domain, with_imap=with_imap,
                                     **limits)
        if configure is not None:
            configure(settings)
        install_pki(settings, session_pki, certificate)
        clock = ManualClock()
        app = App(settings, clock=clock)
        app.queue_worker = False
        app.smtp_options = options
        started.append(app)
        await app.start()
        assert app.store is not None
        world = await seed_world(app.store)
        await import_trust_list(app.store, trust_list_xml([
            (DOMAIN_A, session_pki.operator_a.subject_dn),
            (f"patient.{DOMAIN_A}", session_pki.operator_a.subject_dn),
            (DOMAIN_B, session_pki.operator_b.subject_dn),
            (f"patient.{DOMAIN_B}", session_pki.operator_b.subject_dn),
        ]))
        return Operator(app, clock, world, certificate, session_pki)

    yield start
    for app in reversed(started):
        await app.stop()


async def connect(sender: Operator, receiver: Operator) -> None:
    """Tell `sender` where `receiver`'s MX is and which keys sign its mail."""
    await set_operator_endpoint(sender.store, receiver.domain, "127.0.0.1", receiver.port("mx"))
    options = sender.worker.options
    for key in operator_dkim_keys_on_disk(sender.settings, options):
        await add_operator_dkim_key(receiver.store, sender.domain, key.selector, key.txt_record)


@pytest.fixture
async def pair(operators: OperatorFactory, session_pki: SessionPki
               ) -> tuple[Operator, Operator]:
    """A and B, each knowing the other's endpoint and DKIM keys."""
    a = await operators("a", DOMAIN_A, session_pki.operator_a)
    b = await operators("b", DOMAIN_B, session_pki.operator_b)
    await connect(a, b)
    await connect(b, a)
    return a, b


def message(sender: str, recipient: str, subject: str = "Suivi", body: str = "Bonjour.",
            extra: str = "") -> bytes:
    return (
        f"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, recipient, subject)))}@test>\r\n{extra}"
        f"\r\n{body}\r\n"
    ).encode()


async def stored_messages(operator: Operator, address: str, folder: str = "INBOX"
                          ) -> list[bytes]:
    """The raw messages in a folder of a local mailbox, oldest first."""
    from mss.store.mailboxes import find_mailbox

    store = operator.store
    async with store.reading() as session:
        mailbox = await find_mailbox(session, address)
        assert mailbox is not None, address
        target = await store.mail.folders.named(session, mailbox.id, folder)
        entries = await store.mail.reads.entries(session, target.id)
    return [await store.mail.contents.read_raw(e.mailbox_id, e.blob_key) for e in entries]


async def submit(operator: Operator, login: str, password: str, mail_from: str,
                 recipients: list[str], raw: bytes) -> tuple[int, str]:
    """Submission on 587 with aiosmtplib: STARTTLS, AUTH PLAIN, one message."""
    import aiosmtplib

    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=operator.port("submission"),
                             start_tls=False, tls_context=operator.client_context())
    await client.connect()
    try:
        await client.starttls()
        await client.login(login, password)
        await client.mail(mail_from)
        for rcpt in recipients:
            await client.rcpt(rcpt)
        response = await client.data(raw)
        return response.code, response.message
    finally:
        await client.quit()


async def sessions_finished(operator: Operator, listener: str) -> None:
    """Wait until every session of a listener has ended (its hooks have all returned)."""
    import asyncio

    listeners: dict[str, SmtpListener] = operator.app.smtp.listeners
    tasks = [s._handler_coroutine for s in listeners[listener].sessions
             if s._handler_coroutine is not None]
    await asyncio.gather(*tasks, return_exceptions=True)


class RawSmtp:
    """A byte-level SMTP client, for what polite clients never send (smuggling tests)."""

    def __init__(self, reader, writer) -> None:  # type: ignore[no-untyped-def]
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawSmtp:
        import asyncio

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        await client.reply()
        return client

    async def reply(self) -> str:
        lines = []
        while True:
            line = (await self.reader.readline()).decode()
            if not line:
                raise ConnectionError("closed: " + "".join(lines))
            lines.append(line)
            if line[3:4] != "-":
                return "".join(lines).rstrip("\r\n")

    async def command(self, data: bytes) -> str:
        self.writer.write(data)
        await self.writer.drain()
        return await self.reply()

    async def starttls(self, context: ssl.SSLContext) -> None:
        assert (await self.command(b"STARTTLS\r\n")).startswith("220")
        await self.writer.start_tls(context)

    async def close(self) -> None:
        self.writer.close()
