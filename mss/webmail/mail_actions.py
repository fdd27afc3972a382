"""Reading and sending from the webmail, shared by the patient and professional pages.

Invariants: a message is looked up only inside the session's own mailbox (an id from
another mailbox is simply not found); reading marks \\Seen (per reader on ORG mailboxes)
and writes a MESSAGE_READ trace with the patient as subject; every send goes through
the one pipeline, and a refused recipient is kept as "not sent" with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser

from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import AcceptResult, Submission
from mss.pipeline.conversations import patient_subject
from mss.pipeline.refused_sends import keep_refused
from mss.policy import Channel
from mss.policy.addresses import is_patient_address
from mss.read_models.mailbox_views import MessageSummary
from mss.store.audit_actions import AuditAction
from mss.store.entry_reads import EntryInfo
from mss.store.flag_changes import FlagMode
from mss.store.flags import SEEN
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX
from mss.store.unit_of_work import UnitOfWork
from mss.webmail.web_context import WebContext

FOLDERS = {"inbox": INBOX, "sent": "Sent", "trash": "Trash", "drafts": "Drafts"}
FOLDER_KEYS = {name: key for key, name in FOLDERS.items()}


def conversation_key(address: str) -> str:
    """An opaque handle for a conversation in URLs: the patient never sees addresses."""
    return hashlib.sha256(address.lower().encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    entry: EntryInfo
    folder: str
    raw: bytes


def reader_of(principal: Principal) -> str | None:
    """ORG mailboxes keep \\Seen per member (RFC 4314-style private flags)."""
    if principal.kind is PrincipalKind.PROFESSIONAL and principal.mailbox:
        return principal.ident
    return None


async def find_entry(web: WebContext, principal: Principal, folder_key: str, uid: int
                     ) -> tuple[int, EntryInfo] | None:
    folder_name = FOLDERS.get(folder_key)
    mailbox_id = await web.store.mail.mailboxes.id_of(principal.mailbox or "")
    if folder_name is None or mailbox_id is None:
        return None
    async with web.store.reading() as session:
        try:
            folder = await web.store.mail.folders.named(session, mailbox_id, folder_name)
        except MailStoreError:
            return None
        entries = await web.store.mail.reads.entries(session, folder.id, uids=[uid],
                                               reader=reader_of(principal))
    return (folder.id, entries[0]) if entries else None


def trace_subject(principal: Principal, entry: EntryInfo, mailbox: str) -> str:
    """Whose record a read concerns: the patient reading, or the patient who wrote."""
    if principal.kind is PrincipalKind.PATIENT:
        return principal.ident
    if is_patient_address(entry.from_addr):
        return patient_subject(entry.from_addr)
    return ""


async def open_message(web: WebContext, principal: Principal, folder_key: str, uid: int
                       ) -> OpenedMessage | None:
    found = await find_entry(web, principal, folder_key, uid)
    if found is None:
        return None
    folder_id, entry = found
    raw = await web.store.mail.contents.read_raw(entry.mailbox_id, entry.blob_key)
    subject = trace_subject(principal, entry, principal.mailbox or "")
    reader = reader_of(principal)

    async def job(uow: UnitOfWork) -> None:
        if SEEN not in entry.flags:
            await web.store.mail.flags.store_flags(uow, folder_id, [uid], {SEEN}, FlagMode.ADD,
                                             reader=reader)
        uow.audit(AuditAction.MESSAGE_READ, principal, target=principal.mailbox or "",
                  subject=subject,
                  detail=f"folder={FOLDERS[folder_key]} uid={uid} "
                         f"date={entry.internal_date.isoformat()} from={entry.from_addr}")

    await web.store.write(job)
    return OpenedMessage(entry, folder_key, raw)


async def send(web: WebContext, principal: Principal, recipients: list[str], raw: bytes, *,
               subject: str, names: dict[str, str] | None = None, via: str = "webmail"
               ) -> AcceptResult:
    mailbox = principal.mailbox or ""
    result = await web.pipeline.accept(Submission(
        mail_from=mailbox, recipients=recipients, raw=raw, channel=Channel.SUBMISSION,
        principal=principal, via=via))
    for refused in result.refused if via == "webmail" else ():  # the API answers instead
        await keep_refused(web.store, mailbox, raw, recipient=refused.address,
                           recipient_name=(names or {}).get(refused.address, ""),
                           subject=subject, rule=refused.verdict.rule.value,
                           reason=refused.verdict.reason)
    return result


async def header_links(web: WebContext, messages: Sequence[MessageSummary]
                       ) -> dict[tuple[str, int], tuple[str, str]]:
    """(In-Reply-To, References) of each message, from its sealed header section (the
    blob when the row has none): what threads a conversation (RFC 5322 §3.6.4)."""
    found: dict[tuple[str, int], tuple[str, str]] = {}
    for m in messages:
        entry = EntryInfo(uid=m.uid, modseq=0, flags=frozenset(), message_id=0,
                          mailbox_id=m.mailbox_id, blob_key=m.blob_key, size=m.size,
                          internal_date=m.internal_date, sealed_header=m.sealed_header)
        header = await web.store.mail.contents.open_header(entry)
        if header is None:
            header = await web.store.mail.contents.read_raw(m.mailbox_id, m.blob_key)
        fields = BytesParser(policy=policy.default).parsebytes(header, headersonly=True)
        found[(m.folder, m.uid)] = (_field(fields, "In-Reply-To"), _field(fields, "References"))
    return found


def _field(message: Message, name: str) -> str:
    try:
        return " ".join(str(v) for v in message.get_all(name, []))
    except Exception:  # an unreadable field links nothing
        return ""


async def texts_of(web: WebContext, messages: Sequence[MessageSummary]
                   ) -> dict[tuple[str, int], str]:
    """The text each message of a conversation page shows (read in one pass)."""
    from mss.webmail.message_view import message_texts

    raws = await web.store.mail.contents.read_many([(m.mailbox_id, m.blob_key) for m in messages])
    shown: dict[tuple[str, int], str] = {}
    for m, raw in zip(messages, raws, strict=True):
        shown[(m.folder, m.uid)] = "\n\n".join(message_texts(raw))
    return shown


async def mark_conversation_read(web: WebContext, principal: Principal,
                                 messages: Sequence[MessageSummary], conversation: str
                                 ) -> None:
    """Opening a conversation shows its messages: the unread received ones become \\Seen,
    and the opening is one MESSAGE_READ trace naming the UIDs shown."""
    mailbox_id = await web.store.mail.mailboxes.id_of(principal.mailbox or "")
    if mailbox_id is None or not messages:
        return
    unread = [m.uid for m in messages if not m.outgoing and not m.seen]
    async with web.store.reading() as session:
        inbox = await web.store.mail.folders.named(session, mailbox_id, INBOX)
    shown = " ".join(f"{FOLDER_KEYS[m.folder]}:{m.uid}" for m in messages)

    async def job(uow: UnitOfWork) -> None:
        if unread:
            await web.store.mail.flags.store_flags(uow, inbox.id, unread, {SEEN}, FlagMode.ADD,
                                             reader=reader_of(principal))
        uow.audit(AuditAction.MESSAGE_READ, principal, target=principal.mailbox or "",
                  subject=principal.ident if principal.kind is PrincipalKind.PATIENT else "",
                  detail=f"conversation={conversation} shown={shown}")

    await web.store.write(job)


async def mark_unread(web: WebContext, principal: Principal, folder_key: str, uid: int
                      ) -> bool:
    """Mark as unread: \\Seen removed (RFC 3501 §2.3.2), traced; False when not found."""
    found = await find_entry(web, principal, folder_key, uid)
    if found is None:
        return False
    folder_id, entry = found

    async def job(uow: UnitOfWork) -> None:
        await web.store.mail.flags.store_flags(uow, folder_id, [uid], {SEEN}, FlagMode.REMOVE,
                                         reader=reader_of(principal))
        uow.audit(AuditAction.MESSAGE_FLAGS_CHANGED, principal,
                  target=principal.mailbox or "",
                  subject=trace_subject(principal, entry, principal.mailbox or ""),
                  detail=f"folder={FOLDERS[folder_key]} uid={uid} -\\Seen")

    await web.store.write(job)
    return True


async def trace_attachment(web: WebContext, principal: Principal, folder_key: str,
                           entry: EntryInfo, index: int, how: str) -> None:
    """An attachment opened (preview) or downloaded is an access to the message: traced."""
    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.MESSAGE_READ, principal, target=principal.mailbox or "",
                  subject=trace_subject(principal, entry, principal.mailbox or ""),
                  detail=f"folder={FOLDERS[folder_key]} uid={entry.uid} attachment={index} "
                         f"{how}")

    await web.store.write(job)


async def trace_listing(web: WebContext, principal: Principal, folder: str, count: int
                        ) -> None:
    """A list of her messages shown (Sent, Trash, search results) is an access: traced."""
    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.MESSAGE_READ, principal, target=principal.mailbox or "",
                  subject=principal.ident if principal.kind is PrincipalKind.PATIENT else "",
                  detail=f"list={folder} shown={count}")

    await web.store.write(job)


async def trace_search(web: WebContext, principal: Principal, messages: int,
                       documents: int) -> None:
    """A search shows her messages and documents: both listings are traced (never the
    words searched: traces hold no content)."""
    subject = principal.ident if principal.kind is PrincipalKind.PATIENT else ""

    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.MESSAGE_READ, principal, target=principal.mailbox or "",
                  subject=subject, detail=f"list=search shown={messages}")
        uow.audit(AuditAction.DOCUMENT_LISTED, principal, target=principal.mailbox or "",
                  subject=subject, detail=f"search shown={documents}")

    await web.store.write(job)
