"""Creating and finding mailbox rows; the directory owns who they belong to."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mss.identity import MailboxKind, Principal
from mss.store.audit_actions import AuditAction
from mss.store.keys import Keyring
from mss.store.tables import Folder, Mailbox, StoredMessage
from mss.store.unit_of_work import UnitOfWork

INBOX = "INBOX"
# RFC 6154 special-use folders every professional or patient mailbox starts with.
DEFAULT_FOLDERS: tuple[tuple[str, str | None], ...] = (
    (INBOX, None),
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)


class MailboxExists(Exception):
    pass


def new_uidvalidity() -> int:
    """RFC 3501 §2.3.1.1: a value never reused for a name; random 31-bit is safe."""
    return secrets.randbelow(2**31 - 2) + 1


async def create_mailbox(
    uow: UnitOfWork, keyring: Keyring, *, address: str, kind: MailboxKind,
    display_name: str = "", liste_rouge: bool = False, quota_bytes: int = 0,
    principal: Principal | str = "system:mss",
) -> Mailbox:
    """A mailbox row with its own wrapped data key and its default folders."""
    address = address.lower()
    existing = await find_mailbox(uow.session, address)
    if existing is not None:
        raise MailboxExists(address)
    mailbox = Mailbox(
        address=address, kind=kind.value, display_name=display_name, disabled=False,
        liste_rouge=liste_rouge, quota_bytes=quota_bytes,
        data_key=keyring.new_wrapped_data_key(), created_at=uow.now(),
    )
    uow.session.add(mailbox)
    await uow.session.flush()
    folders = DEFAULT_FOLDERS if kind is not MailboxKind.APP else DEFAULT_FOLDERS[:2]
    for name, special in folders:
        uow.session.add(Folder(
            mailbox_id=mailbox.id, name=name, special_use=special,
            uidvalidity=new_uidvalidity(), uidnext=1, highestmodseq=1, subscribed=True,
        ))
    await uow.session.flush()
    uow.audit(AuditAction.MAILBOX_CREATED, principal, target=address, detail=kind.value)
    return mailbox


async def find_mailbox(session: AsyncSession, address: str) -> Mailbox | None:
    query = select(Mailbox).where(Mailbox.address == address.lower())
    return (await session.execute(query)).scalar_one_or_none()


class MailboxLookup:
    """A mailbox's id by address, and what it stores, for the parts that hold an address
    (the pipeline's recipients, the webmail's pages) or a quota to answer."""

    def __init__(self, read_sessions: async_sessionmaker[AsyncSession]) -> None:
        self._read_sessions = read_sessions
        self._ids: dict[str, int] = {}

    async def id_of(self, address: str) -> int | None:
        """Mailbox id by address; cached, since an address never changes owner or id."""
        cached = self._ids.get(address)
        if cached is None:
            async with self._read_sessions() as session:
                cached = (
                    await session.execute(select(Mailbox.id).where(Mailbox.address == address))
                ).scalar_one_or_none()
            if cached is not None:
                self._ids[address] = cached
        return cached

    async def usage(self, session: AsyncSession, mailbox_id: int) -> int:
        """Bytes stored for a mailbox (RFC 9208 STORAGE resource)."""
        total = (
            await session.execute(
                select(func.coalesce(func.sum(StoredMessage.size), 0)).where(
                    StoredMessage.mailbox_id == mailbox_id
                )
            )
        ).scalar_one()
        return int(total)
