"""What a message holds, sealed: the blob of its content and its header section.

Every message is sealed with its mailbox's data key (mss.store.keys) and named by an
HMAC of its plaintext hash (`blob_key_for`). Invariant: a blob is written (and fsynced) by
`MessageContents.prepare_blob` before the job that references it runs, so a committed
row never points at a missing file; a small one prepared `inline` is written by the
rows that reference it, in their transaction (`keep_inline`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from mss.store.blobs import HEADER_AAD, BlobBackend, open_small, seal_small
from mss.store.entry_reads import EntryInfo
from mss.store.header_summary import header_block
from mss.store.insert_once import insert_once
from mss.store.keys import Keyring, blob_key_for
from mss.store.mail_errors import MailStoreError
from mss.store.tables import InlineBlob, Mailbox
from mss.store.thread_reads import PreparedRead, Reads, ThreadReads

MAX_INLINE_BLOB = 64 * 1024
"""A message this size or smaller, prepared with `inline` (pipeline deliveries, IMAP
APPEND, kept drafts), is kept in the database (`inline_blobs`) rather than in a file of
its own: written in the delivering transaction, it costs no file, no fsync of file and
folder, no thread of its own (docs/design-notes.md, Performance: those were half the cost of a 4 KB
message). Vault documents stay files: their rows name blobs directly."""
MAX_SEALED_HEADER = 64 * 1024
"""A larger header section (or a message without a body separator) is not copied into
its row; header fetches read the blob for it."""


@dataclass(frozen=True, slots=True)
class PreparedBlob:
    mailbox_id: int
    blob_key: str
    sha256: str
    size: int
    sealed_header: bytes | None = None  # the header section, sealed with the mailbox key
    inline: bytes | None = None  # the sealed content, kept in the database (no file)


_I = InlineBlob.__table__.c
_READ_INLINE = select(_I.blob_key, _I.sealed).where(
    _I.mailbox_id == bindparam("b_mailbox"), _I.blob_key.in_(bindparam("b_keys", expanding=True)))
_READ_ONE_INLINE = PreparedRead(select(_I.sealed).where(
    _I.mailbox_id == bindparam("b_mailbox"), _I.blob_key == bindparam("b_key")))


def _inline_contents(reads: Reads, wanted: dict[int, set[str]]) -> dict[tuple[int, str], bytes]:
    """The sealed inline blobs among `wanted` (mailbox id: blob keys), in one snapshot."""
    found: dict[tuple[int, str], bytes] = {}
    for mailbox_id, blob_keys in wanted.items():
        for blob_key in sorted(blob_keys):
            sealed = reads.scalar(_READ_ONE_INLINE, b_mailbox=mailbox_id, b_key=blob_key)
            if sealed is not None:
                found[(mailbox_id, blob_key)] = sealed
    return found


def insert_inline(dialect: Dialect) -> Any:
    """INSERT of an inline blob that leaves an existing one alone (same key, same
    content: blob keys are content addresses)."""
    return insert_once(dialect, InlineBlob.__table__, ["mailbox_id", "blob_key"])


async def keep_inline(connection: AsyncConnection, blob: PreparedBlob) -> None:
    """Write the blob's inline content in the caller's transaction, if it has one: every
    row that references a prepared blob (a delivery, an outbound queue entry) calls it."""
    if blob.inline is not None:
        await connection.execute(insert_inline(connection.dialect), {
            "mailbox_id": blob.mailbox_id, "blob_key": blob.blob_key, "sealed": blob.inline})


class MessageContents:
    """Seals, writes and reads messages' contents; caches the mailboxes' data keys."""

    def __init__(
        self, blobs: BlobBackend, keyring: Keyring,
        read_sessions: async_sessionmaker[AsyncSession],
        thread_reads: ThreadReads | None = None,
    ) -> None:
        self.blobs = blobs
        self.keyring = keyring
        self._read_sessions = read_sessions
        self._thread_reads = thread_reads
        self._data_keys: dict[int, bytes] = {}

    async def data_key(self, mailbox_id: int) -> bytes:
        """The mailbox's unwrapped data key (cached: keys never change)."""
        key = self._data_keys.get(mailbox_id)
        if key is None:
            async with self._read_sessions() as session:
                wrapped = (
                    await session.execute(
                        select(Mailbox.data_key).where(Mailbox.id == mailbox_id)
                    )
                ).scalar_one_or_none()
            if wrapped is None:
                raise MailStoreError("NONEXISTENT", f"no mailbox {mailbox_id}")
            key = self.keyring.unwrap(wrapped)
            self._data_keys[mailbox_id] = key
        return key

    async def prepare_blob(self, mailbox_id: int, raw: bytes, *, inline: bool = False
                           ) -> PreparedBlob:
        """Encrypt the message for one mailbox and durably write it, before any row names
        it; with `inline`, a message of MAX_INLINE_BLOB or less is only sealed, and the
        rows that reference it write it in their transaction (`keep_inline`)."""
        key = await self.data_key(mailbox_id)
        sha = hashlib.sha256(raw).hexdigest()
        blob_key = blob_key_for(key, sha)
        sealed = None
        if inline and len(raw) <= MAX_INLINE_BLOB:
            sealed = seal_small(key, blob_key.encode(), raw)
        else:
            await self.blobs.put(mailbox_id, blob_key, key, raw)
        header = header_block(raw)
        sealed_header = (seal_small(key, HEADER_AAD + blob_key.encode(), header)
                         if len(header) <= MAX_SEALED_HEADER else None)
        return PreparedBlob(mailbox_id, blob_key, sha, len(raw), sealed_header, sealed)

    async def open_header(self, entry: EntryInfo) -> bytes | None:
        """The entry's header section from its row, or None when the row has none (then
        the blob is read)."""
        if entry.sealed_header is None:
            return None
        key = await self.data_key(entry.mailbox_id)
        return open_small(key, HEADER_AAD + entry.blob_key.encode(), entry.sealed_header)

    async def read_raw(self, mailbox_id: int, blob_key: str) -> bytes:
        return (await self.read_many([(mailbox_id, blob_key)]))[0]

    async def read_many(self, blobs: Sequence[tuple[int, str]]) -> list[bytes]:
        """Several blobs' contents, in order: the inline ones in one query per mailbox,
        the files in one thread hop."""
        found: dict[tuple[int, str], bytes] = {}
        wanted: dict[int, set[str]] = {}
        for mailbox_id, blob_key in blobs:
            wanted.setdefault(mailbox_id, set()).add(blob_key)
        keys = {mailbox_id: await self.data_key(mailbox_id) for mailbox_id in wanted}
        if self._thread_reads is not None:
            sealed_found = await self._thread_reads.run(
                lambda reads: _inline_contents(reads, wanted))
            for (mailbox_id, blob_key), sealed in sealed_found.items():
                found[(mailbox_id, blob_key)] = open_small(
                    keys[mailbox_id], blob_key.encode(), sealed)
        else:
            async with self._read_sessions() as session:
                for mailbox_id, blob_keys in wanted.items():
                    rows = (await session.execute(_READ_INLINE, {
                        "b_mailbox": mailbox_id, "b_keys": sorted(blob_keys)})).all()
                    for blob_key, sealed in rows:
                        found[(mailbox_id, blob_key)] = open_small(
                            keys[mailbox_id], blob_key.encode(), sealed)
        in_files = [item for item in dict.fromkeys(blobs) if item not in found]
        if in_files:
            contents = await self.blobs.get_many([(m, b, keys[m]) for m, b in in_files])
            found.update(zip(in_files, contents, strict=True))
        return [found[item] for item in blobs]
