"""Access by profession (the access matrix, in the style of the DMP's "matrice
d'habilitations"): a table test of the default matrix, then nurse, physician, pharmacist,
break-glass, a blocked professional, MASQUE_PS and INVISIBLE_PATIENT through the vault."""

from __future__ import annotations

import pytest

from mss.directory.mailbox_accounts import ProfessionalIdentity, create_per_mailbox
from mss.directory.synthetic_extract import rpps_for
from mss.identity import Principal, PrincipalKind
from mss.pipeline.system_mail import system_sender
from mss.store.audit_actions import AuditAction
from mss.vault.access import BreakGlassNotice, VaultAccessError
from mss.vault.access_matrix import (
    AccessMatrixError,
    DocumentFacts,
    load_access_matrix,
    parse_access_matrix,
)
from mss.vault.access_rules import Refusal, Standing
from mss.vault.break_glass_notice import physician_break_glass_notifier
from mss.vault.mdn_sending import drain_acknowledgements
from mss.vault.spaces import PatientSpace as S

from . import corpus
from .conftest import VaultHarness

CR_LIAISON = DocumentFacts(S.COMPTES_RENDUS, "11490-0", "10")
CR_OPERATOIRE = DocumentFacts(S.COMPTES_RENDUS, "34874-8", "10")
CR_CONSULTATION = DocumentFacts(S.COMPTES_RENDUS, "11488-4", "10")
BIOLOGIE = DocumentFacts(S.BIOLOGIE, "11502-2", "10")
VSM = DocumentFacts(S.SYNTHESES, "60591-5", "11")
IMAGERIE = DocumentFacts(S.IMAGERIE_MEDICALE, "18748-4", "31")
ORDONNANCE = DocumentFacts(S.TRAITEMENTS_ET_SOINS, "57833-6", "42")
CERTIFICAT = DocumentFacts(S.CERTIFICATS, "89601-9", "52")
REMBOURSEMENT = DocumentFacts(S.DONNEES_DE_REMBOURSEMENT, "REMB", "60")
VACCINATION = DocumentFacts(S.PREVENTION, "87273-9", None)
DEPOT_PATIENT = DocumentFacts(S.ESPACE_PERSONNEL, None, "90")

EVERY = (CR_LIAISON, CR_OPERATOIRE, CR_CONSULTATION, BIOLOGIE, VSM, IMAGERIE, ORDONNANCE,
         CERTIFICAT, REMBOURSEMENT, VACCINATION, DEPOT_PATIENT)

# profession code → (documents read in care, documents opened by break-glass)
TABLE = {
    "10": (set(EVERY), {CR_LIAISON, CR_OPERATOIRE, CR_CONSULTATION, BIOLOGIE, VSM, IMAGERIE,
                        ORDONNANCE, VACCINATION}),
    "21": ({CR_LIAISON, BIOLOGIE, VSM, ORDONNANCE, VACCINATION, DEPOT_PATIENT},
           {VSM, ORDONNANCE}),
    "40": ({CR_LIAISON, CR_OPERATOIRE, CR_CONSULTATION, BIOLOGIE, VSM, IMAGERIE, ORDONNANCE,
            VACCINATION, DEPOT_PATIENT}, {VSM, ORDONNANCE}),
    "50": ({CR_LIAISON, CR_OPERATOIRE, CR_CONSULTATION, BIOLOGIE, VSM, IMAGERIE, ORDONNANCE,
            VACCINATION, DEPOT_PATIENT, CERTIFICAT},
           {CR_LIAISON, CR_OPERATOIRE, CR_CONSULTATION, BIOLOGIE, VSM, ORDONNANCE}),
    "60": ({CR_LIAISON, BIOLOGIE, VSM, ORDONNANCE, VACCINATION, DEPOT_PATIENT},
           {VSM, ORDONNANCE}),
    "70": ({CR_LIAISON, CR_OPERATOIRE, VSM, IMAGERIE, ORDONNANCE}, {VSM}),
    "80": ({VSM, IMAGERIE, ORDONNANCE}, set()),
    "91": (set(), set()),  # orthophoniste: no row, nothing
}


