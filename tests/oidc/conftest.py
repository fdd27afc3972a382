"""A real dev OpenID provider on 127.0.0.1 (uvicorn, port 0) sharing the test's clock.

Its keys are generated once per session (RSA 2048 costs tens of milliseconds)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from joserfc.jwk import KeySet

from mss.clock import ManualClock
from mss.config import OidcProviderSettings, OidcSettings
from mss.demo import DemoWorld
from mss.oidc.dev_provider import (
    DevProfessional,
    DevProvider,
    generate_signing_keys,
    running_dev_provider,
)

WORLD = DemoWorld("mss.localhost", "patient.mss.localhost")
ALICE = DevProfessional(WORLD.alice_rpps, "Alice", "MARTIN")
BRUNO = DevProfessional(WORLD.bruno_rpps, "Bruno", "PETIT")
STRANGER = DevProfessional("10000000999", "Inconnu", "NULLE-PART")


@pytest.fixture(scope="session")
def signing_keys() -> KeySet:
    return generate_signing_keys()


@pytest.fixture
async def provider(clock: ManualClock, signing_keys: KeySet) -> AsyncIterator[DevProvider]:
    dev = DevProvider(clock, [ALICE, BRUNO, STRANGER], keys=signing_keys)
    async with running_dev_provider(dev) as running:
        yield running


def provider_settings(provider: DevProvider, **overrides: object) -> OidcSettings:
    values: dict[str, object] = {"issuer": provider.issuer, "audience": provider.audience,
                                 "client_id": provider.client_id}
    values.update(overrides)
    return OidcSettings(providers={"psc": OidcProviderSettings(**values)})  # type: ignore[arg-type]
