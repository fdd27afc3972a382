"""Search over a patient's messages and documents, served from an index: SQLite FTS5
(contentless tables `message_search`, `document_search`) on the embedded default,
PostgreSQL full text (tsvector columns with GIN indexes) on PostgreSQL.

Invariants:
- the index keeps terms, never the text: FTS5 tables are contentless (content=''), the
  tsvectors hold lexemes; the text is read from the sealed blob when a message is
  indexed and then dropped;
- indexing catches up on demand, in batches, before a search answers (`catch_up`), so
  a search sees every message delivered before it; a background pass may run it too;
- text and query are folded the same way on both engines (NFKD, accents and case off,
  words of letters and digits), and every query word is a prefix (`card` finds
  `cardiologie`); the filters (sender, date range) are AND-ed;
- results are only hers: a message of her mailbox in INBOX, Sent or Trash, a document of
  hers not deleted (a PDF copy folds into its original, as the documents page does).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import nh3
from sqlalchemy import BigInteger, String, Text, bindparam, column, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mss.background import PeriodicPass
from mss.directory.tables import MailboxOwner, Patient
from mss.pipeline.tables import DocumentSearchRow, MessageSearchRow
from mss.store.db import UtcDateTime
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import Mailbox, StoredMessage
from mss.store.unit_of_work import UnitOfWork
from mss.vault.tables import DocumentRow

log = logging.getLogger(__name__)
FTS_TABLES = ("message_search", "document_search")
"""The SQLite FTS5 tables (and their shadow tables, same prefix) the migration creates
outside the declared metadata."""
SEARCHED_FOLDERS = (INBOX, "Sent", "Trash")
BATCH = 500
MAX_BODY = 200_000  # characters of text indexed per message
MAX_WORDS = 12
_WORD = re.compile(r"\w+", re.UNICODE)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})  # NFKD keeps these


def folded(value: str) -> str:
    """Lower case without accents, words separated by single spaces: what is indexed
    and what is looked up, identically on SQLite and PostgreSQL."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(_WORD.findall(plain.translate(_LIGATURES)))


def query_words(value: str) -> list[str]:
    return folded(value).split()[:MAX_WORDS]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    sender: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (query_words(self.text) or query_words(self.sender) or self.since
                    or self.until)


@dataclass(frozen=True, slots=True)
class MessageHit:
    folder: str
    uid: int
    subject: str
    from_addr: str
    to_addrs: str
    internal_date: datetime


@dataclass(frozen=True, slots=True)
class DocumentHit:
    id: int
    title: str
    file_name: str
    author: str
    received_at: datetime


# -- extraction --------------------------------------------------------------------------

def message_text(raw: bytes) -> tuple[str, str, str]:
    """(sender, subject, body) of a message as indexed: the From field, the subject, the
    text parts (HTML without its tags) and the attachments' names."""
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    sender = _header(message, "From")
    subject = _header(message, "Subject")
    pieces: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            name = part.get_filename()
        except Exception:  # unreadable parameters: no name to index
            name = None
        if name:
            pieces.append(name)
            continue
        if part.get_content_maintype() != "text":
            continue
        try:
            content = str(part.get_content())
        except Exception:  # unknown charset: the bytes as UTF-8
            payload = part.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if part.get_content_subtype() == "html":
            content = nh3.clean(content, tags=set())
        pieces.append(content)
    return folded(sender), folded(subject), folded(" ".join(pieces)[:MAX_BODY])


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # an unparsable field: nothing indexed for it
        return ""


# -- indexing ----------------------------------------------------------------------------

