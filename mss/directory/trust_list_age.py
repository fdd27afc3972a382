"""How old the trust list in force is (metrics: a list not refreshed for days means the
import job stopped, and new peers or revoked ones are not seen)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.tables import TrustListImport


async def trust_list_age(session: AsyncSession, now: datetime) -> timedelta | None:
    """Since the list in force was published (its DateDeGeneration), or imported when
    that date is absent or unreadable; None before the first import."""
    latest = (await session.execute(
        select(TrustListImport).order_by(TrustListImport.id.desc()).limit(1)
    )).scalar_one_or_none()
    if latest is None:
        return None
    try:
        published = datetime.fromisoformat(latest.generated_at.replace("Z", "+00:00"))
        published = published if published.tzinfo else published.replace(tzinfo=UTC)
    except ValueError:
        published = latest.imported_at
    return now - published
