"""Patient uploads into Espace personnel: types by magic bytes, size bound, visible to
professionals in care, deletable by the patient only (issue 7)."""

from __future__ import annotations

import pytest

from mss.store.audit_actions import AuditAction
from mss.vault.access import VaultAccessError
from mss.vault.access_rules import Refusal
from mss.vault.spaces import PatientSpace
from mss.vault.tables import DocumentRow
from mss.vault.uploads import MAX_UPLOAD_BYTES

from . import corpus
from .conftest import VaultHarness, biologie

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def test_uploads_land_in_espace_personnel_and_professionals_in_care_see_them(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    await h.send(h.xdm(corpus.xdm_archive([biologie(h.world.jeanne_ins)])))  # alice in care
    pdf = await h.vault.upload(h.jeanne, "../mes analyses.pdf", corpus.pdf_bytes("moi"))
    png = await h.vault.upload(h.jeanne, "", PNG)
    assert (pdf.space, pdf.file_name, pdf.content_type, pdf.uploaded_by_patient) == (
        PatientSpace.ESPACE_PERSONNEL, "mes analyses.pdf", "application/pdf", True)
    assert (png.file_name, png.content_type) == ("document.png", "image/png")
    listing = await h.vault.list_documents(h.alice, h.world.jeanne_ins)
    assert listing.counts[PatientSpace.ESPACE_PERSONNEL] == 2
    read = await h.vault.read_document(h.alice, pdf.id)
    assert read.content == corpus.pdf_bytes("moi")
    with pytest.raises(VaultAccessError):
        await h.vault.read_document(h.bruno, pdf.id)
    events = await h.vault.traces(h.jeanne, limit=200)
    assert [e.target for e in events if e.action == AuditAction.DOCUMENT_UPLOADED.value] == [
        f"document:{png.id}", f"document:{pdf.id}"]


@pytest.mark.parametrize("content", [
    b"GIF89a" + b"\x00" * 10,
    b"<html><script>alert(1)</script></html>",
    b"MZ\x90\x00 executable",
    b"",
])
async def test_other_types_are_refused_by_their_bytes(
    vault_harness: VaultHarness, content: bytes,
) -> None:
    h = vault_harness
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.upload(h.jeanne, "scan.pdf", content)
    assert refused.value.code is Refusal.INVALID_UPLOAD
    assert (await h.vault.list_documents(h.jeanne)).documents == []


async def test_size_is_bounded_at_20_mb(vault_harness: VaultHarness) -> None:
    h = vault_harness
    big = corpus.pdf_bytes("x") + b"\x00" * (MAX_UPLOAD_BYTES + 1)
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.upload(h.jeanne, "gros.pdf", big)
    assert refused.value.code is Refusal.INVALID_UPLOAD
    fits = corpus.pdf_bytes("x").ljust(MAX_UPLOAD_BYTES, b"\x00")
    assert (await h.vault.upload(h.jeanne, "juste.pdf", fits)).size == MAX_UPLOAD_BYTES


async def test_only_patients_upload(vault_harness: VaultHarness) -> None:
    h = vault_harness
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.upload(h.alice, "x.pdf", corpus.pdf_bytes())
    assert refused.value.code is Refusal.NOT_THE_PATIENT


async def test_the_patient_deletes_her_uploads_and_only_them(vault_harness: VaultHarness) -> None:
    h = vault_harness
    await h.send(h.xdm(corpus.xdm_archive([biologie(h.world.jeanne_ins)])))
    (from_lab,) = (await h.vault.list_documents(h.jeanne)).documents
    mine = await h.vault.upload(h.jeanne, "carnet.pdf", corpus.pdf_bytes("carnet"))
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.delete_upload(h.paul, mine.id)
    assert refused.value.code is Refusal.NOT_FOUND
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.delete_upload(h.jeanne, from_lab.id)
    assert refused.value.code is Refusal.NOT_AN_UPLOAD
    async with h.store.reading() as session:
        row = await session.get(DocumentRow, mine.id)
    assert row is not None
    blob_path = h.store.blobs.path_for(row.mailbox_id, row.blob_key)
    assert blob_path.exists()
    await h.vault.delete_upload(h.jeanne, mine.id)
    assert [d.id for d in (await h.vault.list_documents(h.jeanne)).documents] == [from_lab.id]
    assert not blob_path.exists()
    with pytest.raises(VaultAccessError) as refused:
        await h.vault.read_document(h.jeanne, mine.id)
    assert refused.value.code is Refusal.NOT_FOUND
    events = await h.vault.traces(h.jeanne, limit=200)
    assert [(e.outcome, e.target) for e in events
            if e.action == AuditAction.DOCUMENT_DELETED.value] == [
        ("ok", f"document:{mine.id}"), ("refused", f"document:{from_lab.id}")]
