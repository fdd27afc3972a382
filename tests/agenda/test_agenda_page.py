"""The patient's agenda page: list (upcoming, past) and month views, her own events,
the care timeline, her reminder settings; every read and change is in her traces."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from mss.agenda.appointments import read_agenda
from mss.agenda.patient_agenda import agenda_settings
from mss.store.tables import AuditEvent
from tests.webmail.conftest import PDF, csrf_of

from .calendars import convocation
from .conftest import Web


async def test_list_and_month_views_with_timeline(web: Web, jeanne: httpx.AsyncClient) -> None:
    await web.send(subject="Votre convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation())])
    await web.send(subject="Compte rendu", attachments=[
        ("compte-rendu.pdf", "application/pdf", PDF)])
    page = await jeanne.get("/agenda")
    assert page.status_code == 200
    upcoming = page.text.split('class="list items upcoming"')[1].split("</ul>")[0]
    assert "Échographie cardiaque" in upcoming and "15/12/2026 09:30" in upcoming
    source = re.search(r'href="(/messages/inbox/\d+)">Échographie cardiaque', upcoming)
    assert source, upcoming  # the appointment links to the message that carried it
    assert "Votre convocation" in (await jeanne.get(source.group(1))).text
    timeline = page.text.split('class="list items timeline"')[1].split("</ul>")[0]
    assert "Votre convocation" in timeline and "Compte rendu" in timeline
    assert "Dr Alice MARTIN" in timeline and web.world.alice not in page.text
    assert 'href="/documents/' in timeline

    month = await jeanne.get("/agenda?view=month&month=2026-12")
    assert month.status_code == 200
    assert "décembre 2026" in month.text
    cell = month.text.split('<span class="day">15</span>')[1].split("</td>")[0]
    assert "Échographie cardiaque" in cell and "09:30" in cell
    assert (await jeanne.get("/agenda?view=month&month=nonsense")).status_code == 200
    jeanne.cookies.set("mss_lang", "en")
    english = await jeanne.get("/agenda?view=month&month=2026-12")
    assert "December 2026" in english.text and "Care timeline" not in english.text
    assert "Health agenda" in english.text


async def test_own_events_and_past(web: Web, jeanne: httpx.AsyncClient, paul: httpx.AsyncClient
                                   ) -> None:
    csrf = csrf_of((await jeanne.get("/agenda")).text)
    added = await jeanne.post("/agenda/events", data={
        "csrf": csrf, "summary": "Kiné", "location": "Cabinet", "date": "2025-12-31",
        "start": "18:00", "end": "18:45"})
    assert added.status_code == 303
    refused = await jeanne.post("/agenda/events", data={
        "csrf": csrf, "summary": "Kiné", "date": "2026-01-05", "start": "18:00",
        "end": "17:00"})
    assert refused.status_code == 400
    for day in ("demain", "0001-01-01", "10000-01-01"):
        assert (await jeanne.post("/agenda/events", data={
            "csrf": csrf, "summary": "x", "date": day})).status_code == 400, day
    (entry,) = await read_agenda(web.store, web.world.jeanne_ins, web.alice)
    assert (entry.summary, entry.source) == ("Kiné", "patient")
    page = await jeanne.get("/agenda")
    past = page.text.split('class="list items past"')[1].split("</ul>")[0]
    assert "Kiné" in past and "31/12/2025 18:00" in past
    # another patient cannot delete it; the organiser-only rule holds
    paul_csrf = csrf_of((await paul.get("/agenda")).text)
    assert (await paul.post(f"/agenda/events/{entry.id}/delete",
                            data={"csrf": paul_csrf})).status_code == 404
    assert (await jeanne.post(f"/agenda/events/{entry.id}/delete",
                              data={"csrf": csrf})).status_code == 303
    assert await read_agenda(web.store, web.world.jeanne_ins, web.alice) == []
    async with web.store.reading() as session:
        actions = set((await session.execute(select(AuditEvent.action).where(
            AuditEvent.subject == web.world.jeanne_ins))).scalars())
    assert {"agenda.appointment_created", "agenda.appointment_deleted",
            "agenda.read"} <= actions


async def test_a_convocation_cannot_be_deleted_by_the_patient(web: Web,
                                                             jeanne: httpx.AsyncClient) -> None:
    await web.send(subject="Convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation())])
    (entry,) = await read_agenda(web.store, web.world.jeanne_ins, web.alice)
    csrf = csrf_of((await jeanne.get("/agenda")).text)
    assert (await jeanne.post(f"/agenda/events/{entry.id}/delete",
                              data={"csrf": csrf})).status_code == 404
    assert len(await read_agenda(web.store, web.world.jeanne_ins, web.alice)) == 1


async def test_reminder_settings(web: Web, jeanne: httpx.AsyncClient) -> None:
    csrf = csrf_of((await jeanne.get("/agenda")).text)
    saved = await jeanne.post("/agenda/settings", data={"csrf": csrf,
                                                        "reminder_minutes": "180"})
    assert saved.status_code == 303
    settings = await agenda_settings(web.store, web.world.jeanne_ins)
    assert (settings.reminders_enabled, settings.reminder_minutes) == (False, 180)
    assert (await jeanne.post("/agenda/settings", data={
        "csrf": csrf, "reminders": "1", "reminder_minutes": "7"})).status_code == 400
    assert (await jeanne.post("/agenda/settings", data={
        "reminders": "1", "reminder_minutes": "60"})).status_code == 403
    await jeanne.post("/agenda/settings", data={"csrf": csrf, "reminders": "1",
                                               "reminder_minutes": "60"})
    settings = await agenda_settings(web.store, web.world.jeanne_ins)
    assert (settings.reminders_enabled, settings.reminder_minutes) == (True, 60)
