"""Break-glass ("bris de glace"): a stated reason, unless the patient objected; audited,
time-limited, and the patient told (mssante-facts, access and traces)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mss.clock import ManualClock
from mss.directory.patients import set_patient_state
from mss.identity import PatientSpaceState, Principal, PrincipalKind
from mss.store.audit_actions import AuditAction
from mss.vault.access import BreakGlassNotice, VaultAccessError
from mss.vault.access_rules import Refusal, Standing
from mss.vault.spaces import PatientSpace

from . import corpus
from .conftest import VaultHarness, biologie, lettre


async def deposit(h: VaultHarness) -> None:
    ins = h.world.jeanne_ins
    synthese = corpus.EntrySpec(
        uri="DOC0003.XML", content=corpus.cda_document("60591-5", "VSM", ins=ins),
        type_code="60591-5", class_code="11", title="Volet de synthèse médicale",
        patient_id=corpus.cx(ins))
    archive = corpus.xdm_archive([lettre(ins, confidentiality_codes=("N", "MASQUE_PS")),
                                  biologie(ins), synthese])
    await h.send(h.xdm(archive))


async def test_break_glass_with_a_reason_opens_the_record_is_audited_and_told(
    vault_harness: VaultHarness, clock: ManualClock,
) -> None:
    h = vault_harness
    await deposit(h)
    told: list[BreakGlassNotice] = []
    h.vault.on_break_glass.append(told.append)
    grant = await h.vault.break_glass(h.bruno, h.world.jeanne_ins,
                                      "Patiente inconsciente aux urgences")
    assert grant.expires_at - grant.at == timedelta(hours=24)
    listing = await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    assert listing.standing is Standing.BREAK_GLASS
    # a nurse's emergency subset of the matrix: the synthèse, not the biologie; never
    # the MASQUE_PS letter
    assert [d.space for d in listing.documents] == [PatientSpace.SYNTHESES]
    assert listing.withheld == 1
    assert listing.break_glass_reason == "Patiente inconsciente aux urgences"
    vsm = await h.vault.read_document(h.bruno, listing.documents[0].id)
    assert b"60591-5" in vsm.content
    # the patient is told (no reason, no content in the notice) ...
    assert [(n.patient_ins, n.patient_address, n.professional, n.notice_email)
            for n in told] == [(h.world.jeanne_ins, h.world.jeanne,
                                f"professional:{h.world.bruno_rpps}",
                                "jeanne.dupont@example.org")]
    # ... and reads the audit row with the reason in her traces
    events = await h.vault.traces(h.jeanne, limit=500)
    (glass,) = [e for e in events if e.action == AuditAction.BREAK_GLASS.value]
    assert glass.principal == f"professional:{h.world.bruno_rpps}"
    assert glass.outcome == "ok"
    assert "reason=Patiente inconsciente aux urgences" in glass.detail
    reads = [e for e in events if e.action == AuditAction.DOCUMENT_READ.value]
    assert [e.detail for e in reads] == ["as=break-glass profession=60"]
    # the grant expires
    clock.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    assert refused.value.code is Refusal.NOT_IN_CARE


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
async def test_break_glass_without_a_reason_is_refused(
    vault_harness: VaultHarness, reason: str,
) -> None:
    h = vault_harness
    told: list[BreakGlassNotice] = []
    h.vault.on_break_glass.append(told.append)
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.break_glass(h.bruno, h.world.jeanne_ins, reason)
    assert refused.value.code is Refusal.REASON_REQUIRED
    assert told == []
    events = await h.vault.traces(h.jeanne)
    assert [(e.action, e.outcome, e.detail) for e in events
            if e.action == AuditAction.BREAK_GLASS.value] == [
        (AuditAction.BREAK_GLASS.value, "refused", "refused=reason_required")]
    with pytest.raises(VaultAccessError):
        await h.vault.list_documents(h.bruno, h.world.jeanne_ins)


@pytest.mark.parametrize("state", [PatientSpaceState.OPPOSED, PatientSpaceState.CLOSED])
async def test_break_glass_is_refused_when_the_patient_objected(
    vault_harness: VaultHarness, state: PatientSpaceState,
) -> None:
    h = vault_harness
    await deposit(h)
    await set_patient_state(h.store, h.world.jeanne_ins, state)
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.break_glass(h.bruno, h.world.jeanne_ins, "Urgence vitale")
    assert refused.value.code is Refusal.PATIENT_OBJECTED
    with pytest.raises(VaultAccessError):
        await h.vault.list_documents(h.bruno, h.world.jeanne_ins)
    events = await h.vault.traces(h.jeanne)
    assert [e.detail for e in events if e.action == AuditAction.BREAK_GLASS.value] == [
        "refused=patient_objected"]


async def test_only_professionals_break_glass(vault_harness: VaultHarness) -> None:
    h = vault_harness
    app = Principal(PrincipalKind.APPLICATION, "Laboratoire de démonstration", "",
                    h.world.noreply)
    for principal in (app, h.paul,
                      Principal(PrincipalKind.PROFESSIONAL, "10000099999", "inconnu")):
        with pytest.raises(VaultAccessError) as refused:
            await h.vault.break_glass(principal, h.world.jeanne_ins, "Urgence")
        assert refused.value.code is Refusal.NOT_IN_CARE
