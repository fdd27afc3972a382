"""Finding the mailbox a directory operation is about, of the kind it needs
(docs/architecture.md §3): one check, one pair of errors, for every such operation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.errors import MailboxKindRule, UnknownMailbox
from mss.identity import MailboxKind
from mss.store.mailboxes import find_mailbox
from mss.store.tables import Mailbox


async def mailbox_of_kind(session: AsyncSession, address: str, kind: MailboxKind,
                          rule: str) -> Mailbox:
    """The mailbox at `address`, which must be of `kind`: `UnknownMailbox` when there is
    none, `MailboxKindRule(rule)` (the sentence saying which kind and why) otherwise."""
    mailbox = await find_mailbox(session, address)
    if mailbox is None:
        raise UnknownMailbox(address)
    if mailbox.kind != kind.value:
        raise MailboxKindRule(rule)
    return mailbox
