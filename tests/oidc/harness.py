"""A whole App (SMTP, IMAP, webmail on port 0) with the demo world, configured with the
dev OpenID provider; shared by the XOAUTH2 tests of tests/imap, tests/smtp, tests/webmail.

Seeding hashes passwords with argon2: test modules build one OidcApp each (module scope).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet

from mss.app import App
from mss.clock import ManualClock
from mss.config import load_settings
from mss.demo import DemoWorld, seed_world
from mss.directory.mailbox_accounts import ProfessionalIdentity, create_per_mailbox
from mss.directory.synthetic_extract import rpps_for
from mss.oidc.dev_provider import (
    DevProfessional,
    DevProvider,
    generate_signing_keys,
    running_dev_provider,
)
from mss.store.store import prepare_data_dir

PG_URL = os.environ.get("MSS_TEST_DATABASE_URL", "")
HOST = "localhost"
_WORLD = DemoWorld("mss.localhost", "patient.mss.localhost")
ALICE = DevProfessional(_WORLD.alice_rpps, "Alice", "MARTIN")
BRUNO = DevProfessional(_WORLD.bruno_rpps, "Bruno", "PETIT")
CLAIRE = DevProfessional(rpps_for(103), "Claire", "ROUX")  # a PER mailbox, no ORG rights
STRANGER = DevProfessional("10000000999", "Inconnu", "NULLE-PART")  # not in the directory
_KEYS: list[KeySet] = []


def shared_keys() -> KeySet:
    """One RSA and one EC key for the whole run (generating RSA keys costs time)."""
    if not _KEYS:
        _KEYS.append(generate_signing_keys())
    return _KEYS[0]


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


@dataclass
class OidcApp:
    app: App
    provider: DevProvider
    world: DemoWorld
    clock: ManualClock

    @property
    def store(self) -> Any:
        return self.app.store

    def port(self, name: str) -> int:
        if name in ("imap", "imaps"):
            return int(self.app.imap.addresses[name][1])
        if name == "http":
            return int(self.app.webmail.port)
        return int(self.app.smtp.listeners[name].port)

    def client_context(self) -> ssl.SSLContext:
        assert self.app.pki is not None
        return ssl.create_default_context(cafile=str(self.app.pki.paths.ca_bundle))

    def token(self, professional: DevProfessional = ALICE, **kwargs: Any) -> str:
        return self.provider.mint(professional, **kwargs)

    def forget_failures(self) -> None:
        """Past the rate-limit window, after tests of refused tokens."""
        self.clock.advance(timedelta(minutes=10))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port('http')}"


def claire_address(world: DemoWorld) -> str:
    return f"dr.claire.roux@{world.domain}"


@contextlib.asynccontextmanager
async def oidc_app(data_dir: Path, template_db: str, *, auth: dict[str, str] | None = None
                   ) -> AsyncIterator[OidcApp]:
    clock = ManualClock()
    provider = DevProvider(clock, [ALICE, BRUNO, CLAIRE, STRANGER], keys=shared_keys())
    created = None
    values: dict[str, Any] = {"data_dir": str(data_dir)}
    if PG_URL:
        created = f"mss_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{created}" TEMPLATE "{template_db}"')
        values["database"] = {"url": PG_URL.rpartition("/")[0] + "/" + created}
    else:
        shutil.copy(template_db, data_dir / "mss.db")
    try:
        # "localhost" is another site than the webmail's 127.0.0.1: browsers apply their
        # cross-site cookie rules as they would with the real provider
        async with running_dev_provider(provider, public_host="localhost"):
            values["listeners"] = {name: {"port": 0} for name in (
                "mx", "submission", "submissions", "imap", "imaps", "http", "admin")}
            values["oidc"] = {"providers": {"psc": {
                "issuer": provider.issuer, "audience": provider.audience,
                "client_id": provider.client_id, "client_secret": provider.client_secret}}}
            if auth:
                values["auth"] = auth
            settings = load_settings(environ={}, overrides=values)
            prepare_data_dir(settings)
            app = App(settings, clock=clock)
            app.queue_worker = False
            await app.start()
            try:
                assert app.store is not None
                world = await seed_world(app.store)
                await create_per_mailbox(
                    app.store, address=claire_address(world),
                    professional=ProfessionalIdentity(CLAIRE.rpps, "ROUX", "Claire", "Dr",
                                                      "10", "Médecin"),
                    display_name="Dr Claire ROUX")
                running = OidcApp(app, provider, world, clock)
                provider.redirect_uris.append(f"{running.base_url}/login/oidc/callback")
                yield running
            finally:
                await app.stop()
    finally:
        if created:
            _pg_admin(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
