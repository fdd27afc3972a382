"""`mss verify`: re-hash every blob, check every reference and the audit chain.

A fault is anything that means data could be lost or altered: a row naming a missing or
corrupted blob, an entry naming a missing message, a broken audit chain (a row whose MAC
does not match, a missing row, a row or end the signed checkpoints contradict). Blob files no
row names (written for a transaction that never committed) are reported, not faults.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.store.audit_checkpoints import CheckpointFileError, read_checkpoints
from mss.store.audit_verify import ChainReport, check_chain
from mss.store.blobs import HEADER_AAD, BlobError, open_small
from mss.store.header_summary import header_block
from mss.store.keys import MasterKeyError
from mss.store.store import Store
from mss.store.tables import FolderEntry, InlineBlob, StoredMessage


@dataclass
class VerifyReport:
    blobs_checked: int = 0
    entries_checked: int = 0
    audit_rows: int = 0
    faults: list[str] = field(default_factory=list)
    orphan_blobs: int = 0

    @property
    def ok(self) -> bool:
        return not self.faults


async def _sealed_header_faults(store: Store, msg: StoredMessage, raw: bytes) -> list[str]:
    """The header section kept beside the row must open and match the blob's."""
    key = await store.mail.contents.data_key(msg.mailbox_id)
    try:
        header = open_small(key, HEADER_AAD + msg.blob_key.encode(), msg.sealed_header or b"")
    except BlobError:
        return [f"message {msg.id}: sealed header fails authentication"]
    if header != header_block(raw):
        return [f"message {msg.id}: sealed header does not match the message"]
    return []


async def verify_store(store: Store, batch: int = 500) -> VerifyReport:
    report = VerifyReport()
    referenced: set[tuple[int, str]] = set()
    last_id = 0
    while True:
        async with store.reading() as session:
            rows = (
                await session.execute(
                    select(StoredMessage).where(StoredMessage.id > last_id)
                    .order_by(StoredMessage.id).limit(batch)
                )
            ).scalars().all()
            for msg in rows:
                referenced.add((msg.mailbox_id, msg.blob_key))
                report.blobs_checked += 1
                try:
                    raw = await store.mail.contents.read_raw(msg.mailbox_id, msg.blob_key)
                except (BlobError, MasterKeyError) as exc:
                    report.faults.append(f"message {msg.id}: {exc}")
                    continue
                digest = await asyncio.to_thread(_sha256_hex, raw)
                if digest != msg.sha256 or len(raw) != msg.size:
                    report.faults.append(f"message {msg.id}: content does not match its hash")
                elif msg.sealed_header is not None:
                    report.faults.extend(await _sealed_header_faults(store, msg, raw))
        if not rows:
            break
        last_id = rows[-1].id
    async with store.reading() as session:
        dangling = (
            await session.execute(
                select(FolderEntry.id, FolderEntry.message_id)
                .outerjoin(StoredMessage, StoredMessage.id == FolderEntry.message_id)
                .where(StoredMessage.id.is_(None))
            )
        ).all()
        for entry_id, message_id in dangling:
            report.faults.append(f"folder entry {entry_id}: names missing message {message_id}")
        report.entries_checked = (
            await session.execute(select(func.count(FolderEntry.id)))
        ).scalar_one()
        chain, file_faults = await verify_audit(store, session)
        report.faults.extend(str(f) for f in chain.faults)
        report.faults.extend(file_faults)
        report.audit_rows = chain.rows
    on_disk = set(await store.blobs.keys())
    async with store.reading() as session:
        inline = {(int(m), str(b)) for m, b in (await session.execute(
            select(InlineBlob.mailbox_id, InlineBlob.blob_key))).all()}
    report.orphan_blobs = len((on_disk | inline) - referenced)
    return report


async def verify_audit(store: Store, session: AsyncSession) -> tuple[ChainReport, list[str]]:
    """Every audit chain against its MACs and this node's signed checkpoints (which
    cover every chain's head); and the lines of the checkpoint file that are not
    checkpoints signed by this key."""
    try:
        points = read_checkpoints(store.settings.audit_checkpoint_path, store.audit_seal)
    except CheckpointFileError as exc:
        return await check_chain(session, store.audit_seal), [str(exc)]
    report = await check_chain(session, store.audit_seal, checkpoints=points.checkpoints)
    return report, points.faults


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
