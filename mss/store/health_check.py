"""Whether the database answers: the admin listener's `/health` (mss.admin_listener)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from mss.store.store import Store

HEALTH_TIMEOUT_SECONDS = 5.0


async def database_health(store: Store, timeout: float = HEALTH_TIMEOUT_SECONDS) -> str | None:
    """None when the database answers `SELECT 1`, else why not (one line)."""
    async def ask() -> None:
        async with store.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ask(), timeout)
    except TimeoutError:
        return f"no answer in {timeout:g} s"
    except Exception as error:  # any driver's error: the reason, never a traceback
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
    return None
