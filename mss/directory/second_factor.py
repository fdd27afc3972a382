"""TOTP second factor (RFC 6238) for webmail logins, with the store's clock.

A secret becomes active once the holder confirms it with a valid code; an accepted time
step is remembered so that a code cannot be replayed within its window.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

from mss.directory.account_tables import TotpSecretRow
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

VALID_WINDOW = 1  # one step (30 s) either side, for clock skew


def _step(at: datetime) -> int:
    return int(at.timestamp()) // 30


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = _step(at) + offset
        if totp.at(step * 30) == code:
            return step
    return None


async def second_factor_enabled(store: Store, login: str) -> bool:
    async with store.reading() as session:
        row = await session.get(TotpSecretRow, login.strip().lower())
        return row is not None and row.confirmed


async def begin_enrolment(store: Store, login: str) -> str:
    """A new unconfirmed secret (base32) for the holder to put in their app."""
    secret = pyotp.random_base32()
    key = login.strip().lower()

    async def job(uow: UnitOfWork) -> None:
        row = await uow.session.get(TotpSecretRow, key)
        if row is None:
            uow.session.add(TotpSecretRow(login=key, secret=secret, confirmed=False,
                                          last_step=0, created_at=uow.now()))
        else:
            row.secret, row.confirmed, row.last_step = secret, False, 0
        await uow.session.flush()

    await store.write(job)
    return secret


async def pending_secret(store: Store, login: str) -> str | None:
    async with store.reading() as session:
        row = await session.get(TotpSecretRow, login.strip().lower())
        return row.secret if row is not None and not row.confirmed else None


async def check_code(store: Store, login: str, code: str, *, confirm: bool = False) -> bool:
    """True when `code` is valid now and not replayed; with `confirm`, activates a
    pending secret."""
    key = login.strip().lower()

    async def job(uow: UnitOfWork) -> bool:
        row = await uow.session.get(TotpSecretRow, key)
        if row is None or row.confirmed == confirm:
            return False
        step = _matching_step(row.secret, code, uow.now())
        if step is None or step <= row.last_step:
            return False
        row.last_step = step
        row.confirmed = True
        await uow.session.flush()
        return True

    return await store.write(job)


async def disable_second_factor(store: Store, login: str) -> None:
    key = login.strip().lower()

    async def job(uow: UnitOfWork) -> None:
        row = await uow.session.get(TotpSecretRow, key)
        if row is not None:
            await uow.session.delete(row)

    await store.write(job)
