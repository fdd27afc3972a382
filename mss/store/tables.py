"""ORM tables of the mail store: mailboxes, folders, messages, folder entries, audit.

Other packages (directory, vault, pipeline, smtp queue) declare their own tables on the
same `Base`; these are the ones every mailbox needs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, SortKeyText, UtcDateTime

# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Mailbox(Base):
    """A mailbox of any kind (docs/architecture.md §3); address and kind never change after
    creation."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    kind: Mapped[str] = mapped_column(String(3))
    display_name: Mapped[str] = mapped_column(String(300), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    liste_rouge: Mapped[bool] = mapped_column(Boolean, default=False)
    quota_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # 0: no quota
    data_key: Mapped[bytes] = mapped_column(LargeBinary)  # wrapped by the master key
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Folder(Base):
    """An IMAP mailbox (folder) with the counters RFC 3501 and RFC 7162 need."""

    __tablename__ = "folders"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    special_use: Mapped[str | None] = mapped_column(String(20), nullable=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uidnext: Mapped[int] = mapped_column(BigInteger, default=1)
    highestmodseq: Mapped[int] = mapped_column(BigInteger, default=1)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    # RFC 3501 §2.3.2 \Recent: UIDs from recent_uid on are recent for the next session
    # that selects the folder, which claims them in one UPDATE (recent_claimed keeps
    # where its claim started, so the UPDATE's RETURNING gives the claimed range).
    recent_uid: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    recent_claimed: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    # keywords ever stored in the folder, space-separated: SELECT's FLAGS (RFC 3501 §7.2.6)
    keywords: Mapped[str] = mapped_column(Text, default="", server_default="")
    # kept by triggers on folder_entries (migration 0013), for STATUS without counting
    message_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    unseen_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    deleted_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class StoredMessage(Base):
    """One message's content in one mailbox: the blob reference and cached headers.

    Several folder entries (COPY) may point at the same stored message.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    blob_key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    internal_date: Mapped[datetime] = mapped_column(UtcDateTime)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(Text, default="")
    to_addrs: Mapped[str] = mapped_column(Text, default="")
    sent_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The header section sealed with the mailbox key (AES-GCM, like the blob): ENVELOPE
    # and header fetches without reading the blob. None on rows written before 0002.
    sealed_header: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # the id the accepting session gave (`queued as`, logs, `mss trace`); None for
    # IMAP APPEND and rows written before 0004
    queue_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # who the pipeline accepted it from (docs/sender-truth.md); NULL for APPEND: From then
    author: Mapped[str | None] = mapped_column(String(320), nullable=True)
    author_principal: Mapped[str | None] = mapped_column(String(400), nullable=True)
    # RFC 5256 sort keys (mss.store.sort_keys), so SORT is ordered by the database
    sort_subject: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")
    sort_from: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")
    sort_to: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")
    sort_cc: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")


class BlobChunk(Base):
    """A blob kept in the database (`store.blob_backend = "database"`): the bytes a blob
    file would hold (magic, nonce, AES-GCM with the blob key as associated data), cut
    in chunks of at most 1 MiB so that no statement carries a whole large message
    (mss.store.blobs.DatabaseBlobStore). Committed before any row names it."""

    __tablename__ = "blob_chunks"

    mailbox_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    blob_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SealedFile(Base):
    """A file of a node's data folder every node needs (PKI, DKIM keys), sealed under a
    key derived from the master key (mss.store.node_files): a new node brings it from
    the database and needs nothing but the database URL and the master key; running
    nodes keep their files and these rows in step (`NodeFiles.sync`)."""

    __tablename__ = "sealed_files"

    name: Mapped[str] = mapped_column(String(500), primary_key=True)  # data-folder relative
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # when the content last changed (the changed file's mtime): the newest wins a conflict
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # bumped by each change; a republish is made over the version read (schema 0024)
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class InlineBlob(Base):
    """A small blob kept in the database instead of a file (docs/design-notes.md, Performance):
    sealed exactly
    like a blob file's content (AES-GCM, the blob key as associated data), and written
    in the transaction that references it, so its durability is the commit's."""

    __tablename__ = "inline_blobs"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    blob_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


SORT_INDEXED = ("sort_date", "sort_arrival", "sort_from", "sort_subject", "sort_size")
"""The sort keys of `folder_entries` with a (folder_id, key, uid) index."""


class FolderEntry(Base):
    """A message as seen in one folder: UID, shared flags and MODSEQ (RFC 3501, RFC 7162)."""

    __tablename__ = "folder_entries"
    __table_args__ = (
        UniqueConstraint("folder_id", "uid"),
        Index("ix_folder_entries_folder_modseq", "folder_id", "modseq"),
        # the unread entries alone (migration 0015, mss.store.unseen_index)
        Index("ix_folder_entries_unseen", "folder_id", "uid",
              sqlite_where=text("instr(flags, '\\Seen') = 0"),
              postgresql_where=text("strpos(flags, '\\Seen') = 0")),
        # SORT of a folder read in order from an index (migration 0020, RFC 5256 §3):
        # the keys clients sort by; TO and CC are kept but not indexed
        *(Index(f"ix_folder_entries_{key}", "folder_id", key, "uid") for key in SORT_INDEXED),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    uid: Mapped[int] = mapped_column(BigInteger)
    modseq: Mapped[int] = mapped_column(BigInteger)
    flags: Mapped[str] = mapped_column(Text, default="")  # space-separated, sorted
    # RFC 8514 save date when it differs from the message's internal date (a COPY, a
    # MOVE, an APPEND with a date); NULL: saved when it arrived
    saved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # the message's RFC 5256 sort keys, copied beside the entry at delivery, APPEND,
    # COPY and MOVE so that SORT orders the folder without reading `messages`:
    # DATE (the sent date, or the internal date without one, RFC 5256 §2.2), ARRIVAL
    # (the internal date), SIZE, and the keys of mss.store.sort_keys
    sort_date: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sort_arrival: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sort_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sort_from: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")
    sort_to: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")
    sort_cc: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")
    sort_subject: Mapped[str] = mapped_column(SortKeyText, default="", server_default="")


class ExpungedEntry(Base):
    """A UID removed from a folder and the MODSEQ of its removal, so that a client
    resynchronising (RFC 7162 §3.2.5 QRESYNC, §3.2.6 VANISHED) learns exactly which of
    the messages it knew are gone."""

    __tablename__ = "expunged_entries"
    __table_args__ = (Index("ix_expunged_entries_folder_modseq", "folder_id", "modseq"),)

    folder_id: Mapped[int] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    modseq: Mapped[int] = mapped_column(BigInteger)


class PrivateFlags(Base):
    """Flags a member of a shared ORG mailbox keeps for themself (`\\Seen` above all)."""

    __tablename__ = "private_flags"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("folder_entries.id", ondelete="CASCADE"), primary_key=True
    )
    reader: Mapped[str] = mapped_column(String(320), primary_key=True)
    flags: Mapped[str] = mapped_column(Text, default="")
    modseq: Mapped[int] = mapped_column(BigInteger)


class AuditEvent(Base):
    """Append-only trace row of one chain (a node's writer, docs/audit.md); `hash` is the
    keyed MAC of the row and the previous row's `hash` in that chain (mss/store/audit.py).
    `id` orders the rows of every chain as they were written (the patient's reads)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject_id", "subject", "id"),
                      UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"))

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # the writer's chain; "" is the one chain written before schema 0021
    chain: Mapped[str] = mapped_column(String(200), default="", server_default="")
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    principal: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(400), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    subject: Mapped[str] = mapped_column(String(320), default="")  # whose record (patient)
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A chain's head: one row per chain (per node's writer), locked by the writers of
    that chain only, so that no chain forks and no row is shared by the cluster.

    `keyed_from`: the first row whose `hash` is a keyed MAC (rows of the chain "" written
    before schema 0011 have a plain SHA-256; docs/audit.md)."""

    __tablename__ = "audit_heads"

    chain: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    keyed_from: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class ClusterNode(Base):
    """A running `mss serve` node; its heartbeat says it is alive (`mss cluster status`)."""

    __tablename__ = "cluster_nodes"

    node_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
