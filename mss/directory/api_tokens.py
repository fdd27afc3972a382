"""Bearer tokens of APP mailboxes for the HTTP API (hospital software).

MSS choice: a random token per APP mailbox, shown once at creation, stored as its
SHA-256; the principal is the mailbox's owner application (mss.directory.principals).
Client certificates remain the way for SMTP submission.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from mss.directory.account_tables import ApiTokenRow
from mss.directory.errors import UnknownMailbox
from mss.directory.mailbox_lookup import mailbox_of_kind
from mss.directory.principals import principal_for_mailbox
from mss.identity import MailboxKind, Principal
from mss.store.audit_actions import AuditAction
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork

TOKEN_PREFIX = "mss_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_token(store: Store, address: str, label: str = "") -> str:
    """A new token for an APP mailbox; the clear token is returned once, never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    async def job(uow: UnitOfWork) -> None:
        mailbox = await mailbox_of_kind(uow.session, address, MailboxKind.APP,
                                        f"API tokens belong to APP mailboxes: {address}")
        uow.session.add(ApiTokenRow(token_hash=_hash(token), mailbox_id=mailbox.id,
                                    label=label[:200], created_at=uow.now(), revoked=False))
        await uow.session.flush()
        uow.audit(AuditAction.CERT_ISSUED, "system:mss", target=mailbox.address,
                  detail="api token")

    await store.write(job)
    return token


async def principal_for_token(store: Store, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    async with store.reading() as session:
        row = (await session.execute(
            select(Mailbox).join(ApiTokenRow, ApiTokenRow.mailbox_id == Mailbox.id)
            .where(ApiTokenRow.token_hash == _hash(token), ApiTokenRow.revoked.is_(False))
        )).scalar_one_or_none()
        if row is None:
            return None
        return await principal_for_mailbox(session, row)


async def revoke_api_tokens(store: Store, address: str) -> int:
    async def job(uow: UnitOfWork) -> int:
        mailbox = await find_mailbox(uow.session, address)
        if mailbox is None:
            raise UnknownMailbox(address)
        rows = (await uow.session.execute(select(ApiTokenRow).where(
            ApiTokenRow.mailbox_id == mailbox.id, ApiTokenRow.revoked.is_(False)))).scalars().all()
        for row in rows:
            row.revoked = True
        await uow.session.flush()
        return len(rows)

    return await store.write(job)
