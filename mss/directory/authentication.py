"""Password authentication with rate limiting and the ORG authorisation identity.

Invariants:
- uniform failure: an unknown login, a wrong password, a disabled mailbox or a refused
  authorisation identity all verify one argon2id hash and record one failure, and the
  answer is the same None (no user enumeration by time or reply);
- failures are rows in the database, counted per (account, client address) and per
  client address over a sliding window, so several nodes share one count; time comes
  from the store's clock (docs/architecture.md §8.8);
- throttling cannot be turned against a user (as Dovecot's auth_failure_delay and
  anvil penalties): each failure is answered after a delay that grows with the
  failures of that account from that address; past `per_pair` of them that pair, and
  past `per_client` failures any login from that address, is refused without looking
  at the password; the same account from another address is untouched; a refused
  attempt verifies a hash and waits like a wrong password, so the reply time does not
  tell a locked pair from an open one; every decision is audited (`auth.failed` with
  its delay, `auth.rate_limited`) and so logged and counted;
- the hash is verified outside the writing transaction: argon2 is slow by design and
  must not hold the group commit.
docs/architecture.md §3: a member names an ORG mailbox as authorisation identity (SASL PLAIN
authzid); the principal then acts on the ORG mailbox only with the read right.
Settings `[auth]` (mss.directory.auth_policy) may refuse passwords for a mailbox kind:
the answer is then the same uniform failure, after the same hash verification.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.auth_policy import AuthMethod, principal_allows
from mss.directory.credential_cache import PROCESS_CACHE, VerifiedPasswords
from mss.directory.org_members import rights_on_org
from mss.directory.passwords import DEFAULT_HASHER, dummy_hash
from mss.directory.principals import closed_space_since, principal_for_mailbox
from mss.directory.tables import AuthFailure, PasswordCredential
from mss.identity import OrgRight, Principal, PrincipalKind
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork

PAIR = "pair"  # one account from one client address
ACCOUNT = PAIR  # the scope cleared by a successful sign-in
CLIENT = "client"
ANONYMOUS = "anonymous"


@dataclass(slots=True)
class SignInOutcome:
    """What a refused sign-in may tell the person once the password was right: the
    patient space is closed (since when). Filled by `authenticate` when given."""

    closed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Failures allowed within `window` before further attempts are refused unverified,
    and the delay before a failure is answered: `first_delay`, doubled per failure of
    the same (account, address), up to `max_delay` (seconds)."""

    window: timedelta = timedelta(minutes=5)
    per_pair: int = 5
    per_client: int = 20
    first_delay: float = 2.0
    max_delay: float = 16.0

    def delay(self, failures: int) -> float:
        """Seconds before answering the `failures`-th failure of a pair (1 = first)."""
        if failures <= 0:
            return 0.0
        return min(self.first_delay * 2 ** min(failures - 1, 16), self.max_delay)


DEFAULT_LIMITS = RateLimits()


class FailurePause:
    """Waits before a failure is answered; `sleep` is replaced in tests (STYLE §8)."""

    def __init__(self) -> None:
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(self, seconds: float) -> None:
        if seconds > 0:
            await self.sleep(seconds)


FAILURE_PAUSE = FailurePause()


def pair_key(login: str, client_address: str) -> str:
    """The key of one account from one address (hashed when longer than the column)."""
    key = f"{_login_key(login)}|{client_address[:320]}"
    if len(key) <= 320:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()

_T = TypeVar("_T")

# argon2id takes 64 MiB and most of a core per hash: at most one hash per core runs at
# once, so that a burst of logins queues here instead of multiplying memory and stalling
# every other session (the event loop's default pool would run several per core).
_HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")


async def _hashing(work: Callable[..., _T], *args: object) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, work, *args)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def _failures(session: AsyncSession, scope: str, key: str, since: datetime) -> int:
    query = select(func.count()).select_from(AuthFailure).where(
        AuthFailure.scope == scope, AuthFailure.key == key, AuthFailure.at > since
    )
    return int((await session.execute(query)).scalar_one())


