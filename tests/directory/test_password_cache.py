"""The verified-password cache: repeated logins skip argon2; nothing else gets through."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from mss.directory.authentication import authenticate
from mss.directory.credential_cache import VerifiedPasswords
from mss.directory.mailbox_accounts import create_per_mailbox, disable_mailbox
from mss.directory.passwords import set_password

from .conftest import RPPS_ALICE, identity

PASSWORD = "correct horse battery"
CLIENT = "192.0.2.10"


class CountingHasher(PasswordHasher):
    """argon2id with small costs that counts the verifications it runs."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


class Ticks:
    """An injected monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def counting() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def cache(ticks: Ticks) -> VerifiedPasswords:
    return VerifiedPasswords(monotonic=ticks)


@pytest.fixture
async def alice(store, counting) -> str:
    await create_per_mailbox(store, address="alice@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin", "Alice"))
    await set_password(store, "alice@mss.localhost", PASSWORD, hasher=counting)
    return "alice@mss.localhost"


async def login(store, counting, cache, address: str, password: str = PASSWORD):
    return await authenticate(store, address, password, CLIENT, hasher=counting,
                              verified_passwords=cache)


async def test_a_second_login_with_the_same_password_runs_no_argon2(
        store, counting, cache, alice) -> None:
    assert await login(store, counting, cache, alice) is not None
    assert counting.verifications == 1
    assert await login(store, counting, cache, alice) is not None
    assert await login(store, counting, cache, alice) is not None
    assert counting.verifications == 1
    assert cache.hits == 2


async def test_a_wrong_password_never_matches_and_costs_a_full_verification(
        store, counting, cache, alice) -> None:
    assert await login(store, counting, cache, alice) is not None
    assert await login(store, counting, cache, alice, "wrong password!!") is None
    assert counting.verifications == 2
    assert cache.hits == 0


async def test_a_changed_password_makes_the_old_one_fail_at_once(
        store, counting, cache, alice) -> None:
    assert await login(store, counting, cache, alice) is not None
    await set_password(store, alice, "a brand new passphrase", hasher=counting)
    assert await login(store, counting, cache, alice) is None
    assert await login(store, counting, cache, alice, "a brand new passphrase") is not None


async def test_entries_expire_after_the_configured_time(
        store, counting, cache, ticks, alice) -> None:
    seconds = store.settings.auth.password_cache_seconds
    assert await login(store, counting, cache, alice) is not None
    ticks.now += seconds - 1
    assert await login(store, counting, cache, alice) is not None
    assert counting.verifications == 1
    ticks.now += 2  # past the time to live since the entry was made
    assert await login(store, counting, cache, alice) is not None
    assert counting.verifications == 2


async def test_a_disabled_mailbox_is_refused_even_with_a_cached_password(
        store, counting, cache, alice) -> None:
    assert await login(store, counting, cache, alice) is not None
    await disable_mailbox(store, alice)
    assert await login(store, counting, cache, alice) is None


async def test_zero_seconds_turns_the_cache_off(store, counting, cache, alice) -> None:
    store.settings.auth.password_cache_seconds = 0
    assert await login(store, counting, cache, alice) is not None
    assert await login(store, counting, cache, alice) is not None
    assert counting.verifications == 2
    assert len(cache) == 0


def test_capacity_drops_the_least_recently_used(ticks) -> None:
    cache = VerifiedPasswords(capacity=2, monotonic=ticks)
    cache.remember("hash-a", "pa")
    cache.remember("hash-b", "pb")
    assert cache.confirms("hash-a", "pa", 60)
    cache.remember("hash-c", "pc")
    assert not cache.confirms("hash-b", "pb", 60)
    assert cache.confirms("hash-a", "pa", 60) and cache.confirms("hash-c", "pc", 60)
