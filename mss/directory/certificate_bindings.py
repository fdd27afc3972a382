"""Client certificates that act for a mailbox's owner (applications, docs/architecture.md §3).

A binding names the certificate by subject DN (normalised) or by the SHA-256 of its DER
encoding; a fingerprint is exact and wins over a DN when both could match.
"""

from __future__ import annotations

from sqlalchemy import select

from mss.directory.errors import DirectoryError, UnknownMailbox
from mss.directory.principals import principal_for_mailbox
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import CertificateBinding
from mss.distinguished_names import dn_lookup_key
from mss.identity import SYSTEM, Principal
from mss.store.audit_actions import AuditAction
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork


def normalise_fingerprint(fingerprint: str) -> str:
    """`AB:CD:...` or `abcd...` → 64 lower-case hex digits."""
    value = fingerprint.replace(":", "").strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise DirectoryError(f"not a SHA-256 fingerprint: {fingerprint!r}")
    return value


async def add_binding(
    uow: UnitOfWork, mailbox: Mailbox, *, subject_dn: str | None = None,
    fingerprint_sha256: str | None = None, principal: Principal = SYSTEM,
) -> None:
    """Bind a certificate to a mailbox inside the caller's unit of work."""
    if not subject_dn and not fingerprint_sha256:
        raise DirectoryError("a certificate binding needs a subject DN or a fingerprint")
    dn = dn_lookup_key(subject_dn) if subject_dn else None
    fingerprint = normalise_fingerprint(fingerprint_sha256) if fingerprint_sha256 else None
    uow.session.add(CertificateBinding(
        mailbox_id=mailbox.id, subject_dn=dn, fingerprint_sha256=fingerprint,
        created_at=uow.now(),
    ))
    await uow.session.flush()
    # closest event of the vocabulary: a certificate now acts for this mailbox
    uow.audit(AuditAction.CERT_ISSUED, principal, target=mailbox.address,
              detail=f"binding dn={dn or ''} sha256={fingerprint or ''}")


async def bind_certificate(
    store: Store, address: str, *, subject_dn: str | None = None,
    fingerprint_sha256: str | None = None, principal: Principal = SYSTEM,
) -> None:
    async def job(uow: UnitOfWork) -> None:
        mailbox = await find_mailbox(uow.session, address)
        if mailbox is None:
            raise UnknownMailbox(address)
        await add_binding(uow, mailbox, subject_dn=subject_dn,
                          fingerprint_sha256=fingerprint_sha256, principal=principal)

    await store.write(job)


async def principal_for_certificate(
    source: ReadSource, *, subject_dn: str | None = None,
    fingerprint_sha256: str | None = None,
) -> Principal | None:
    """The principal a presented client certificate acts as, or None."""
    async with reading_session(source) as session:
        candidates = []
        if fingerprint_sha256:
            candidates.append(CertificateBinding.fingerprint_sha256
                              == normalise_fingerprint(fingerprint_sha256))
        if subject_dn:
            candidates.append(CertificateBinding.subject_dn == dn_lookup_key(subject_dn))
        for condition in candidates:
            query = (
                select(Mailbox)
                .join(CertificateBinding, CertificateBinding.mailbox_id == Mailbox.id)
                .where(condition)
                .order_by(CertificateBinding.id)
            )
            for mailbox in (await session.execute(query)).scalars():
                found = await principal_for_mailbox(session, mailbox)
                if found is not None:
                    return found
        return None
