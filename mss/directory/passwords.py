"""Password credentials: argon2id hashes per login identity (a mailbox address).

Passwords are the embedded default of a local install (docs/architecture.md §9: clients). ORG
mailboxes have no password: members log in as themselves (docs/architecture.md §3).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type

from mss.directory.errors import DirectoryError, MailboxKindRule, UnknownMailbox
from mss.directory.tables import PasswordCredential
from mss.identity import SYSTEM, MailboxKind, Principal
from mss.store.audit_actions import AuditAction
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

MIN_PASSWORD_LENGTH = 12
DEFAULT_HASHER = PasswordHasher(type=Type.ID)  # argon2-cffi's RFC 9106 low-memory profile


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int, hash_len: int,
                salt_len: int) -> str:
    hasher = PasswordHasher(time_cost, memory_cost, parallelism, hash_len, salt_len,
                            type=Type.ID)
    return hasher.hash("mss uniform failure: no such login")


def dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the hasher's parameters, verified for unknown logins so that they
    cost the same work as a wrong password."""
    return _dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism,
                       hasher.hash_len, hasher.salt_len)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DirectoryError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


async def set_password(
    store: Store, address: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER,
    principal: Principal = SYSTEM,
) -> None:
    """Set or replace the password of a PER, PAT or APP mailbox's login."""
    check_password_strength(password)
    password_hash = hasher.hash(password)

    async def job(uow: UnitOfWork) -> None:
        mailbox = await find_mailbox(uow.session, address)
        if mailbox is None:
            raise UnknownMailbox(address)
        if mailbox.kind == MailboxKind.ORG.value:
            raise MailboxKindRule(
                "ORG mailboxes have no password: members log in as themselves and name "
                "the ORG mailbox as authorisation identity"
            )
        row = await uow.session.get(PasswordCredential, mailbox.address)
        if row is None:
            row = PasswordCredential(login=mailbox.address, mailbox_id=mailbox.id,
                                     password_hash=password_hash, updated_at=uow.now())
            uow.session.add(row)
        else:
            row.password_hash = password_hash
            row.updated_at = uow.now()
        await uow.session.flush()
        uow.audit(AuditAction.PASSWORD_SET, principal, target=mailbox.address)

    await store.write(job)
