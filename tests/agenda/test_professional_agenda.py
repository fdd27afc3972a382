"""A professional in care sees the appointments their organisation sent the patient (their
own mailbox, their ORG mailboxes, the APP of the same structure), nothing else, and not
for a patient outside their care; each read is in her traces (issue 23)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from mss.agenda.posted_appointments import apply_posted, posted_request
from mss.directory.api_tokens import create_api_token, principal_for_token
from mss.store.tables import AuditEvent

from .calendars import convocation
from .conftest import Web


async def test_the_organisation_view(web: Web, alice: httpx.AsyncClient) -> None:
    world = web.world
    await web.send(subject="Convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation(summary="Échographie cardiaque"))])
    await web.send(principal=web.bruno, mail_from=world.bruno, subject="Soins", attachments=[
        ("rdv.ics", "text/calendar", convocation(uid="soins@cabinet", summary="Pansement"))])
    app = await principal_for_token(web.store, await create_api_token(web.store, world.noreply))
    assert app is not None
    await apply_posted(web.store, app, posted_request({
        "patient": world.jeanne, "uid": "bio-1", "summary": "Prise de sang",
        "start": "2026-12-18T08:00:00+01:00", "end": "2026-12-18T08:15:00+01:00"},
        world.patient_domain))
    page = await alice.get(f"/pro/patients/{world.jeanne_ins}/agenda")
    assert page.status_code == 200
    assert "Échographie cardiaque" in page.text and "Prise de sang" in page.text
    assert "Pansement" not in page.text  # Bruno's own practice is not Alice's organisation
    assert f'href="/pro/patients/{world.jeanne_ins}/agenda"' in (
        await alice.get(f"/pro/patients/{world.jeanne_ins}")).text
    # Paul is not in Alice's care
    assert (await alice.get(f"/pro/patients/{world.paul_ins}/agenda")).status_code == 404
    assert (await alice.get("/pro/patients/nonsense/agenda")).status_code == 404
    async with web.store.reading() as session:
        reads = (await session.execute(select(AuditEvent.principal, AuditEvent.detail).where(
            AuditEvent.action == "agenda.read",
            AuditEvent.subject == world.jeanne_ins))).all()
    assert any(p == web.alice.label() and "professional-in-care" in d for p, d in reads)


async def test_a_patient_cannot_open_the_professional_view(web: Web,
                                                           jeanne: httpx.AsyncClient) -> None:
    response = await jeanne.get(f"/pro/patients/{web.world.jeanne_ins}/agenda")
    assert response.status_code == 303 and response.headers["location"] == "/login"
