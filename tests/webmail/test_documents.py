"""Documents through the vault service: spaces, view/download, upload, hide, and the
professional's access in care or by break-glass (issue 8)."""

from __future__ import annotations

import re

from .conftest import PDF, Web, csrf_of


async def test_spaces_counts_view_and_download(web: Web, jeanne) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    page = await jeanne.get("/documents")
    assert page.status_code == 200
    for space in ("Synthèses", "Traitements et soins", "Comptes rendus", "Imagerie médicale",
                  "Biologie", "Prévention", "Certificats", "Données de remboursement",
                  "Espace personnel"):
        assert space in page.text
    assert re.search(r"Traitements et soins <span class=\"count\">1</span>", page.text)
    document = re.search(r'href="/documents/(\d+)"', page.text).group(1)
    view = await jeanne.get(f"/documents/{document}")
    assert view.status_code == 200 and view.content == PDF
    assert view.headers["content-type"] == "application/pdf"
    download = await jeanne.get(f"/documents/{document}/download")
    assert "attachment" in download.headers["content-disposition"]


async def test_upload_to_espace_personnel_bounded_in_type(web: Web, jeanne) -> None:
    page = await jeanne.get("/documents")
    token = csrf_of(page.text)
    ok = await jeanne.post("/documents/upload", data={"csrf": token},
                           files={"file": ("analyse.pdf", PDF, "application/pdf")})
    assert ok.status_code == 303
    listing = await jeanne.get("/documents?space=Espace personnel")
    assert "analyse.pdf" in listing.text
    refused = await jeanne.post("/documents/upload", data={"csrf": token},
                                files={"file": ("virus.exe", b"MZ\x90\x00", "image/png")})
    assert refused.status_code == 422


async def test_hide_from_a_professional(web: Web, jeanne, alice) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    listing = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert "ordonnance.pdf" in listing.text
    page = await jeanne.get("/documents")
    document = re.search(r'href="/documents/(\d+)"', page.text).group(1)
    hidden = await jeanne.post(f"/documents/{document}/hide",
                               data={"csrf": csrf_of(page.text),
                                     "professional": web.world.alice_rpps})
    assert hidden.status_code == 303
    listing = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert "ordonnance.pdf" not in listing.text
    assert (await alice.get(f"/pro/documents/{document}")).status_code == 404


async def test_break_glass_needs_a_reason_and_opens_the_record(web: Web, bruno) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    page = await bruno.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert page.status_code == 403 and "bris de glace" in page.text
    empty = await bruno.post(f"/pro/patients/{web.world.jeanne_ins}/break-glass",
                             data={"csrf": csrf_of(page.text), "reason": "  "})
    assert empty.status_code == 403
    granted = await bruno.post(f"/pro/patients/{web.world.jeanne_ins}/break-glass",
                               data={"csrf": csrf_of(page.text),
                                     "reason": "Patiente inconsciente aux urgences"})
    assert granted.status_code == 303
    listing = await bruno.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert "ordonnance.pdf" in listing.text


async def test_the_patient_sees_who_can_see_what_and_blocks_by_choosing(
        web: Web, jeanne, alice) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    page = await jeanne.get("/documents")
    assert "Qui peut voir mes documents" in page.text
    assert "Dr Alice MARTIN" in page.text and "Médecin" in page.text
    assert "Traitements et soins (1)" in page.text
    assert 'placeholder="RPPS"' not in page.text  # chosen from a list, never typed
    assert f'<option value="{web.world.alice_rpps}">Dr Alice MARTIN · Médecin' in page.text
    blocked = await jeanne.post("/documents/who/block",
                                data={"csrf": csrf_of(page.text),
                                      "professional": web.world.alice_rpps})
    assert blocked.status_code == 303
    refused = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert refused.status_code == 403 and "ordonnance.pdf" not in refused.text
    page = await jeanne.get("/documents")
    assert "Bloqué" in page.text and "Débloquer" in page.text
    stranger = await jeanne.post("/documents/who/block",
                                 data={"csrf": csrf_of(page.text), "professional": "10000000001"})
    assert stranger.status_code == 404
