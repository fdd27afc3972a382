"""Whom a patient may write to, for the webmail's reply and "new message" buttons; the
same rule (mss.policy.reply_right, MSS policy P2) as the pipeline applies on sending."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mss.pipeline.directory_facts import DirectoryFacts
from mss.policy import ReplyRight, reply_right
from mss.policy.addresses import canonical_address
from mss.read_models.mailbox_views import names_of
from mss.store.store import Store


@dataclass(frozen=True, slots=True)
class Contact:
    address: str
    name: str
    right: ReplyRight


async def reply_rights(store: Store, facts: DirectoryFacts, patient: str,
                       addresses: Iterable[str]) -> dict[str, ReplyRight]:
    now = store.clock.now()
    async with store.reading() as session:
        relations = await facts.patient_relations(session, patient, now)
        rights = {}
        for address in {canonical_address(a) for a in addresses}:
            correspondent = await facts.correspondent(session, address)
            rights[address] = reply_right(relations, correspondent, now)
    return rights


async def writable_contacts(store: Store, facts: DirectoryFacts, patient: str) -> list[Contact]:
    """Open conversations' allowed contacts and pharmacies with a recent dispensation."""
    now = store.clock.now()
    async with store.reading() as session:
        relations = await facts.patient_relations(session, patient, now)
        candidates = {c.allowed_contact for c in relations.conversations if c.is_open}
        candidates |= {canonical_address(d.pharmacy) for d in relations.dispensations}
        contacts = []
        names = await names_of(session, candidates)
        for address in sorted(candidates):
            right = reply_right(relations, await facts.correspondent(session, address), now)
            if right.allowed:
                contacts.append(Contact(address, names.get(address, ""), right))
    return sorted(contacts, key=lambda c: c.name)