async def _all_indexed(session: AsyncSession, mailbox_id: int, ins: str) -> bool:
    """Whether nothing is pending, by counts over indexes (an index row goes with its
    message or document: ON DELETE CASCADE), cheaper than looking for the missing."""
    counts = (await session.execute(select(
        select(func.count()).select_from(StoredMessage)
        .where(StoredMessage.mailbox_id == mailbox_id).scalar_subquery(),
        select(func.count()).select_from(MessageSearchRow)
        .where(MessageSearchRow.mailbox_id == mailbox_id).scalar_subquery(),
        select(func.count()).select_from(DocumentRow)
        .where(DocumentRow.patient_ins == ins).scalar_subquery(),
        select(func.count()).select_from(DocumentSearchRow)
        .where(DocumentSearchRow.patient_ins == ins).scalar_subquery(),
    ))).one()
    return int(counts[0]) == int(counts[1]) and int(counts[2]) == int(counts[3])


async def _pending_messages(session: AsyncSession, mailbox_id: int, limit: int
                            ) -> list[tuple[int, int, str, datetime]]:
    query = (select(StoredMessage.id, StoredMessage.mailbox_id, StoredMessage.blob_key,
                    StoredMessage.internal_date)
             .outerjoin(MessageSearchRow, MessageSearchRow.message_id == StoredMessage.id)
             .where(StoredMessage.mailbox_id == mailbox_id,
                    MessageSearchRow.message_id.is_(None))
             .order_by(StoredMessage.id).limit(limit))
    return [(r[0], r[1], r[2], r[3]) for r in (await session.execute(query)).all()]


async def _pending_documents(session: AsyncSession, ins: str, limit: int) -> list[Any]:
    query = (select(DocumentRow.id, DocumentRow.title, DocumentRow.file_name,
                    DocumentRow.author, DocumentRow.sender_mailbox, DocumentRow.received_at)
             .outerjoin(DocumentSearchRow, DocumentSearchRow.document_id == DocumentRow.id)
             .where(DocumentRow.patient_ins == ins, DocumentSearchRow.document_id.is_(None))
             .order_by(DocumentRow.id).limit(limit))
    return list((await session.execute(query)).all())


async def _add(connection: AsyncConnection, kind: str, rows: Sequence[dict[str, Any]]
               ) -> None:
    """Index rows (`id`, owner, `at`, `sender`, `subject`, `body`) of one kind."""
    if not rows:
        return
    table = MessageSearchRow if kind == "message" else DocumentSearchRow
    key, owner = (("message_id", "mailbox_id") if kind == "message"
                  else ("document_id", "patient_ins"))
    if connection.dialect.name == "postgresql":
        await connection.execute(text(
            f"INSERT INTO {table.__tablename__} ({key}, {owner}, at, terms, sender_terms) "
            f"VALUES (:id, :owner, :at, to_tsvector('simple', :sender || ' ' || :subject "
            f"|| ' ' || :body), to_tsvector('simple', :sender)) ON CONFLICT DO NOTHING"
        ).bindparams(bindparam("at", type_=UtcDateTime())), list(rows))
        return
    await connection.execute(text(
        f"INSERT OR IGNORE INTO {table.__tablename__} ({key}, {owner}, at) "
        f"VALUES (:id, :owner, :at)").bindparams(bindparam("at", type_=UtcDateTime())), [
            {"id": r["id"], "owner": r["owner"], "at": r["at"]} for r in rows])
    fts = "message_search" if kind == "message" else "document_search"
    await connection.execute(text(
        f"INSERT INTO {fts} (rowid, sender, subject, body) "
        f"VALUES (:id, :sender, :subject, :body)"), [
            {"id": r["id"], "sender": r["sender"], "subject": r["subject"], "body": r["body"]}
            for r in rows])


