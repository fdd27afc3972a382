"""The medical profile: the patient edits every section; a professional in care adds in
the sections the access matrix opens to their profession and never deletes hers; the
measures plot with a text alternative; the PDF synthesis and its sharing as a vault
document; break-glass shows the emergency subset; an opposed space has no profile and a
closed one is erased after the retention; every change and read is in her traces."""

from __future__ import annotations

import html
import re
import zlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from mss.directory.patients import set_patient_state
from mss.identity import PatientSpaceState
from mss.profile.sections import Section
from mss.profile.service import (
    RETENTION,
    ItemInput,
    ProfileError,
    ProfileRefusal,
    ProfileService,
    erase_expired_profiles,
)
from mss.profile.tables import ProfileItemRow
from mss.store.tables import AuditEvent
from tests.webmail.conftest import Web, csrf_of


async def _add(client: httpx.AsyncClient, base: str, **fields: str) -> httpx.Response:
    csrf = csrf_of((await client.get(base)).text)
    return await client.post(f"{base}/items", data={"csrf": csrf, **fields})


async def _items(web: Web, ins: str) -> list[ProfileItemRow]:
    async with web.store.reading() as session:
        return list((await session.execute(select(ProfileItemRow).where(
            ProfileItemRow.patient_ins == ins).order_by(ProfileItemRow.id))).scalars())


def pdf_text(data: bytes) -> str:
    """The text drawn in a PDF's (Flate) content streams."""
    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            texts.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            texts.append(stream.decode("latin-1"))
    return "".join(texts)


async def test_patient_edits_every_section_and_sees_plots(web: Web,
                                                         jeanne: httpx.AsyncClient) -> None:
    entries = [
        {"section": "allergies", "label": "Pénicilline", "detail": "urticaire"},
        {"section": "history", "label": "Appendicectomie", "date": "2004-06-01"},
        {"section": "treatments", "label": "Lévothyrox 75 µg", "detail": "le matin"},
        {"section": "vaccinations", "label": "DTP", "date": "2021-03-10"},
        {"section": "blood_group", "label": "O-"},
        {"section": "persons_to_warn", "label": "Marc DUPONT (frère)",
         "detail": "06 12 34 56 78"},
        {"section": "advance_directives", "label": "Directives déposées",
         "detail": "chez le médecin traitant"},
        {"section": "measures", "label": "weight", "value": "64,5", "date": "2026-01-01"},
        {"section": "measures", "label": "weight", "value": "63", "date": "2026-03-01"},
        {"section": "measures", "label": "weight", "value": "62.2", "date": "2026-06-01"},
    ]
    for entry in entries:
        response = await _add(jeanne, "/profile", **entry)
        assert response.status_code == 303, (entry, response.text[:300])
    stored = await _items(web, web.world.jeanne_ins)
    assert len(stored) == len(entries)
    assert {r.author_kind for r in stored} == {"patient"}
    assert all(r.provenance for r in stored)
    for bad in ({"section": "measures", "label": "weight", "value": "640", "date": "2026-01-01"},
                {"section": "measures", "label": "poids", "value": "64", "date": "2026-01-01"},
                {"section": "measures", "label": "weight", "value": "abc", "date": "2026-01-01"},
                {"section": "blood_group", "label": "Z+"},
                {"section": "nowhere", "label": "x"},
                {"section": "allergies", "label": ""}):
        assert (await _add(jeanne, "/profile", **bad)).status_code == 400, bad
    assert len(await _items(web, web.world.jeanne_ins)) == len(entries)

    page = (await jeanne.get("/profile")).text
    order = [m for m in re.findall(r'<section class="card profile-section[^"]*" id="(\w+)"', page)]
    assert order[:5] == ["allergies", "blood_group", "treatments", "persons_to_warn",
                         "advance_directives"]
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count("<circle") == 3 and "style=" not in svg
    assert "3 mesure(s) du 01/01/2026 au 01/06/2026, de 62,2 à 64,5 kg" in html.unescape(page)
    assert "<td>62.2 kg</td>" in page  # the table of values beside the plot

    allergy = next(r for r in stored if r.section == "allergies")
    csrf = csrf_of(page)
    assert (await jeanne.post(f"/profile/items/{allergy.id}/delete",
                              data={"csrf": csrf})).status_code == 303
    assert len(await _items(web, web.world.jeanne_ins)) == len(entries) - 1