async def failure_counts(
    store: Store, login: str, client_address: str, limits: RateLimits = DEFAULT_LIMITS
) -> tuple[int, int]:
    """Failures in the current window: (of this account from this client address, of
    any account from this client address)."""
    since = store.clock.now() - limits.window
    async with store.reading() as session:
        return (
            await _failures(session, PAIR, pair_key(login, client_address), since),
            await _failures(session, CLIENT, client_address[:320], since),
        )


def _login_key(login: str) -> str:
    return login.strip().lower()[:320]


async def authorised_as(
    session: AsyncSession, principal: Principal, authzid: str | None
) -> Principal | None:
    """The principal acting on `authzid`: itself, or an ORG mailbox it may read.
    Shared by every mechanism that carries an authorisation identity (SASL PLAIN,
    EXTERNAL, XOAUTH2 `user=`, OAUTHBEARER `a=`)."""
    if not authzid or authzid.strip().lower() == principal.mailbox:
        return principal
    org = authzid.strip().lower()
    if principal.kind is not PrincipalKind.PROFESSIONAL:
        return None
    if OrgRight.READ not in await rights_on_org(session, principal.ident, org):
        return None
    return Principal(principal.kind, principal.ident, principal.display_name, org)


_authorised_as = authorised_as


def _over(limits: RateLimits, pair_failures: int, client_failures: int) -> str | None:
    """The scope over its budget, if any."""
    if pair_failures >= limits.per_pair:
        return PAIR
    if client_failures >= limits.per_client:
        return CLIENT
    return None


async def _refuse_throttled(store: Store, key: str, client: str, scope: str,
                            pair_failures: int, limits: RateLimits) -> None:
    """Audit the refusal, then wait as long as a wrong password would have."""
    delay = limits.delay(pair_failures + 1)

    async def refuse(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.AUTH_RATE_LIMITED, ANONYMOUS, target=key,
                  outcome=AuditOutcome.REFUSED,
                  detail=f"client={client} scope={scope} delay={delay:g}")

    await store.write(refuse)
    await FAILURE_PAUSE(delay)


async def rate_limited(store: Store, key: str, client_address: str, *,
                       limits: RateLimits = DEFAULT_LIMITS) -> bool:
    """True (audited, and answered after the failure delay) when (`key`, client) or the
    client is over its failure budget; for mechanisms other than passwords that share
    the same counters (tokens)."""
    key, client = _login_key(key), client_address[:320]
    pair_failures, client_failures = await failure_counts(store, key, client, limits)
    scope = _over(limits, pair_failures, client_failures)
    if scope is None:
        return False
    await _refuse_throttled(store, key, client, scope, pair_failures, limits)
    return True


async def failure_delay(store: Store, key: str, client_address: str, *,
                        limits: RateLimits = DEFAULT_LIMITS) -> float:
    """The delay owed for the failure of (`key`, client) just recorded."""
    pair_failures, _ = await failure_counts(store, key, client_address, limits)
    return limits.delay(pair_failures)


async def record_failure(uow: UnitOfWork, key: str, client_address: str, *,
                         limits: RateLimits = DEFAULT_LIMITS, detail: str = "") -> None:
    """Count one failure for (`key`, client) and for the client, and audit it
    (AUTH_FAILED, with the delay before the answer)."""
    key, client = _login_key(key), client_address[:320]
    pair = pair_key(key, client)
    now = uow.now()
    since = now - limits.window
    delay = limits.delay(await _failures(uow.session, PAIR, pair, since) + 1)
    uow.session.add_all([AuthFailure(scope=PAIR, key=pair, at=now),
                         AuthFailure(scope=CLIENT, key=client, at=now)])
    for scope, value in ((PAIR, pair), (CLIENT, client)):
        await uow.session.execute(delete(AuthFailure).where(
            AuthFailure.scope == scope, AuthFailure.key == value,
            AuthFailure.at <= now - limits.window,
        ))
    await uow.session.flush()
    uow.audit(AuditAction.AUTH_FAILED, ANONYMOUS, target=key,
              outcome=AuditOutcome.REFUSED,
              detail=f"client={client} delay={delay:g}" + (f" {detail}" if detail else ""))


