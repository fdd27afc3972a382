"""Read from a Store or from a session the caller already holds (e.g. the pipeline's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.store import Store

ReadSource = Store | AsyncSession


@asynccontextmanager
async def reading_session(source: ReadSource) -> AsyncIterator[AsyncSession]:
    """A session to read with: the caller's own, or a fresh read transaction."""
    if isinstance(source, AsyncSession):
        yield source
        return
    async with source.reading() as session:
        yield session
