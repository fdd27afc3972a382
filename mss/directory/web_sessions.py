"""Browser sessions of the webmail, kept in the database so that every node behind one
address knows them (docs/architecture.md §7: several processes share one PostgreSQL).

Invariants:
- the cookie carries a random token; only its SHA-256 is stored, so a copy of the
  database does not let anyone log in;
- a session expires after `idle` without a request and after `absolute` in any case;
  expiry is decided with the store's clock (docs/architecture.md §8.8);
- last_seen is written at most once per `touch_every`, so reading pages stays a read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select

from mss.directory.account_tables import WebSessionRow
from mss.identity import Principal, PrincipalKind
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class SessionLimits:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class WebSession:
    token: str
    principal: Principal
    csrf_token: str
    second_factor_pending: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(store: Store, principal: Principal, *,
                       second_factor_pending: bool = False, user_agent: str = "",
                       client_address: str = "") -> WebSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)

    async def job(uow: UnitOfWork) -> None:
        now = uow.now()
        uow.session.add(WebSessionRow(
            token_hash=token_hash(token), principal_kind=principal.kind.value,
            ident=principal.ident, display_name=principal.display_name,
            mailbox=principal.mailbox or "", csrf_token=csrf,
            second_factor_pending=second_factor_pending, created_at=now, last_seen_at=now,
            user_agent=user_agent[:300], client_address=client_address[:64],
        ))
        await uow.session.flush()

    await store.write(job)
    return WebSession(token, principal, csrf, second_factor_pending)


async def find_session(store: Store, token: str,
                       limits: SessionLimits = SessionLimits()) -> WebSession | None:
    """The live session for a cookie token, or None (unknown, idle or too old)."""
    if not token or len(token) > 100:
        return None
    key = token_hash(token)
    now = store.clock.now()
    async with store.reading() as session:
        row = await session.get(WebSessionRow, key)
        if row is None:
            return None
        values = (row.principal_kind, row.ident, row.display_name, row.mailbox, row.csrf_token,
                  row.second_factor_pending, row.created_at, row.last_seen_at)
    kind, ident, name, mailbox, csrf, pending, created, seen = values
    if now - seen > limits.idle or now - created > limits.absolute:
        await close_session(store, token)
        return None
    if now - seen > limits.touch_every:
        async def touch(uow: UnitOfWork) -> None:
            live = await uow.session.get(WebSessionRow, key)
            if live is not None:
                live.last_seen_at = uow.now()

        await store.write(touch)
    principal = Principal(PrincipalKind(kind), ident, name, mailbox or None)
    return WebSession(token, principal, csrf, pending)


async def complete_second_factor(store: Store, token: str) -> WebSession | None:
    """After a valid TOTP code: a new token (no session fixation) without the pending mark."""
    current = await find_session(store, token)
    if current is None:
        return None
    async with store.reading() as session:
        row = await session.get(WebSessionRow, token_hash(token))
        device = (row.user_agent, row.client_address) if row is not None else ("", "")
    await close_session(store, token)
    return await open_session(store, current.principal, user_agent=device[0],
                              client_address=device[1])


async def close_session(store: Store, token: str) -> None:
    key = token_hash(token)

    async def job(uow: UnitOfWork) -> None:
        await uow.session.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == key))

    await store.write(job)


HANDLE_LENGTH = 16


@dataclass(frozen=True, slots=True)
class DeviceSession:
    """One signed-in browser as the list of her devices shows it. `handle` names it in
    a sign-out form: a prefix of the token's hash, useless to sign in with."""

    handle: str
    user_agent: str
    client_address: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


def _same_owner(principal: Principal) -> Any:
    return and_(WebSessionRow.principal_kind == principal.kind.value,
                WebSessionRow.ident == principal.ident,
                WebSessionRow.mailbox == (principal.mailbox or ""))


async def device_sessions(store: Store, principal: Principal, current_token: str,
                          limits: SessionLimits = SessionLimits()) -> list[DeviceSession]:
    """Her live sessions, the most recently used first."""
    now = store.clock.now()
    current = token_hash(current_token)
    async with store.reading() as session:
        rows = (await session.execute(select(WebSessionRow).where(_same_owner(principal))
                                      .order_by(WebSessionRow.last_seen_at.desc()))
                ).scalars().all()
        return [DeviceSession(r.token_hash[:HANDLE_LENGTH], r.user_agent, r.client_address,
                              r.created_at, r.last_seen_at, r.token_hash == current)
                for r in rows
                if now - r.last_seen_at <= limits.idle and now - r.created_at <= limits.absolute]


async def close_device_session(store: Store, principal: Principal, handle: str) -> bool:
    """Sign one of her sessions out by its handle; False when none of hers has it."""
    if len(handle) != HANDLE_LENGTH or not all(c in "0123456789abcdef" for c in handle):
        return False

    async def job(uow: UnitOfWork) -> bool:
        result = await uow.session.execute(delete(WebSessionRow).where(
            _same_owner(principal), WebSessionRow.token_hash.like(f"{handle}%")))
        return int(result.rowcount or 0) > 0  # type: ignore[attr-defined]

    return await store.write(job)


async def close_other_sessions(store: Store, principal: Principal, current_token: str) -> int:
    """Sign out everywhere else: every session of hers but this one."""
    keep = token_hash(current_token)

    async def job(uow: UnitOfWork) -> int:
        result = await uow.session.execute(delete(WebSessionRow).where(
            _same_owner(principal), WebSessionRow.token_hash != keep))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return await store.write(job)


async def purge_expired_sessions(store: Store, limits: SessionLimits = SessionLimits()) -> int:
    async def job(uow: UnitOfWork) -> int:
        now = uow.now()
        result = await uow.session.execute(delete(WebSessionRow).where(
            (WebSessionRow.last_seen_at < now - limits.idle)
            | (WebSessionRow.created_at < now - limits.absolute)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return await store.write(job)