async def authenticate(
    store: Store, login: str, password: str, client_address: str, *,
    authzid: str | None = None, hasher: PasswordHasher = DEFAULT_HASHER,
    limits: RateLimits = DEFAULT_LIMITS, verified_passwords: VerifiedPasswords = PROCESS_CACHE,
    outcome: SignInOutcome | None = None,
) -> Principal | None:
    """The principal for `login`/`password` (acting on `authzid` if given), or None;
    `outcome` learns, only when the password was right, that the space is closed."""
    key = _login_key(login)
    client = client_address[:320]
    since = store.clock.now() - limits.window
    async with store.reading() as session:
        pair_failures = await _failures(session, PAIR, pair_key(key, client), since)
        client_failures = await _failures(session, CLIENT, client, since)
        credential = await session.get(PasswordCredential, key)
        stored_hash = credential.password_hash if credential is not None else None
        mailbox_id = credential.mailbox_id if credential is not None else None

    throttled = _over(limits, pair_failures, client_failures)
    if throttled is not None:
        await _hashing(_verify, hasher, dummy_hash(hasher), password)  # same cost
        await _refuse_throttled(store, key, client, throttled, pair_failures, limits)
        return None

    cache_seconds = store.settings.auth.password_cache_seconds
    if cache_seconds > 0 and stored_hash is not None and verified_passwords.confirms(
            stored_hash, password, cache_seconds):
        verified = True  # argon2 verified this very password and hash moments ago
    else:
        verified = await _hashing(
            _verify, hasher, stored_hash or dummy_hash(hasher), password
        )
        verified = verified and stored_hash is not None
        if verified and cache_seconds > 0 and stored_hash is not None:
            verified_passwords.remember(stored_hash, password)
    new_hash = None
    if verified and stored_hash is not None and hasher.check_needs_rehash(stored_hash):
        new_hash = await _hashing(hasher.hash, password)

    async def settle(uow: UnitOfWork) -> Principal | None:
        principal = None
        if verified and mailbox_id is not None:
            mailbox = await uow.session.get(Mailbox, mailbox_id)
            own = await principal_for_mailbox(uow.session, mailbox) if mailbox else None
            if own is None and mailbox is not None and outcome is not None:
                outcome.closed_since = await closed_space_since(uow.session, mailbox)
            principal = await authorised_as(uow.session, own, authzid) if own else None
            if principal is not None and mailbox is not None and not principal_allows(
                    store.settings.auth, principal, AuthMethod.PASSWORD,
                    credential_mailbox=mailbox.address):
                principal = None  # [auth]: passwords refused for this kind of mailbox
        if principal is None:
            await record_failure(uow, key, client, limits=limits)
            return None
        await uow.session.execute(delete(AuthFailure).where(
            AuthFailure.scope == PAIR, AuthFailure.key == pair_key(key, client)
        ))
        if new_hash is not None:
            credential_row = await uow.session.get(PasswordCredential, key)
            if credential_row is not None and credential_row.password_hash == stored_hash:
                credential_row.password_hash = new_hash
                credential_row.updated_at = uow.now()
        await uow.session.flush()
        subject = principal.ident if principal.kind is PrincipalKind.PATIENT else ""
        uow.audit(AuditAction.AUTH_SUCCEEDED, principal, target=principal.mailbox or key,
                  subject=subject, detail=f"client={client}")
        return principal

    principal = await store.write(settle)
    if principal is None:
        await FAILURE_PAUSE(limits.delay(pair_failures + 1))
    return principal


async def purge_expired_failures(store: Store, limits: RateLimits = DEFAULT_LIMITS) -> int:
    """Drop failure rows older than the window (maintenance; counts ignore them anyway)."""

    async def job(uow: UnitOfWork) -> int:
        result = await uow.session.execute(
            delete(AuthFailure).where(AuthFailure.at <= uow.now() - limits.window)
        )
        return int(getattr(result, "rowcount", 0) or 0)  # a DELETE's CursorResult

    return await store.write(job)
