"""Blobs in the database (`store.blob_backend = "database"`, issue 24 §3): several nodes
then share nothing but the database.

The bytes are exactly a blob file's (mss.store.blobs.seal_blob: magic, nonce, AES-GCM
with the blob key as associated data), cut in chunks of CHUNK bytes, one row each in
`blob_chunks`, written chunk by chunk so that no statement carries a large message
whole, and committed in a transaction of their own before the row that names the blob
(the invariant of mss.store.blobs). Reading gathers the chunks in one buffer and opens
it once (AES-GCM authenticates the whole): memory stays at the sealed size plus the
plaintext, as with a file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from mss.store.blobs import BlobError, open_blob, seal_blob
from mss.store.insert_once import insert_once
from mss.store.tables import BlobChunk

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
_C = BlobChunk.__table__.c
_READ = (select(_C.seq, _C.data)
         .where(_C.mailbox_id == bindparam("b_mailbox"), _C.blob_key == bindparam("b_key"))
         .order_by(_C.seq))
_HAS = select(_C.seq).where(_C.mailbox_id == bindparam("b_mailbox"),
                            _C.blob_key == bindparam("b_key"), _C.seq == 0)


class DatabaseBlobStore:
    """The `BlobBackend` in `blob_chunks`, on the store's writing engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = insert_once(engine.dialect, BlobChunk.__table__,
                                   ["mailbox_id", "blob_key", "seq"])
        self._deleting: set[asyncio.Task[None]] = set()

    async def put(self, mailbox_id: int, blob_key: str, data_key: bytes,
                  plaintext: bytes) -> None:
        """Seal and commit; a blob already stored (same key: same content) is kept."""
        async with self._engine.begin() as connection:
            if (await connection.execute(_HAS, {"b_mailbox": mailbox_id,
                                                "b_key": blob_key})).first() is not None:
                return
            sealed = memoryview(seal_blob(data_key, blob_key, plaintext))
            for seq, start in enumerate(range(0, len(sealed), CHUNK)):
                await connection.execute(self._insert, {
                    "mailbox_id": mailbox_id, "blob_key": blob_key, "seq": seq,
                    "data": bytes(sealed[start : start + CHUNK])})

    async def get_many(self, items: Sequence[tuple[int, str, bytes]]) -> list[bytes]:
        found: list[bytes] = []
        async with self._engine.connect() as connection:
            for mailbox_id, blob_key, data_key in items:
                buffer = bytearray()
                result = await connection.execute(_READ, {"b_mailbox": mailbox_id,
                                                           "b_key": blob_key})
                for expected, (seq, data) in enumerate(result):
                    if seq != expected:
                        raise BlobError(f"blob {mailbox_id}/{blob_key}: chunk {expected} "
                                        "is missing (corrupted)")
                    buffer += data
                if not buffer:
                    raise BlobError(f"blob {mailbox_id}/{blob_key}: blob is missing")
                found.append(open_blob(f"blob {mailbox_id}/{blob_key}", data_key, blob_key,
                                       bytes(buffer)))
                del buffer
        return found

    def delete(self, mailbox_id: int, blob_key: str) -> None:
        """Called after the commit that dropped the last reference: the rows go in a
        transaction of their own, a moment later (a failure leaves an orphan, harmless
        and reported by `mss verify`, as a file left behind would be)."""
        task = asyncio.get_running_loop().create_task(self._delete(mailbox_id, blob_key))
        self._deleting.add(task)
        task.add_done_callback(self._deleting.discard)

    async def _delete(self, mailbox_id: int, blob_key: str) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(delete(BlobChunk.__table__).where(
                    _C.mailbox_id == mailbox_id, _C.blob_key == blob_key))
        except Exception:
            log.exception("could not delete blob %s/%s (left as an orphan)", mailbox_id,
                          blob_key)

    async def keys(self) -> list[tuple[int, str]]:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(
                select(_C.mailbox_id, _C.blob_key).where(_C.seq == 0))).all()
        return [(int(m), str(k)) for m, k in rows]

    async def close(self) -> None:
        """Wait for deletions under way (the engine is closed after)."""
        if self._deleting:
            await asyncio.gather(*self._deleting, return_exceptions=True)
