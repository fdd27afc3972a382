"""Messages the pipeline refused for a webmail sender, kept visibly as not sent.

docs/architecture.md §4: "A refused patient message is never silently dropped: the webmail shows it
as not sent, with the reason." The text goes into the sender's Drafts folder (so it can
be copied again) and a row keeps recipient, rule and reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from mss.pipeline.tables import RefusedSendRow
from mss.store.mail_errors import MailStoreError
from mss.store.message_contents import PreparedBlob
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

DRAFTS = "Drafts"
DRAFT = "\\Draft"


@dataclass(frozen=True, slots=True)
class RefusedSend:
    id: int
    recipient: str
    recipient_name: str
    subject: str
    rule: str
    reason: str
    drafts_uid: int | None
    at: datetime


async def keep_refused(store: Store, mailbox: str, raw: bytes, *, recipient: str,
                       recipient_name: str, subject: str, rule: str, reason: str) -> RefusedSend:
    mailbox_id = await store.mail.mailboxes.id_of(mailbox)
    blob: PreparedBlob | None = None
    if mailbox_id is not None:
        blob = await store.mail.contents.prepare_blob(mailbox_id, raw, inline=True)

    async def job(uow: UnitOfWork) -> RefusedSend:
        uid = None
        if blob is not None:
            try:  # the allocating UPDATE found no row: nothing was written, go on
                delivered = await store.mail.delivery.deliver_to_folder(uow, DRAFTS, blob, raw,
                                                               flags=(DRAFT, "\\Seen"))
                uid = delivered.uid
            except MailStoreError:
                uid = None  # no Drafts folder (APP mailboxes): the row alone keeps it
        row = RefusedSendRow(mailbox=mailbox, recipient=recipient,
                             recipient_name=recipient_name[:300], subject=subject,
                             rule=rule, reason=reason, drafts_uid=uid, at=uow.now())
        uow.session.add(row)
        await uow.session.flush()
        return _view(row)

    return await store.write(job)


async def refused_sends(store: Store, mailbox: str, *, limit: int = 50) -> list[RefusedSend]:
    async with store.reading() as session:
        rows = (await session.execute(
            select(RefusedSendRow).where(RefusedSendRow.mailbox == mailbox)
            .order_by(RefusedSendRow.id.desc()).limit(limit))).scalars().all()
        return [_view(r) for r in rows]


def _view(row: RefusedSendRow) -> RefusedSend:
    return RefusedSend(row.id, row.recipient, row.recipient_name, row.subject, row.rule,
                       row.reason, row.drafts_uid, row.at)
