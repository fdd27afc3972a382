"""A folder's UIDNEXT and HIGHESTMODSEQ, taken by one atomic ``UPDATE folders ...
RETURNING`` each.

That update holds the folder row until commit on PostgreSQL, so UIDs are strictly
increasing in commit order across nodes (RFC 3501 §2.3.1.1) and every change of the
folder has a MODSEQ of its own (RFC 7162 §3.1). On PostgreSQL the pipeline's
deliveries and IMAP's writes take the counters last, folders in id order, just before
COMMIT (`mss.store.late_counters`); these statements serve SQLite and the few writes
that need a UID inside their job.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.tables import Folder
from mss.store.thread_reads import PreparedStatement

_F = Folder.__table__.c
_ALLOCATED = (_F.id, _F.uidnext, _F.highestmodseq, _F.mailbox_id)
_BUMP = {"uidnext": _F.uidnext + 1, "highestmodseq": _F.highestmodseq + 1}
# Built once: building and caching statements costs more than the SQL on a delivery
ALLOCATE_BY_ID = (
    update(Folder.__table__).where(_F.id == bindparam("b_folder")).values(_BUMP)
    .returning(*_ALLOCATED)
)
"""One UID and one MODSEQ of the folder `b_folder`: (id, uidnext after, modseq,
mailbox id), no row when there is no such folder."""
ALLOCATE_BY_NAME = (
    update(Folder.__table__)
    .where(_F.mailbox_id == bindparam("b_mailbox"), _F.name == bindparam("b_name"))
    .values(_BUMP).returning(*_ALLOCATED)
)
"""`ALLOCATE_BY_ID` for the folder `b_name` of the mailbox `b_mailbox`."""
BUMP_FOLDER_MODSEQ = PreparedStatement(
    update(Folder.__table__).where(_F.id == bindparam("b_folder"))
    .values(highestmodseq=_F.highestmodseq + 1).returning(_F.highestmodseq, _F.mailbox_id))
"""One more MODSEQ for a change of the folder (flags, expunge): (modseq, mailbox id)."""


async def allocate(session: AsyncSession, folder_id: int, count: int) -> tuple[int, int]:
    """Reserve `count` UIDs and one MODSEQ atomically; returns (first uid, modseq)."""
    row = (
        await session.execute(
            update(Folder)
            .where(Folder.id == folder_id)
            .values(uidnext=Folder.uidnext + count, highestmodseq=Folder.highestmodseq + 1)
            .returning(Folder.uidnext, Folder.highestmodseq)
        )
    ).one()
    return row[0] - count, row[1]