@pytest.mark.parametrize("profession", sorted(TABLE))
@pytest.mark.parametrize("document", EVERY, ids=lambda d: d.type_code or d.space.value)
def test_default_matrix_table(profession: str, document: DocumentFacts) -> None:
    matrix = load_access_matrix()
    read, emergency = TABLE[profession]
    assert matrix.allows(profession, "", document, emergency=False) is (document in read)
    assert matrix.allows(profession, "", document, emergency=True) is (document in emergency)
    assert emergency <= read  # break-glass never opens more than care does


def test_a_specialty_row_wins_over_its_profession_and_errors_are_one_line() -> None:
    matrix = parse_access_matrix('''
[professions."10"]
read = ["Synthèses"]
[professions."10:SM26"]
label = "Radiologue"
read = ["Imagerie médicale", "class:31", "type:18748-4"]
''')
    assert matrix.allows("10", "SM26", IMAGERIE, emergency=False)
    assert not matrix.allows("10", "SM26", VSM, emergency=False)
    assert matrix.allows("10", "SM04", VSM, emergency=False)
    assert not matrix.allows("10", "", IMAGERIE, emergency=True)
    for bad, words in (("[professions.10]\nread = ['Cuisine']", "'Cuisine' is not a space"),
                       ("[professions.10]\nwrite = []", "unknown key write"),
                       ("x = 1", "no [professions] table"), ("[[", "not TOML")):
        with pytest.raises(AccessMatrixError) as error:
            parse_access_matrix(bad, "m.toml")
        assert words in str(error.value) and "\n" not in str(error.value)


# -- through the vault -------------------------------------------------------------------


def entry(ins: str, uri: str, code: str, class_code: str, title: str,
          codes: tuple[str, ...] = ("N",)) -> corpus.EntrySpec:
    return corpus.EntrySpec(uri=uri, content=corpus.cda_document(code, title, ins=ins),
                            type_code=code, class_code=class_code, title=title,
                            patient_id=corpus.cx(ins), confidentiality_codes=codes)


async def record_of_six(h: VaultHarness) -> None:
    """Dr Alice (médecin) files six documents for Jeanne: she is in care."""
    ins = h.world.jeanne_ins
    await h.send(h.xdm(corpus.xdm_archive([
        entry(ins, "DOC0001.XML", "11490-0", "10", "Lettre de liaison"),
        entry(ins, "DOC0002.XML", "11502-2", "10", "Biologie"),
        entry(ins, "DOC0003.XML", "60591-5", "11", "VSM"),
        entry(ins, "DOC0004.XML", "18748-4", "31", "Radio du thorax"),
        entry(ins, "DOC0005.XML", "89601-9", "52", "Certificat"),
        entry(ins, "DOC0006.XML", "11488-4", "10", "Consultation", ("N", "MASQUE_PS")),
    ])))


async def professional(h: VaultHarness, n: int, code: str, label: str, first: str,
                       last: str) -> Principal:
    ident = rpps_for(n)
    address = f"{first.lower()}.{last.lower()}@{h.world.domain}"
    await create_per_mailbox(h.store, address=address, display_name=f"{first} {last}",
                             professional=ProfessionalIdentity(ident, last, first, "",
                                                               code, label))
    return Principal(PrincipalKind.PROFESSIONAL, ident, f"{first} {last}", address)


async def writes_to_jeanne(h: VaultHarness, who: Principal) -> None:
    """A message with no document: the conversation puts Jeanne in their care."""
    assert who.mailbox is not None
    await h.send(h.message([], sender=f"{who.display_name} <{who.mailbox}>"), principal=who,
                 mail_from=who.mailbox)