async def test_professional_in_care_adds_where_the_matrix_allows(
        web: Web, alice: httpx.AsyncClient, bruno: httpx.AsyncClient,
        jeanne: httpx.AsyncClient) -> None:
    await web.send(subject="Suivi")  # a conversation: Jeanne is in Alice's care
    base = f"/pro/patients/{web.world.jeanne_ins}/profile"
    assert (await _add(jeanne, "/profile", section="allergies", label="Arachide")
            ).status_code == 303
    added = await _add(alice, base, section="vaccinations", label="Grippe saisonnière",
                       date="2026-01-01")
    assert added.status_code == 303
    assert (await _add(alice, base, section="history", label="Asthme")).status_code == 403
    items = await _items(web, web.world.jeanne_ins)
    vaccine = next(r for r in items if r.section == "vaccinations")
    assert (vaccine.author_kind, vaccine.author_ident) == ("professional", web.world.alice_rpps)
    assert "Médecin" in vaccine.author_name and "professionnel" in vaccine.provenance
    page = (await alice.get(base)).text
    assert "Grippe saisonnière" in page and "Arachide" in page
    assert f'action="{base}/items"' in page
    assert page.count('name="section" value="history"') == 0
    # never the patient's item
    theirs = next(r for r in items if r.section == "allergies")
    csrf = csrf_of(page)
    refused = await alice.post(f"{base}/items/{theirs.id}/delete", data={"csrf": csrf})
    assert refused.status_code == 403
    assert len(await _items(web, web.world.jeanne_ins)) == 2
    assert (await alice.post(f"{base}/items/{vaccine.id}/delete",
                             data={"csrf": csrf})).status_code == 303
    # Bruno is not in her care: nothing to read, nothing to add
    assert (await bruno.get(base)).status_code == 403
    bruno_csrf = csrf_of((await bruno.get("/pro")).text)
    assert (await bruno.post(f"{base}/items", data={
        "csrf": bruno_csrf, "section": "measures", "label": "weight", "value": "60",
        "date": "2026-01-01"})).status_code == 403
    traces = html.unescape((await jeanne.get("/traces")).text)
    assert "Dr Alice MARTIN a ajouté un élément à votre profil médical." in traces
    assert "Dr Alice MARTIN a consulté votre profil médical." in traces
    assert "Vous avez ajouté un élément à votre profil médical." in traces
    async with web.store.reading() as session:
        refusals = (await session.execute(select(AuditEvent.action).where(
            AuditEvent.subject == web.world.jeanne_ins, AuditEvent.outcome == "refused",
            AuditEvent.action.like("profile.%")))).scalars().all()
    assert sorted(set(refusals)) == ["profile.item_added", "profile.item_deleted",
                                     "profile.read"]


async def test_pdf_synthesis_and_sharing_as_a_vault_document(
        web: Web, jeanne: httpx.AsyncClient, alice: httpx.AsyncClient) -> None:
    await web.send(subject="Suivi")
    await _add(jeanne, "/profile", section="allergies", label="Pénicilline œdème")
    await _add(jeanne, "/profile", section="blood_group", label="AB+")
    pdf = await jeanne.get("/profile/synthesis.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for expected in ("Profil m", "Allergies et intol", "Groupe sanguin", "AB+",
                     "Jeanne DUPONT", "oed"):
        assert expected in text, expected
    csrf = csrf_of((await jeanne.get("/profile")).text)
    shared = await jeanne.post("/profile/share", data={"csrf": csrf})
    assert shared.status_code == 303
    document_id = int(shared.headers["location"].rsplit("/", 1)[1])
    listing = await web.vault.list_documents(web.alice, web.world.jeanne_ins)
    (document,) = [d for d in listing.documents if d.id == document_id]
    assert (document.title, document.uploaded_by_patient, document.class_code) == (
        "Profil médical", True, "90")
    download = await alice.get(f"/pro/documents/{document_id}/download")
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")


