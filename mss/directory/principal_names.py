"""Names for the principal labels of audit rows ("professional:<RPPS>" → "Dr Alice
MARTIN"), so that a patient reads their traces as people, not identifiers."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from mss.directory.tables import Application, Professional
from mss.distinguished_names import dn_lookup_key
from mss.store.store import Store


async def names_for_labels(store: Store, labels: Iterable[str]) -> dict[str, str]:
    wanted = set(labels)
    rpps = {label.partition(":")[2] for label in wanted if label.startswith("professional:")}
    apps = {label.partition(":")[2] for label in wanted if label.startswith("application:")}
    names: dict[str, str] = {}
    async with store.reading() as session:
        if rpps:
            rows = await session.execute(
                select(Professional.ident, Professional.civility, Professional.first_name,
                       Professional.last_name).where(Professional.ident.in_(rpps)))
            for ident, civility, first, last in rows.all():
                names[f"professional:{ident}"] = " ".join(p for p in (civility, first, last) if p)
        if apps:
            by_key = {dn_lookup_key(app): app for app in apps}  # labels carry DNs as presented
            found = await session.execute(
                select(Application.name, Application.certificate_dn)
                .where(Application.name.in_(apps) | Application.certificate_dn.in_(by_key)))
            for name, dn in found.all():
                for key in (name, dn, by_key.get(dn or "")):
                    if key:
                        names[f"application:{key}"] = name
    return names
