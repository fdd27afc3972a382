"""Reading and sending from the webmail, shared by the patient and professional pages.

Invariants: a message is looked up only inside the session's own mailbox (an id from
another mailbox is simply not found); reading marks \\Seen (per reader on ORG mailboxes)
and writes a MESSAGE_READ trace with the patient as subject; every send goes through
the one pipeline, and a refused recipient is kept as "not sent" with its reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import AcceptResult, Submission
from mss.pipeline.conversations import patient_subject
from mss.pipeline.refused_sends import keep_refused
from mss.policy import Channel
from mss.policy.addresses import is_patient_address
from mss.store.audit_actions import AuditAction
from mss.store.mailboxes import INBOX
from mss.store.mailstore import SEEN, EntryInfo, FlagMode, MailStoreError
from mss.store.unit_of_work import UnitOfWork
from mss.webmail.web_context import WebContext

FOLDERS = {"inbox": INBOX, "sent": "Sent"}


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
    mailbox_id = await web.store.mail.mailbox_id(principal.mailbox or "")
    if folder_name is None or mailbox_id is None:
        return None
    async with web.store.reading() as session:
        try:
            folder = await web.store.mail.folder(session, mailbox_id, folder_name)
        except MailStoreError:
            return None
        entries = await web.store.mail.entries(session, folder.id, uids=[uid],
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
    raw = await web.store.mail.read_raw(entry.mailbox_id, entry.blob_key)
    subject = trace_subject(principal, entry, principal.mailbox or "")
    reader = reader_of(principal)

    async def job(uow: UnitOfWork) -> None:
        if SEEN not in entry.flags:
            await web.store.mail.store_flags(uow, folder_id, [uid], {SEEN}, FlagMode.ADD,
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
