"""The trust list in force: atomic replacement, queries, and an in-memory snapshot.

Invariants:
- an import replaces the whole list in one transaction; a refused list (parse error,
  checksum, truncated inside an entry) changes nothing and leaves a TRUST_LIST_REFUSED
  audit event;
- a list generated before the one in force is refused unless `allow_older` (an old
  list could trust again an operator the agency has since removed);
- DNs are stored and compared normalised (see distinguished_names), domains lower-case;
- hot paths (MSS policy T1 at MAIL FROM, T3 per recipient) read a TrustSnapshot, which
  `refresh` reloads only when a newer import exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import TrustedOperator, TrustListImport
from mss.directory.trust_list import TrustList, TrustListError, parse_trust_list
from mss.distinguished_names import dn_lookup_key
from mss.identity import SYSTEM, Principal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.events import TRUST_LIST_CHANGED
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class TrustListInfo:
    import_id: int
    generated_at: str
    sha256: str
    imported_at: datetime
    entry_count: int
    domain_count: int
    dn_count: int


def _info(row: TrustListImport) -> TrustListInfo:
    return TrustListInfo(row.id, row.generated_at, row.sha256, row.imported_at,
                         row.entry_count, row.domain_count, row.dn_count)


async def import_trust_list(
    store: Store, data: bytes, expected_sha256: str | None = None, *,
    source: str = "", principal: Principal = SYSTEM, allow_older: bool = False,
) -> TrustListInfo:
    """Parse and install a trust list in place of the current one, or refuse it."""
    try:
        trust_list = parse_trust_list(data, expected_sha256)
        if not allow_older:
            await _refuse_older(store, trust_list)
    except TrustListError as exc:
        reason = str(exc)

        async def refuse(uow: UnitOfWork) -> None:
            uow.audit(AuditAction.TRUST_LIST_REFUSED, principal, target=source,
                      outcome=AuditOutcome.REFUSED, detail=reason[:1000])

        await store.write(refuse)
        raise
    return await store.write(lambda uow: _replace(uow, trust_list, source, principal))


def _generation_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


async def older_than_in_force(store: Store, generated_at: str) -> TrustListInfo | None:
    """The list in force when it was generated after `generated_at`, else None."""
    current = await current_trust_list(store)
    if current is None:
        return None
    new, old = _generation_time(generated_at), _generation_time(current.generated_at)
    if new is None or old is None or new.tzinfo is None or old.tzinfo is None:
        return None  # no comparable date: the list's own checks are all there is
    return current if new < old else None


async def _refuse_older(store: Store, trust_list: TrustList) -> None:
    current = await older_than_in_force(store, trust_list.generated_at)
    if current is not None:
        raise TrustListError(
            f"this list was generated {trust_list.generated_at}, before the one in force "
            f"({current.generated_at}): refused (--force installs it anyway)")


async def _replace(
    uow: UnitOfWork, trust_list: TrustList, source: str, principal: Principal
) -> TrustListInfo:
    session = uow.session
    await session.execute(delete(TrustedOperator))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for entry in trust_list.entries:
        rows.setdefault((entry.domain, entry.subject_dn), {
            "domain": entry.domain, "subject_dn": entry.subject_dn,
            "description": entry.description, "updated": entry.updated,
        })
    if rows:
        await session.execute(insert(TrustedOperator), list(rows.values()))
    meta = TrustListImport(
        generated_at=trust_list.generated_at, sha256=trust_list.sha256,
        imported_at=uow.now(), entry_count=trust_list.entry_count,
        domain_count=trust_list.domain_count, dn_count=trust_list.dn_count,
    )
    session.add(meta)
    await session.flush()
    uow.publish(TRUST_LIST_CHANGED)  # cached trust lists of every node forget theirs
    uow.audit(
        AuditAction.TRUST_LIST_IMPORTED, principal, target=source,
        detail=(f"sha256={trust_list.sha256} generated={trust_list.generated_at} "
                f"entries={trust_list.entry_count} domains={trust_list.domain_count} "
                f"dns={trust_list.dn_count}"),
    )
    return _info(meta)


async def current_trust_list(source: ReadSource) -> TrustListInfo | None:
    async with reading_session(source) as session:
        query = select(TrustListImport).order_by(TrustListImport.id.desc()).limit(1)
        row = (await session.execute(query)).scalar_one_or_none()
        return _info(row) if row is not None else None


async def trusted_dns(source: ReadSource, domain: str) -> set[str]:
    """Operator certificate DNs (normalised) allowed to send for `domain` (policy T1)."""
    async with reading_session(source) as session:
        query = select(TrustedOperator.subject_dn).where(
            TrustedOperator.domain == domain.strip().lower().rstrip(".")
        )
        return set((await session.execute(query)).scalars())


async def is_trusted_domain(source: ReadSource, domain: str) -> bool:
    """True when `domain` is in the trust list (policy T3: no relay outside it)."""
    return bool(await trusted_dns(source, domain))


async def trusted_domain_count(source: ReadSource) -> int:
    async with reading_session(source) as session:
        query = select(func.count(func.distinct(TrustedOperator.domain)))
        return int((await session.execute(query)).scalar_one())


class TrustSnapshot:
    """The trust list held in memory for the hot paths; `refresh` after an import."""

    def __init__(self, by_domain: dict[str, frozenset[str]], import_id: int | None) -> None:
        self._by_domain = by_domain
        self.import_id = import_id

    @classmethod
    async def load(cls, source: ReadSource) -> TrustSnapshot:
        snapshot = cls({}, None)
        await snapshot.refresh(source)
        return snapshot

    async def refresh(self, source: ReadSource) -> bool:
        """Reload when a newer list was imported; True when the content changed."""
        async with reading_session(source) as session:
            latest = (await session.execute(select(func.max(TrustListImport.id)))).scalar()
            if latest == self.import_id:
                return False
            grouped: dict[str, set[str]] = {}
            query = select(TrustedOperator.domain, TrustedOperator.subject_dn)
            for domain, dn in (await session.execute(query)).all():
                grouped.setdefault(domain, set()).add(dn)
        self._by_domain = {d: frozenset(dns) for d, dns in grouped.items()}  # one swap
        self.import_id = latest
        return True

    def dns_for(self, domain: str) -> frozenset[str]:
        return self._by_domain.get(domain.strip().lower().rstrip("."), frozenset())

    def is_trusted_domain(self, domain: str) -> bool:
        return bool(self.dns_for(domain))

    def allows(self, domain: str, subject_dn: str) -> bool:
        """True when a peer presenting `subject_dn` may send for `domain` (policy T1)."""
        return dn_lookup_key(subject_dn) in self.dns_for(domain)

    @property
    def domain_count(self) -> int:
        return len(self._by_domain)
