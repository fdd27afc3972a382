"""Database engine and ORM base: SQLite (WAL, synchronous=FULL) or PostgreSQL.

Every package that owns tables declares them on `Base` so that one metadata, and one
Alembic history, covers the whole schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, Table, Text, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from mss.store.sqlite_driver import SqliteConnection

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


READ_POOL = 4
PG_POOL = 15  # kept open; with the overflow, at most 30 per process (as before)
PG_OVERFLOW = 15


# RFC 5256 §2.1 compares sort keys with i;ascii-casemap (RFC 4790 §9.2): octet order of
# keys already upper-cased by mss.store.sort_keys. SQLite's default BINARY collation is
# that order; PostgreSQL's follows the database's locale (en_US ignores punctuation and
# spaces at first level), so its sort-key columns and their indexes use "C".
SortKeyText = Text().with_variant(Text(collation="C"), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # every model here is mapped to one Table (Core statements are built on it); the
    # base class only knows a FromClause
    __table__: ClassVar[Table]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(
    url: str, *, sqlite_synchronous: str = "FULL", for_writing: bool = True, **kw: Any
) -> AsyncEngine:
    """An async engine with the durability settings docs/architecture.md §5 asks for.

    On SQLite, writing transactions start with BEGIN IMMEDIATE (writers queue on the
    lock up front instead of failing when a read lock must be upgraded); reading ones
    start deferred and see a WAL snapshot without blocking writers. Both are sent with
    the transaction's first statement (see mss.store.sqlite_driver).
    """
    if is_sqlite(url):
        # One thread per connection (mss.store.sqlite_driver): a small pool avoids GIL
        # thrashing, and one writer connection is all SQLite can use anyway.
        pool = {"pool_size": 1, "max_overflow": 0} if for_writing else {
            "pool_size": READ_POOL, "max_overflow": 0}
        path = make_url(url).database or ":memory:"

        async def connect() -> SqliteConnection:
            return await SqliteConnection.open(path, synchronous=sqlite_synchronous,
                                               timeout=30, read_only=not for_writing)

        engine = create_async_engine(url, async_creator=connect, **pool, **kw)
        begin = "BEGIN IMMEDIATE" if for_writing else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.connection.driver_connection.begin_deferred(begin)

        return engine
    # PostgreSQL: connections kept (a new one costs its login and the dialect's setup
    # queries, and an overflow one is closed when returned: under 32 sessions, 13 % of a
    # submission's CPU went to that), and no ping on every checkout (a round trip per
    # transaction, 8 % more, issue 24): after a server restart the first statement on a
    # dead connection fails (a temporary error to that one client), and SQLAlchemy then
    # replaces the whole pool.
    return create_async_engine(url, pool_size=PG_POOL, max_overflow=PG_OVERFLOW, **kw)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session
