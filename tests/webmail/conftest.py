"""The webmail on a real store with the demo world, the pipeline (vault hook bound) and
an httpx client speaking ASGI to the app in the test's own event loop."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from mss.agenda.calendar_step import AgendaStep
from mss.clock import ManualClock
from mss.config import load_settings
from mss.demo import DemoWorld, seed_world
from mss.directory.web_sessions import open_session
from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import AcceptResult, Pipeline, Submission
from mss.pipeline.system_mail import attach_vault
from mss.policy import Channel
from mss.store.store import Store, prepare_data_dir
from mss.vault.access import VaultService
from mss.vault.mdn_sending import drain_acknowledgements
from mss.webmail.app import create_app
from mss.webmail.web_auth import SESSION_COOKIE
from mss.webmail.web_context import WebContext
from tests.conftest import PG_URL, _pg_url_for, pg_admin

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@dataclass
class Web:
    store: Store
    pipeline: Pipeline
    world: DemoWorld
    vault: VaultService
    context: WebContext
    app: object

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),  # type: ignore[arg-type]
                                 base_url="http://testserver", follow_redirects=False)

    @property
    def alice(self) -> Principal:
        return self.world.alice_principal

    @property
    def bruno(self) -> Principal:
        return self.world.bruno_principal

    async def send(self, *, principal: Principal | None = None, mail_from: str | None = None,
                   to: str | None = None, subject: str = "Résultats", body: str = "Bonjour.",
                   headers: dict[str, str] | None = None,
                   attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
                   html: str | None = None) -> AcceptResult:
        sender = mail_from or self.world.alice
        message = EmailMessage()
        message["From"] = f"Dr Alice MARTIN <{sender}>"
        message["To"] = to or self.world.jeanne
        message["Subject"] = subject
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        for filename, content_type, data in attachments:
            maintype, _, subtype = content_type.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        result = await self.pipeline.accept(Submission(
            mail_from=sender, recipients=[to or self.world.jeanne], raw=message.as_bytes(),
            channel=Channel.SUBMISSION, principal=principal or self.alice))
        await drain_acknowledgements()
        return result

    async def login(self, client: httpx.AsyncClient, login: str, password: str | None = None,
                    mailbox: str = "") -> httpx.Response:
        page = await client.get("/login")
        return await client.post("/login", data={
            "csrf": csrf_of(page.text), "login": login,
            "password": self.world.password if password is None else password,
            "mailbox": mailbox})

    async def csrf(self, client: httpx.AsyncClient, path: str) -> str:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return csrf_of(page.text)


async def build_web(store: Store) -> Web:
    world = await seed_world(store)
    pipeline = Pipeline(store, store.settings)
    attach_vault(pipeline)
    pipeline.patient_steps.append(AgendaStep(store))  # as mss.composition.compose_pipeline
    await pipeline.ensure_spool_mailbox()
    vault = VaultService(store)
    context = WebContext.build(store, pipeline, vault)
    return Web(store, pipeline, world, vault, context, create_app(context))


def _settings(data: Path, database_url: str | None):
    values: dict[str, object] = {"data_dir": str(data)}
    if database_url:
        values["database"] = {"url": database_url}
    settings = load_settings(environ={}, overrides=values)
    prepare_data_dir(settings)
    return settings


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, template_db: str) -> Iterator[
        tuple[Path, str]]:
    """The demo world seeded once (argon2 hashing is slow by design); each test starts
    from a copy of its data folder and database."""
    root = tmp_path_factory.mktemp("webmail-seed") / "node"
    root.mkdir()
    name = ""
    if PG_URL:
        name = f"mss_wm_{uuid.uuid4().hex[:10]}"
        pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    else:
        shutil.copy(template_db, root / "mss.db")
    settings = _settings(root, _pg_url_for(name) if name else None)

    async def seed() -> None:
        store = await Store.open(settings)
        try:
            await seed_world(store)
        finally:
            await store.close()

    asyncio.run(seed())
    yield root, name
    if name:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def seeded_store(seeded: tuple[Path, str], tmp_path: Path,
                       clock: ManualClock) -> AsyncIterator[Store]:
    root, template = seeded
    data = tmp_path / "node"
    shutil.copytree(root, data)
    url = None
    if template:
        db = f"mss_t_{uuid.uuid4().hex[:12]}"
        pg_admin(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
        url = _pg_url_for(db)
    store = await Store.open(_settings(data, url), clock=clock)
    try:
        yield store
    finally:
        await store.close()
        if url:
            pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
async def web(seeded_store: Store) -> AsyncIterator[Web]:
    yield await build_web(seeded_store)
    await drain_acknowledgements()


async def logged_in(web: Web, principal: Principal) -> httpx.AsyncClient:
    """A client holding a real session for `principal` (the password path is tested in
    test_login; hashing it again in every test would cost seconds)."""
    session = await open_session(web.store, principal)
    client = web.client()
    client.cookies.set(SESSION_COOKIE, session.token)
    return client


def patient(web: Web, which: str = "jeanne") -> Principal:
    ins = web.world.jeanne_ins if which == "jeanne" else web.world.paul_ins
    address = web.world.jeanne if which == "jeanne" else web.world.paul
    name = "Jeanne DUPONT" if which == "jeanne" else "Paul DURAND"
    return Principal(PrincipalKind.PATIENT, ins, name, address)


@pytest.fixture
async def jeanne(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with await logged_in(web, patient(web)) as client:
        yield client


@pytest.fixture
async def paul(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with await logged_in(web, patient(web, "paul")) as client:
        yield client


@pytest.fixture
async def alice(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with await logged_in(web, web.alice) as client:
        yield client


@pytest.fixture
async def bruno(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with await logged_in(web, web.bruno) as client:
        yield client
