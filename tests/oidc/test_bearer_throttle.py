"""Bad bearer tokens sent for a professional from one address never lock out that
professional's valid token from another address; each failure waits a growing delay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mss.oidc.bearer_login import bearer_login, provider_keys

from .harness import ALICE, OidcApp, oidc_app

pytestmark = pytest.mark.asyncio(loop_scope="module")
ATTACKER = "203.0.113.66"
USER_ADDRESS = "192.0.2.10"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oidc(tmp_path_factory: pytest.TempPathFactory, template_db: str
               ) -> AsyncIterator[OidcApp]:
    async with oidc_app(tmp_path_factory.mktemp("throttle"), template_db) as running:
        yield running


async def test_bad_tokens_from_elsewhere_do_not_lock_the_valid_one(
    oidc: OidcApp, failure_pauses: list[float]
) -> None:
    login = bearer_login(oidc.store, provider_keys(oidc.store))
    assert login is not None
    alice = oidc.world.alice
    for _ in range(login.limits.per_pair + 2):
        outcome = await login.sign_in("not.a.token", alice, ATTACKER, via="test XOAUTH2")
        assert outcome.principal is None
    assert failure_pauses == [2.0, 4.0, 8.0, 16.0, 16.0, 16.0, 16.0]
    # the attacker's pair is locked: even a valid token from there is refused ...
    locked = await login.sign_in(oidc.token(ALICE), alice, ATTACKER, via="test XOAUTH2")
    assert locked.principal is None and failure_pauses[-1] == 16.0
    # ... and the professional, from their own address, signs in at once
    pauses = len(failure_pauses)
    valid = await login.sign_in(oidc.token(ALICE), alice, USER_ADDRESS, via="test XOAUTH2")
    assert valid.principal is not None and valid.principal.mailbox == alice
    assert len(failure_pauses) == pauses
    throttle = oidc.app.metrics.auth_throttle
    assert throttle.labels("refused", "pair")._value.get() == 3
    assert throttle.labels("delayed", "pair")._value.get() == 5
    oidc.forget_failures()
