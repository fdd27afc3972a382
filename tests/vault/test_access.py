"""Who sees which document: the patient, professionals in care, MASQUE_PS, hidden
documents, and ids of other patients' documents (DESIGN §6, issue 7)."""

from __future__ import annotations

import pytest

from mss.identity import Principal, PrincipalKind
from mss.store.audit_actions import AuditAction
from mss.vault.access import VaultAccessError
from mss.vault.access_rules import Refusal, Standing
from mss.vault.spaces import PatientSpace

from . import corpus
from .conftest import VaultHarness, biologie, lettre


async def deposit_for_jeanne(h: VaultHarness, *, masque_ps: bool = False,
                             principal: Principal | None = None,
                             mail_from: str | None = None) -> dict[str, int]:
    """Lettre (optionally MASQUE_PS) + biologie + PDF copy of the lettre; ids by name."""
    ins = h.world.jeanne_ins
    codes = ("N", "MASQUE_PS") if masque_ps else ("N",)
    archive = corpus.xdm_archive([lettre(ins, confidentiality_codes=codes), biologie(ins)])
    message = h.xdm(archive, pdf_copy=("DOC0001.pdf", corpus.pdf_bytes("copie")),
                    sender=mail_from)
    await h.send(message, principal=principal, mail_from=mail_from)
    listing = await h.vault.list_documents(h.jeanne)
    ids = {d.space.value: d.id for d in listing.documents}
    lettre_id = ids[PatientSpace.COMPTES_RENDUS.value]
    copy_id = next(d.pdf_copy_id for d in listing.documents if d.id == lettre_id)
    assert copy_id is not None
    return {"lettre": lettre_id, "biologie": ids[PatientSpace.BIOLOGIE.value], "copy": copy_id}


async def traces(h: VaultHarness, ins: str) -> list[tuple[str, str, str, str]]:
    owner = h.jeanne if ins == h.world.jeanne_ins else h.paul
    return [(e.action, e.principal, e.outcome, e.target)
            for e in reversed(await h.vault.traces(owner, limit=500))]