async def catch_up(store: Store, mailbox_id: int, ins: str, *, batch: int = BATCH) -> int:
    """Index what of her mailbox and documents is not yet: how many rows were added."""
    added = 0
    while True:
        async with store.reading() as session:
            if await _all_indexed(session, mailbox_id, ins):
                return added
            pending = await _pending_messages(session, mailbox_id, batch)
            documents = await _pending_documents(session, ins, batch) if ins else []
        if not pending and not documents:
            return added
        raws = await store.mail.contents.read_many([(m, b) for _, m, b, _ in pending])
        rows = []
        for (message_id, owner, _, at), raw in zip(pending, raws, strict=True):
            sender, subject, body = message_text(raw)
            rows.append({"id": message_id, "owner": owner, "at": at, "sender": sender,
                         "subject": subject, "body": body})
        document_rows = [{
            "id": d.id, "owner": ins, "at": d.received_at,
            "sender": folded(f"{d.author or ''} {d.sender_mailbox or ''}"),
            "subject": folded(d.title or ""), "body": folded(d.file_name or ""),
        } for d in documents]

        await store.write(_indexing(rows, document_rows))
        added += len(rows) + len(document_rows)
        if len(pending) < batch and len(documents) < batch:
            return added


def _indexing(rows: list[dict[str, Any]], documents: list[dict[str, Any]]
              ) -> Callable[[UnitOfWork], Awaitable[None]]:
    async def job(uow: UnitOfWork) -> None:
        await uow.session.flush()
        connection = await uow.session.connection()
        await _add(connection, "message", rows)
        await _add(connection, "document", documents)

    return job


# -- searching ---------------------------------------------------------------------------

def _fts_match(query: SearchQuery) -> str:
    """An FTS5 query: every word a quoted prefix, the sender's words in its column."""
    words = [f'"{w}"*' for w in query_words(query.text)]
    words += [f'sender : "{w}"*' for w in query_words(query.sender)]
    return " AND ".join(words)


def _ts_query(words: list[str]) -> str:
    return " & ".join(f"{w}:*" for w in words)  # words are \w+ only: nothing to escape


