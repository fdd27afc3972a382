"""Which store failures are the operator's temporary trouble, for the adapters' replies.

A protocol adapter must tell "the disk is full" (RFC 3463 X.3.1, SMTP `452 4.3.1`) from
"the database is unreachable" (X.3.0, `451 4.3.0`) without importing the database
driver (docs/architecture.md §2: protocol packages never import sqlalchemy). `storage_fault` walks
the exception chain (`__cause__`, `__context__` and SQLAlchemy's `.orig`) and names the
fault, or None for an error that is not the store's.
"""

from __future__ import annotations

import enum
import errno
import sqlite3

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_CONNECTION_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE,
                                errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH})
# asyncpg's class names for a lost or refused server (no import: it is optional)
_LOST_CONNECTION_NAMES = frozenset({
    "ConnectionDoesNotExistError", "ConnectionFailureError", "InterfaceError",
    "AdminShutdownError", "CannotConnectNowError", "TooManyConnectionsError",
    "InvalidCatalogNameError", "ConnectionRejectionError", "CrashShutdownError",
})


class StorageFault(enum.Enum):
    DISK_FULL = "disk full"
    DATABASE_UNAVAILABLE = "database unavailable"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(seen) < 20:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        pending.extend([current.__cause__, current.__context__,
                        orig if isinstance(orig, BaseException) else None])
    return seen


def storage_fault(error: BaseException) -> StorageFault | None:
    """DISK_FULL, DATABASE_UNAVAILABLE, or None (see the module docstring)."""
    chain = _chain(error)
    for item in chain:
        if isinstance(item, OSError) and item.errno in _FULL_ERRNOS:
            return StorageFault.DISK_FULL
        if isinstance(item, sqlite3.Error) and (
            getattr(item, "sqlite_errorcode", None) == _SQLITE_FULL
            or "disk is full" in str(item)
        ):
            return StorageFault.DISK_FULL
    for item in chain:
        if getattr(item, "connection_invalidated", False):
            return StorageFault.DATABASE_UNAVAILABLE
        if type(item).__name__ in _LOST_CONNECTION_NAMES:
            return StorageFault.DATABASE_UNAVAILABLE
        if "not currently accepting connections" in str(item):  # PostgreSQL 55000 on connect
            return StorageFault.DATABASE_UNAVAILABLE
        if isinstance(item, OSError) and item.errno in _CONNECTION_ERRNOS:
            return StorageFault.DATABASE_UNAVAILABLE
        if isinstance(item, sqlite3.OperationalError) and "locked" in str(item):
            return StorageFault.DATABASE_UNAVAILABLE
    return None