async def test_the_patient_lists_reads_and_downloads_every_document(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    ids = await deposit_for_jeanne(h, masque_ps=True)
    listing = await h.vault.list_documents(h.jeanne)
    assert listing.standing is Standing.OWNER
    assert sorted(d.id for d in listing.documents) == sorted([ids["lettre"], ids["biologie"]])
    only_bio = await h.vault.list_documents(h.jeanne, space=PatientSpace.BIOLOGIE)
    assert [d.id for d in only_bio.documents] == [ids["biologie"]]
    assert only_bio.counts == listing.counts
    read = await h.vault.read_document(h.jeanne, ids["lettre"])  # MASQUE_PS: she sees it
    assert read.content == lettre(h.world.jeanne_ins).content
    assert read.summary.pdf_copy_id == ids["copy"]
    copy = await h.vault.download_document(h.jeanne, ids["copy"])
    assert copy.content == corpus.pdf_bytes("copie")
    assert copy.summary.copy_of_id == ids["lettre"]
    actions = await traces(h, h.world.jeanne_ins)
    patient = f"patient:{h.world.jeanne_ins}"
    assert (AuditAction.DOCUMENT_READ.value, patient, "ok", f"document:{ids['lettre']}") in actions
    assert (AuditAction.DOCUMENT_DOWNLOADED.value, patient, "ok",
            f"document:{ids['copy']}") in actions
    assert [a for a in actions if a[0] == AuditAction.DOCUMENT_LISTED.value and
            a[1] == patient]


async def test_a_professional_in_care_sees_all_but_masque_ps(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ids = await deposit_for_jeanne(h, masque_ps=True)
    listing = await h.vault.list_documents(h.alice, h.world.jeanne_ins)
    assert listing.standing is Standing.IN_CARE
    assert [d.id for d in listing.documents] == [ids["biologie"]]
    assert listing.counts[PatientSpace.COMPTES_RENDUS] == 0
    read = await h.vault.read_document(h.alice, ids["biologie"])
    assert read.content == biologie(h.world.jeanne_ins).content
    for hidden in (ids["lettre"], ids["copy"]):
        with pytest.raises(VaultAccessError) as refused:
            await h.vault.read_document(h.alice, hidden)
        assert refused.value.code is Refusal.NOT_FOUND
    actions = await traces(h, h.world.jeanne_ins)
    alice = f"professional:{h.world.alice_rpps}"
    assert (AuditAction.DOCUMENT_READ.value, alice, "ok", f"document:{ids['biologie']}") in actions
    assert (AuditAction.DOCUMENT_READ.value, alice, "refused",
            f"document:{ids['lettre']}") in actions


async def test_a_professional_not_in_care_is_refused(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ids = await deposit_for_jeanne(h)
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    assert refused.value.code is Refusal.NOT_IN_CARE
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.download_document(h.bruno, ids["biologie"])
    assert refused.value.code is Refusal.NOT_FOUND
    actions = await traces(h, h.world.jeanne_ins)
    bruno = f"professional:{h.world.bruno_rpps}"
    assert (AuditAction.DOCUMENT_LISTED.value, bruno, "refused", "") in actions
    assert (AuditAction.DOCUMENT_DOWNLOADED.value, bruno, "refused",
            f"document:{ids['biologie']}") in actions


async def test_an_org_reader_is_in_care_through_the_org_mailbox(
    vault_harness: VaultHarness,
) -> None:
    """Alice writes as the cardiology ORG; Bruno, a member with read, is then in care."""
    h = vault_harness
    await deposit_for_jeanne(h, mail_from=h.world.cardiology)
    listing = await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    assert listing.standing is Standing.IN_CARE
    assert len(listing.documents) == 2


async def test_a_document_the_patient_hid_from_a_professional(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ids = await deposit_for_jeanne(h, mail_from=h.world.cardiology)
    await h.vault.hide_from(h.jeanne, ids["lettre"], h.world.alice_rpps)
    alice_list = await h.vault.list_documents(h.alice, h.world.jeanne_ins)
    assert [d.id for d in alice_list.documents] == [ids["biologie"]]
    for hidden in (ids["lettre"], ids["copy"]):
        with pytest.raises(VaultAccessError):
            await h.vault.read_document(h.alice, hidden)
    bruno_list = await h.vault.list_documents(h.bruno, h.world.jeanne_ins)  # not hidden from him
    assert ids["lettre"] in [d.id for d in bruno_list.documents]
    await h.vault.show_to(h.jeanne, ids["lettre"], h.world.alice_rpps)
    assert (await h.vault.read_document(h.alice, ids["lettre"])).summary.id == ids["lettre"]
    hidden = [a for a in await traces(h, h.world.jeanne_ins)
              if a[0] == AuditAction.DOCUMENT_HIDDEN.value]
    assert [(a[1], a[3]) for a in hidden] == [
        (f"patient:{h.world.jeanne_ins}", f"document:{ids['lettre']}")] * 2


async def test_changing_an_id_never_reaches_another_patients_document(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    ids = await deposit_for_jeanne(h)
    missing = max(ids.values()) + 1000
    for principal in (h.paul, h.bruno):
        for document_id in (*ids.values(), missing):
            with pytest.raises(VaultAccessError) as refused:
                await h.vault.read_document(principal, document_id)
            assert refused.value.code is Refusal.NOT_FOUND  # same answer as a missing id
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.list_documents(h.paul, h.world.jeanne_ins)
    assert refused.value.code is Refusal.NOT_IN_CARE
    with pytest.raises(VaultAccessError):
        await h.vault.hide_from(h.paul, ids["lettre"], h.world.bruno_rpps)
    with pytest.raises(VaultAccessError):
        await h.vault.delete_upload(h.paul, ids["lettre"])
    # Paul's own record is empty and his attempts show in Jeanne's traces, not his
    assert (await h.vault.list_documents(h.paul)).documents == []
    paul = f"patient:{h.world.paul_ins}"
    jeanne_traces = await traces(h, h.world.jeanne_ins)
    assert (AuditAction.DOCUMENT_READ.value, paul, "refused",
            f"document:{ids['lettre']}") in jeanne_traces


async def test_applications_see_nothing(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ids = await deposit_for_jeanne(h)
    app = Principal(PrincipalKind.APPLICATION, "Laboratoire de démonstration", "",
                    h.world.noreply)
    with pytest.raises(VaultAccessError):
        await h.vault.list_documents(app, h.world.jeanne_ins)
    with pytest.raises(VaultAccessError):
        await h.vault.read_document(app, ids["biologie"])


async def test_deposit_statuses_are_visible_to_the_patient(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    await h.send(h.xdm(corpus.xdm_archive([lettre(ins, sha1="0" * 40), biologie(ins)])))
    (view,) = await h.vault.deposits(h.jeanne)
    assert (view.status, view.documents, view.sender_mailbox) == ("partial", 1, h.world.alice)
    assert view.problems == (("DOC0001.XML", "size or SHA-1 mismatch"),)
