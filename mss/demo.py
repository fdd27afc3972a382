"""A small demo world: what `mss serve --demo` seeds, and what tests build on.

A nominative mailbox (PER), an organisational one with two members (ORG), an
applicative noreply (APP) and two patients (PAT), with passwords printed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from mss.directory.identifiers import nir_key
from mss.directory.mailbox_accounts import (
    ProfessionalIdentity,
    create_app_mailbox,
    create_org_mailbox,
    create_patient_mailbox,
    create_per_mailbox,
)
from mss.directory.org_members import set_org_member
from mss.directory.passwords import set_password
from mss.directory.synthetic_extract import rpps_for
from mss.identity import OrgRight, Principal, PrincipalKind
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store

if TYPE_CHECKING:
    from mss.app import App


def ins_for(nir13: str) -> str:
    """An INS: a 13-character NIR and its key."""
    return f"{nir13}{nir_key(nir13):02d}"


@dataclass(frozen=True)
class DemoWorld:
    domain: str
    patient_domain: str
    alice_rpps: str = rpps_for(101)
    bruno_rpps: str = rpps_for(102)
    jeanne_ins: str = ins_for("2850575123456")
    paul_ins: str = ins_for("1790213055123")
    password: str = "demo-password-2026"

    @property
    def alice(self) -> str:
        return f"dr.alice.martin@{self.domain}"

    @property
    def bruno(self) -> str:
        return f"dr.bruno.petit@{self.domain}"

    @property
    def cardiology(self) -> str:
        return f"cardiologie@{self.domain}"

    @property
    def noreply(self) -> str:
        return f"noreply-labo@{self.domain}"

    @property
    def alice_principal(self) -> Principal:
        return Principal(PrincipalKind.PROFESSIONAL, self.alice_rpps, "Dr Alice MARTIN",
                         self.alice)

    @property
    def bruno_principal(self) -> Principal:
        return Principal(PrincipalKind.PROFESSIONAL, self.bruno_rpps, "Bruno PETIT",
                         self.bruno)

    @property
    def jeanne_principal(self) -> Principal:
        return Principal(PrincipalKind.PATIENT, self.jeanne_ins, "Jeanne DUPONT", self.jeanne)

    @property
    def paul_principal(self) -> Principal:
        return Principal(PrincipalKind.PATIENT, self.paul_ins, "Paul DURAND", self.paul)

    @property
    def jeanne(self) -> str:
        return f"{self.jeanne_ins}@{self.patient_domain}"

    @property
    def paul(self) -> str:
        return f"{self.paul_ins}@{self.patient_domain}"


async def seed_world(store: Store) -> DemoWorld:
    """Create the demo mailboxes once; a second call finds them and changes nothing."""
    server = store.settings.server
    world = DemoWorld(server.domain.lower(), server.patient_domain.lower())
    async with store.reading() as session:
        if await find_mailbox(session, world.alice) is not None:
            return world
    alice = ProfessionalIdentity(world.alice_rpps, "MARTIN", "Alice", "Dr",
                                 "10", "Médecin", "SM04", "Cardiologie", postcode="75012")
    bruno = ProfessionalIdentity(world.bruno_rpps, "PETIT", "Bruno", "M.",
                                 "60", "Infirmier", postcode="75012")
    await create_per_mailbox(store, address=world.alice, professional=alice,
                             display_name="Dr Alice MARTIN")
    await create_per_mailbox(store, address=world.bruno, professional=bruno,
                             display_name="Bruno PETIT")
    await create_org_mailbox(store, address=world.cardiology,
                             display_name="Service de cardiologie",
                             structure_name="Hôpital de démonstration")
    await set_org_member(store, world.cardiology, world.alice_rpps,
                         frozenset({OrgRight.READ, OrgRight.SEND_AS, OrgRight.MANAGE}))
    await set_org_member(store, world.cardiology, world.bruno_rpps, frozenset({OrgRight.READ}))
    await create_app_mailbox(store, address=world.noreply,
                             application_name="Laboratoire de démonstration",
                             owner_structure="Hôpital de démonstration")
    await create_patient_mailbox(store, ins=world.jeanne_ins, first_name="Jeanne",
                                 last_name="DUPONT", birth_date=date(1985, 5, 12),
                                 notice_email="jeanne.dupont@example.org")
    await create_patient_mailbox(store, ins=world.paul_ins, first_name="Paul",
                                 last_name="DURAND", birth_date=date(1979, 2, 3),
                                 notice_email="paul.durand@example.org")
    for address in (world.alice, world.bruno, world.noreply, world.jeanne, world.paul):
        await set_password(store, address, world.password)
    return world


DEMO_PEER_DOMAIN = "peer.mss.localhost"
DEMO_PEER_HOST = "mx.peer.mss.localhost"


async def seed_trust_list(app: App) -> list[str]:
    """When no trust list is in force: one naming this operator and a demo peer operator
    (`DEMO_PEER_DOMAIN`), whose certificate the dev PKI issues into the data folder so
    that a client can play the peer (docs/trust-list.md). A list in force is kept."""
    from mss.certs.server_pki import ensure_server_pki
    from mss.directory.trust_list import trust_list_document
    from mss.directory.trust_store import current_trust_list, import_trust_list

    store = app.store
    assert store is not None
    if await current_trust_list(store) is not None:
        return []
    settings = store.settings
    pki = ensure_server_pki(settings)
    server = pki.server_certificate()
    assert server is not None
    peer = pki.issue_operator(DEMO_PEER_HOST, "000000000000001", "Operateur pair de demo",
                              "Paris (75)", extra_dns_names=("localhost",))
    generated = store.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    document = trust_list_document([
        (settings.server.domain.lower(), server.subject.rfc4514_string(), "this operator"),
        (settings.server.patient_domain.lower(), server.subject.rfc4514_string(),
         "this operator (patients)"),
        (DEMO_PEER_DOMAIN, peer.subject_dn, "demo peer operator"),
    ], generated)
    path = settings.data_dir / "demo-trust-list.xml"
    path.write_bytes(document)
    await import_trust_list(store, document, source=path.name)
    return [f"trust list {path}: this operator and the demo peer {DEMO_PEER_DOMAIN}",
            f"  demo peer certificate {peer.chain_path}, key {peer.key_path}"]


async def seed(app: App) -> list[str]:
    """Seed the demo world into a running app; lines for the operator to read."""
    assert app.store is not None
    world = await seed_world(app.store)
    trust_lines = await seed_trust_list(app)
    return [*trust_lines,
        f"demo password for every login below: {world.password}",
        f"  PER  {world.alice} (Dr Alice MARTIN, RPPS {world.alice_rpps})",
        f"  PER  {world.bruno} (Bruno PETIT, RPPS {world.bruno_rpps})",
        f"  ORG  {world.cardiology} (members: Alice send-as, Bruno read; log in as a "
        "member with the ORG as authorisation identity)",
        f"  APP  {world.noreply}",
        f"  PAT  {world.jeanne} (Jeanne DUPONT)",
        f"  PAT  {world.paul} (Paul DURAND)",
    ]