def _matching(dialect: str, kind: str, query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """A subquery of the ids of `kind` rows matching the words, or '' for none needed."""
    table = "message_search_rows" if kind == "message" else "document_search_rows"
    key = "message_id" if kind == "message" else "document_id"
    params: dict[str, Any] = {}
    if dialect == "postgresql":
        clauses = []
        if query_words(query.text):
            clauses.append("terms @@ to_tsquery('simple', :q_terms)")
            params["q_terms"] = _ts_query(query_words(query.text))
        if query_words(query.sender):
            clauses.append("sender_terms @@ to_tsquery('simple', :q_sender)")
            params["q_sender"] = _ts_query(query_words(query.sender))
        if not clauses:
            return "", params
        return f"SELECT {key} FROM {table} WHERE " + " AND ".join(clauses), params
    match = _fts_match(query)
    if not match:
        return "", params
    fts = "message_search" if kind == "message" else "document_search"
    params["q_match"] = match
    return f"SELECT rowid FROM {fts} WHERE {fts} MATCH :q_match", params


async def search_messages(session: AsyncSession, mailbox_id: int, query: SearchQuery, *,
                          limit: int = 50) -> list[MessageHit]:
    """Her messages matching the query, latest arrived first (INBOX, Sent, Trash)."""
    if query.empty:
        return []
    connection = await session.connection()
    dialect = connection.dialect.name
    matching, params = _matching(dialect, "message", query)
    conditions = ["r.mailbox_id = :mailbox"]
    params.update(mailbox=mailbox_id, limit=limit)
    source, order = "message_search_rows r", "r.message_id DESC"
    if matching and dialect == "sqlite":
        # the FTS5 table drives, newest rowid (message id) first, so LIMIT stops the
        # walk early even when a word is in thousands of her messages
        source = "message_search s JOIN message_search_rows r ON r.message_id = s.rowid"
        conditions.append("message_search MATCH :q_match")
        order = "s.rowid DESC"
    elif matching:
        conditions.append(f"r.message_id IN ({matching})")
    _add_period(conditions, params, query)
    statement = text(
        "SELECT f.name, e.uid, m.subject, COALESCE(m.author, m.from_addr), m.to_addrs, "
        f"m.internal_date FROM {source} "
        "JOIN messages m ON m.id = r.message_id "
        "JOIN folder_entries e ON e.message_id = m.id "
        "JOIN folders f ON f.id = e.folder_id AND f.mailbox_id = r.mailbox_id "
        f"WHERE {' AND '.join(conditions)} AND f.name IN :folders "
        f"ORDER BY {order}, e.uid DESC LIMIT :limit"
    ).bindparams(bindparam("folders", expanding=True), *_datetime_params(params)
                 ).columns(column("name", String()), column("uid", BigInteger()),
                           column("subject", Text()), column("author", Text()),
                           column("to_addrs", Text()), column("at", UtcDateTime()))
    params["folders"] = list(SEARCHED_FOLDERS)
    rows = (await session.execute(statement, params)).all()
    return [MessageHit(r[0], int(r[1]), r[2] or "", r[3] or "", r[4] or "", r[5])
            for r in rows]


async def search_documents(session: AsyncSession, ins: str, query: SearchQuery, *,
                           limit: int = 50) -> list[DocumentHit]:
    """Her documents matching the query, newest first."""
    if query.empty:
        return []
    connection = await session.connection()
    matching, params = _matching(connection.dialect.name, "document", query)
    conditions = ["r.patient_ins = :ins", "d.deleted = :no", "d.copy_of_id IS NULL"]
    params.update(ins=ins, limit=limit, no=False)
    if matching:
        conditions.append(f"r.document_id IN ({matching})")
    _add_period(conditions, params, query)
    statement = text(
        "SELECT d.id, d.title, d.file_name, d.author, d.received_at "
        "FROM document_search_rows r JOIN vault_documents d ON d.id = r.document_id "
        f"WHERE {' AND '.join(conditions)} ORDER BY r.at DESC LIMIT :limit"
    ).bindparams(*_datetime_params(params)).columns(
        column("id", BigInteger()), column("title", Text()), column("file_name", Text()),
        column("author", Text()), column("at", UtcDateTime()))
    rows = (await session.execute(statement, params)).all()
    return [DocumentHit(int(r[0]), r[1] or "", r[2] or "", r[3] or "", r[4]) for r in rows]


def _add_period(conditions: list[str], params: dict[str, Any], query: SearchQuery) -> None:
    """The query's since/until bounds on the search rows' date (``r.at``), half-open."""
    if query.since is not None:
        conditions.append("r.at >= :since")
        params["since"] = query.since
    if query.until is not None:
        conditions.append("r.at < :until")
        params["until"] = query.until


def _datetime_params(params: dict[str, Any]) -> list[Any]:
    """Bound datetimes compared as the UTC columns store them (mss.store.db.UtcDateTime)."""
    return [bindparam(name, type_=UtcDateTime()) for name in ("since", "until")
            if name in params]


async def catch_up_patients(store: Store, *, batch: int = BATCH) -> int:
    """Index what every patient mailbox has pending (the background pass), so the first
    search after many deliveries does not pay for them."""
    async with store.reading() as session:
        pending = (await session.execute(
            select(Mailbox.id, Patient.ins).distinct()
            .join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
            .join(Patient, Patient.id == MailboxOwner.patient_id)
            .join(StoredMessage, StoredMessage.mailbox_id == Mailbox.id)
            .outerjoin(MessageSearchRow, MessageSearchRow.message_id == StoredMessage.id)
            .where(Mailbox.kind == "PAT", MessageSearchRow.message_id.is_(None))
            .limit(batch))).all()
    added = 0
    for mailbox_id, ins in pending:
        added += await catch_up(store, mailbox_id, ins, batch=batch)
    return added


class SearchIndexer(PeriodicPass):
    """Background indexing of patient mailboxes (mss.background.PeriodicPass)."""

    name = "search-index"

    def __init__(self, store: Store, *, pass_seconds: float = 60.0) -> None:
        super().__init__(pass_seconds=pass_seconds)
        self.store = store

    async def one_pass(self) -> None:
        while await catch_up_patients(self.store) > 0:
            pass
