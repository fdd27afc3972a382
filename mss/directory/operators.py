"""Local configuration of peer operators: delivery endpoints and DKIM keys.

The trust list says who may send for a domain; where to deliver for it, and which DKIM
keys verify its mail, are set locally (docs/architecture.md §9: DKIM keys travel with the trust
configuration, not DNS; MSS choice).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mss.directory.errors import DirectoryError
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import OperatorDkimKey, OperatorEndpoint
from mss.identity import SYSTEM, Principal
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    txt: str


def parse_host_port(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DirectoryError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]").lower(), int(port)


def _domain(domain: str) -> str:
    value = domain.strip().lower().rstrip(".")
    if not value or "@" in value or " " in value:
        raise DirectoryError(f"not a domain: {domain!r}")
    return value


async def set_operator_endpoint(
    store: Store, domain: str, host: str, port: int, *, principal: Principal = SYSTEM
) -> None:
    domain = _domain(domain)

    async def job(uow: UnitOfWork) -> None:
        row = await uow.session.get(OperatorEndpoint, domain)
        if row is None:
            row = OperatorEndpoint(domain=domain, host=host, port=port, updated_at=uow.now())
            uow.session.add(row)
        else:
            row.host, row.port, row.updated_at = host, port, uow.now()
        await uow.session.flush()
        # closest event of the vocabulary: the trust configuration changed
        uow.audit(AuditAction.TRUST_LIST_IMPORTED, principal, target=domain,
                  detail=f"endpoint {host}:{port}")

    await store.write(job)


async def operator_endpoint(source: ReadSource, domain: str) -> tuple[str, int] | None:
    async with reading_session(source) as session:
        row = await session.get(OperatorEndpoint, _domain(domain))
        return (row.host, row.port) if row is not None else None


def check_dkim_txt(txt: str) -> str:
    """A DKIM key record (RFC 6376 §3.6.1): tag list with a non-empty `p=`."""
    value = " ".join(txt.split())
    tags = {}
    for part in value.split(";"):
        name, eq, tag_value = part.partition("=")
        if eq:
            tags[name.strip()] = tag_value.strip()
    if not tags.get("p"):
        raise DirectoryError("a DKIM key record needs a non-empty p= tag (RFC 6376 §3.6.1)")
    return value


async def add_operator_dkim_key(
    store: Store, domain: str, selector: str, txt: str, *, principal: Principal = SYSTEM
) -> None:
    """Add, or replace, the key of `selector._domainkey.<domain>`."""
    domain = _domain(domain)
    selector = selector.strip().lower()
    record = check_dkim_txt(txt)
    if not selector:
        raise DirectoryError("empty DKIM selector")

    async def job(uow: UnitOfWork) -> None:
        query = select(OperatorDkimKey).where(
            OperatorDkimKey.domain == domain, OperatorDkimKey.selector == selector
        )
        row = (await uow.session.execute(query)).scalar_one_or_none()
        if row is None:
            uow.session.add(OperatorDkimKey(domain=domain, selector=selector, txt=record,
                                            updated_at=uow.now()))
        else:
            row.txt, row.updated_at = record, uow.now()
        await uow.session.flush()
        uow.audit(AuditAction.TRUST_LIST_IMPORTED, principal, target=domain,
                  detail=f"dkim key {selector}")

    await store.write(job)


async def operator_dkim_keys(source: ReadSource, domain: str) -> list[DkimKey]:
    async with reading_session(source) as session:
        query = (select(OperatorDkimKey).where(OperatorDkimKey.domain == _domain(domain))
                 .order_by(OperatorDkimKey.selector))
        return [DkimKey(r.domain, r.selector, r.txt)
                for r in (await session.execute(query)).scalars()]


async def operator_dkim_key(source: ReadSource, domain: str, selector: str) -> str | None:
    """The TXT record for `selector._domainkey.domain`, as a DKIM verifier asks for it."""
    for key in await operator_dkim_keys(source, domain):
        if key.selector == selector.strip().lower():
            return key.txt
    return None