async def titles(h: VaultHarness, who: Principal) -> list[str]:
    listing = await h.vault.list_documents(who, h.world.jeanne_ins)
    return sorted(d.title for d in listing.documents)


async def test_physician_nurse_and_pharmacist_see_what_their_profession_allows(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    await record_of_six(h)
    pharmacist = await professional(h, 301, "21", "Pharmacien", "Paul", "OFFICINE")
    # the physician in care: everything but the MASQUE_PS consultation
    assert await titles(h, h.alice) == ["Biologie", "Certificat", "Lettre de liaison",
                                        "Radio du thorax", "VSM"]
    # in care is necessary: the pharmacist who never wrote sees nothing
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.list_documents(pharmacist, h.world.jeanne_ins)
    assert refused.value.code is Refusal.NOT_IN_CARE
    # ... and not sufficient: nurse and pharmacist in care see their matrix rows only
    for who in (h.bruno, pharmacist):
        await writes_to_jeanne(h, who)
        assert await titles(h, who) == ["Biologie", "Lettre de liaison", "VSM"]
    listing = await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    assert listing.withheld == 2 and listing.counts[S.IMAGERIE_MEDICALE] == 0
    radio = next(d for d in (await h.vault.list_documents(h.alice, h.world.jeanne_ins)
                             ).documents if d.title == "Radio du thorax")
    with pytest.raises(VaultAccessError) as hidden:
        await h.vault.read_document(h.bruno, radio.id)
    assert hidden.value.code is Refusal.NOT_FOUND  # as if it did not exist
    # every decision is in the patient's traces, with the profession that decided
    events = await h.vault.traces(h.jeanne, limit=500)
    details = [(e.principal, e.action, e.outcome, e.detail) for e in events]
    assert (f"professional:{h.world.bruno_rpps}", AuditAction.DOCUMENT_READ.value, "refused",
            "refused=not_found as=in care profession=60 why=matrix") in details
    assert (f"professional:{pharmacist.ident}", AuditAction.DOCUMENT_LISTED.value, "refused",
            "refused=not_in_care as=none") in details
    assert any(d == "space=all as=in care profession=60 count=3 withheld=2"
               for _, _, _, d in details)


async def test_break_glass_opens_the_emergency_subset_and_tells_the_physician(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    await record_of_six(h)
    await h.vault.set_attending_physician(h.jeanne, h.world.alice_rpps)
    urgentist = await professional(h, 302, "10", "Médecin", "Claire", "ROUX")
    told: list[BreakGlassNotice] = []
    h.vault.on_break_glass.append(told.append)
    h.vault.on_break_glass.append(physician_break_glass_notifier(
        system_sender(h.pipeline), h.world.domain, h.store.clock.now))
    await h.vault.break_glass(urgentist, h.world.jeanne_ins, "Coma aux urgences")
    await drain_acknowledgements()
    listing = await h.vault.list_documents(urgentist, h.world.jeanne_ins)
    assert listing.standing is Standing.BREAK_GLASS
    assert listing.break_glass_reason == "Coma aux urgences"
    # the médecin's emergency subset: no certificat; never MASQUE_PS
    assert sorted(d.title for d in listing.documents) == [
        "Biologie", "Lettre de liaison", "Radio du thorax", "VSM"]
    (notice,) = told
    assert notice.physician_address == h.world.alice
    assert (notice.professional_name, notice.profession_label) == ("Claire ROUX", "Médecin")
    # the médecin traitant reads it in her own mailbox, with the reason
    (told_alice,) = [m for m in await h.inbox_raw(h.world.alice) if b"bris de glace" in
                     corpus.parse_message(m).get_body().get_content().encode()]
    text = corpus.parse_message(told_alice).get_body().get_content()
    assert "Claire ROUX (Médecin) a ouvert en urgence" in text
    assert "Jeanne DUPONT" in text and "Motif indiqué : Coma aux urgences" in text
    # a nurse is not a médecin traitant
    with pytest.raises(VaultAccessError):
        await h.vault.set_attending_physician(h.jeanne, h.world.bruno_rpps)


async def test_the_attending_physician_is_in_care_without_a_conversation(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    await record_of_six(h)
    gp = await professional(h, 303, "10", "Médecin", "Marc", "GENERALISTE")
    with pytest.raises(VaultAccessError):  # not among those who can see her documents
        await h.vault.set_attending_physician(h.jeanne, gp.ident)
    await writes_to_jeanne(h, gp)
    await h.vault.set_attending_physician(h.jeanne, gp.ident)
    assert len(await titles(h, gp)) == 5


async def test_the_patient_blocks_a_professional_chosen_among_those_who_see_her_record(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    await record_of_six(h)
    await writes_to_jeanne(h, h.bruno)
    stranger = await professional(h, 304, "10", "Médecin", "Luc", "INCONNU")
    who = {p.ident: p for p in await h.vault.professionals(h.jeanne)}
    assert set(who) == {h.world.alice_rpps, h.world.bruno_rpps}
    bruno = who[h.world.bruno_rpps]
    assert (bruno.name, bruno.profession, bruno.why, bruno.blocked) == (
        "M. Bruno PETIT", "Infirmier", ("in care",), False)
    assert {s: n for s, n in bruno.spaces.items() if n} == {
        S.COMPTES_RENDUS: 1, S.BIOLOGIE: 1, S.SYNTHESES: 1}
    assert sum(who[h.world.alice_rpps].spaces.values()) == 5
    with pytest.raises(VaultAccessError):  # not among the choices
        await h.vault.block(h.jeanne, stranger.ident)
    await h.vault.block(h.jeanne, h.world.bruno_rpps)
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    assert refused.value.code is Refusal.NOT_IN_CARE
    with pytest.raises(VaultAccessError) as glass:
        await h.vault.break_glass(h.bruno, h.world.jeanne_ins, "Urgence")
    assert glass.value.code is Refusal.PATIENT_OBJECTED
    blocked = {p.ident: p for p in await h.vault.professionals(h.jeanne)}[h.world.bruno_rpps]
    assert blocked.blocked and sum(blocked.spaces.values()) == 0
    await h.vault.unblock(h.jeanne, h.world.bruno_rpps)
    assert len(await titles(h, h.bruno)) == 3


async def test_masque_ps_is_seen_by_the_patient_only(vault_harness: VaultHarness) -> None:
    h = vault_harness
    await record_of_six(h)
    assert "Consultation" in await titles(h, h.jeanne)
    assert "Consultation" not in await titles(h, h.alice)


async def test_invisible_patient_never_reaches_the_record(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    await h.send(h.xdm(corpus.xdm_archive([
        entry(ins, "DOC0001.XML", "11502-2", "10", "Secret", ("N", "INVISIBLE_PATIENT"))])))
    await h.send(h.message([corpus.AttachmentSpec(
        "cr.xml", corpus.cda_document("11502-2", "Secret CDA", ins,
                                      confidentiality="INVISIBLE_PATIENT"), "text/xml")]))
    assert await titles(h, h.jeanne) == []


def test_the_profile_key_names_sections_only() -> None:
    """Issue 23: `profile` lists the medical profile's sections a profession adds to."""
    import pytest

    from mss.profile.sections import Section
    from mss.vault.access_matrix import (
        PROFILE_SECTIONS,
        AccessMatrixError,
        load_access_matrix,
        parse_access_matrix,
    )

    assert {s.value for s in Section} == PROFILE_SECTIONS
    matrix = load_access_matrix()
    assert matrix.rows["10"].profile >= {"vaccinations", "allergies", "measures"}
    assert matrix.rows["80"].profile == frozenset()
    with pytest.raises(AccessMatrixError, match="profile"):
        parse_access_matrix('[professions."10"]\nprofile = ["organs"]\n')