async def test_break_glass_shows_the_emergency_subset(web: Web, alice: httpx.AsyncClient,
                                                     paul: httpx.AsyncClient) -> None:
    for entry in ({"section": "allergies", "label": "Iode"},
                  {"section": "blood_group", "label": "A+"},
                  {"section": "persons_to_warn", "label": "Claire DURAND"},
                  {"section": "vaccinations", "label": "Hépatite B"}):
        assert (await _add(paul, "/profile", **entry)).status_code == 303
    base = f"/pro/patients/{web.world.paul_ins}/emergency"
    page = await alice.get(base)
    assert page.status_code == 200 and 'name="reason"' in page.text
    assert "Iode" not in page.text
    csrf = csrf_of(page.text)
    assert (await alice.post(base, data={"csrf": csrf, "reason": ""})).status_code == 403
    opened = await alice.post(base, data={"csrf": csrf, "reason": "Patient inconscient, SAMU"})
    assert opened.status_code == 303
    view = (await alice.get(base)).text
    assert "Iode" in view and "A+" in view and "Claire DURAND" in view
    assert "Hépatite B" not in view  # not in the emergency subset
    assert view.index('id="allergies"') < view.index('id="blood_group"')
    async with web.store.reading() as session:
        actions = (await session.execute(select(AuditEvent.action, AuditEvent.detail).where(
            AuditEvent.subject == web.world.paul_ins, AuditEvent.principal ==
            web.alice.label()))).all()
    assert any(a == "document.break_glass" and "reason=Patient inconscient" in d
               for a, d in actions)
    assert any(a == "profile.read" and "view=emergency" in d for a, d in actions)


async def test_opposed_has_no_profile_closed_is_erased_after_retention(web: Web) -> None:
    service = ProfileService(web.store)
    world = web.world
    for principal, ins in ((world.jeanne_principal, world.jeanne_ins),
                           (world.paul_principal, world.paul_ins)):
        await service.add(principal, ins, ItemInput(Section.ALLERGIES, "Latex"))
    await set_patient_state(web.store, world.paul_ins, PatientSpaceState.OPPOSED)
    with pytest.raises(ProfileError) as refused:
        await service.read(world.paul_principal, world.paul_ins)
    assert refused.value.code is ProfileRefusal.NO_PROFILE
    await set_patient_state(web.store, world.jeanne_ins, PatientSpaceState.CLOSED)
    assert await erase_expired_profiles(web.store) == 1  # Paul's, at once
    assert await _items(web, world.paul_ins) == []
    assert len(await _items(web, world.jeanne_ins)) == 1
    web.store.clock.advance(RETENTION - timedelta(days=1))  # type: ignore[attr-defined]
    assert await erase_expired_profiles(web.store) == 0
    web.store.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert await erase_expired_profiles(web.store) == 1
    assert await _items(web, world.jeanne_ins) == []


async def test_edits_by_the_patient_and_by_the_author_only(
        web: Web, jeanne: httpx.AsyncClient, alice: httpx.AsyncClient) -> None:
    await web.send(subject="Suivi")
    base = f"/pro/patients/{web.world.jeanne_ins}/profile"
    await _add(jeanne, "/profile", section="vaccinations", label="DTP", date="2020-01-01")
    await _add(alice, base, section="vaccinations", label="Grippe", date="2025-10-01")
    mine, theirs = await _items(web, web.world.jeanne_ins)
    page = (await jeanne.get("/profile")).text
    assert 'value="2020-01-01"' in page  # the edit form is filled in
    csrf = csrf_of(page)
    changed = await jeanne.post(f"/profile/items/{mine.id}", data={
        "csrf": csrf, "section": "vaccinations", "label": "DTPolio", "date": "2020-02-01"})
    assert changed.status_code == 303
    # the patient may edit the professional's item too; the professional not hers
    assert (await jeanne.post(f"/profile/items/{theirs.id}", data={
        "csrf": csrf, "section": "vaccinations", "label": "Grippe 2025"})).status_code == 303
    pro_csrf = csrf_of((await alice.get(base)).text)
    assert (await alice.post(f"{base}/items/{mine.id}", data={
        "csrf": pro_csrf, "section": "vaccinations", "label": "X"})).status_code == 403
    assert (await alice.post(f"{base}/items/{theirs.id}", data={
        "csrf": pro_csrf, "section": "allergies", "label": "X"})).status_code == 403
    mine, theirs = await _items(web, web.world.jeanne_ins)
    assert (mine.label, theirs.label) == ("DTPolio", "Grippe 2025")
    traces = html.unescape((await jeanne.get("/traces")).text)
    assert "Vous avez modifié un élément de votre profil médical." in traces
