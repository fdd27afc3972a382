"""Reminders before an appointment: a convocation sent by SMTP or posted by the API gives
one notice without health data at the patient's chosen delay, exactly once across
passes, restarts and nodes (two stores on one database racing); time is the injected
clock (issue 23)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import httpx
from sqlalchemy import select

from mss.agenda.patient_agenda import AgendaSettings, save_agenda_settings
from mss.agenda.reminders import ReminderService
from mss.agenda.tables import ReminderClaimRow
from mss.directory.api_tokens import create_api_token
from mss.notify.notice_queue import SENT, notices
from mss.notify.notifier import Notifier
from mss.store.store import Store
from tests.notify.test_notices import relay  # noqa: F401  (fixture: STARTTLS sink)

from .calendars import convocation
from .conftest import Web

START = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)  # 09:30 in Paris


async def _reminder_notices(store: Store) -> list[str]:
    return [n.kind for n in await notices(store) if n.kind == "reminder"]


async def test_api_appointment_reminder_reaches_the_relay_without_health_data(
        web: Web, served: str, relay) -> None:  # noqa: F811
    sink, settings = relay
    token = await create_api_token(web.store, web.world.noreply)
    async with httpx.AsyncClient(base_url=served,
                                 headers={"authorization": f"Bearer {token}"}) as api:
        posted = await api.post("/api/v1/appointments", json={
            "patient": web.world.jeanne, "uid": "irm-55@labo.example",
            "start": START.isoformat(), "end": (START + timedelta(minutes=30)).isoformat(),
            "summary": "IRM cérébrale", "location": "Service de neuroradiologie"})
    assert posted.status_code == 201
    clock = web.store.clock
    reminders = ReminderService(web.store, node_id="n1")
    assert await reminders.run_once() == 0  # 2026-01-01: two weeks early
    clock.advance(START - timedelta(days=1, minutes=1) - clock.now())  # type: ignore[attr-defined]
    assert await reminders.run_once() == 0
    clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    assert await reminders.run_once() == 1
    assert await reminders.run_once() == 0
    notifier = Notifier(web.store, settings)
    assert await notifier.run_once() == 1
    ((_, rcpts, content),) = sink.messages
    assert rcpts == ["jeanne.dupont@example.org"]
    message = message_from_bytes(content, policy=policy.default)
    assert message["Subject"] == "Vous avez un rappel dans votre espace santé"
    text = message.get_body(("plain",)).get_content()
    assert "Vous avez un rappel dans votre espace santé" in text
    raw = content.decode("utf-8", "replace")
    for leak in ("IRM", "neuroradiologie", "Laboratoire", "15/01", "09:30", "2026-01-15",
                 web.world.jeanne_ins, web.world.noreply):
        assert leak not in raw, leak
    assert [n.status for n in await notices(web.store)] == [SENT]


async def test_settings_off_cancelled_and_moved(web: Web) -> None:
    world, clock = web.world, web.store.clock
    await web.send(subject="Convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation(start="20260115T093000"))])
    await web.send(to=world.paul, subject="Convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation(start="20260115T093000", uid="p@h"))])
    await save_agenda_settings(web.store, world.paul_principal,
                               AgendaSettings(reminders_enabled=False, reminder_minutes=60))
    await save_agenda_settings(web.store, world.jeanne_principal,
                               AgendaSettings(reminders_enabled=True, reminder_minutes=180))
    reminders = ReminderService(web.store)
    clock.advance(START - timedelta(hours=3, minutes=1) - clock.now())  # type: ignore[attr-defined]
    assert await reminders.run_once() == 0
    clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert await reminders.run_once() == 1  # Jeanne's; Paul turned reminders off
    # moved later by the hospital (SEQUENCE 1): a new start, a new reminder when due
    await web.send(subject="Report", attachments=[("rdv.ics", "text/calendar", convocation(
        start="20260115T120000", sequence=1))])
    assert await reminders.run_once() == 0
    clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    assert await reminders.run_once() == 1
    # a cancelled appointment is not reminded
    await web.send(subject="Nouveau", attachments=[("rdv.ics", "text/calendar", convocation(
        start="20260115T150000", uid="autre@h"))])
    await web.send(subject="Annulation", attachments=[("rdv.ics", "text/calendar", convocation(
        method="CANCEL", start="20260115T150000", uid="autre@h", sequence=1))])
    clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    assert await reminders.run_once() == 0
    assert len(await _reminder_notices(web.store)) == 2


async def test_exactly_once_across_nodes_and_restarts(web: Web) -> None:
    clock = web.store.clock
    for n in range(5):
        await web.send(subject=f"Convocation {n}", attachments=[
            ("rdv.ics", "text/calendar", convocation(start="20260115T093000", uid=f"u{n}@h"))])
    clock.advance(START - timedelta(hours=2) - clock.now())  # type: ignore[attr-defined]
    second = await Store.open(web.store.settings, clock=clock)  # another node, same database
    try:
        nodes = [ReminderService(web.store, node_id="node-a"),
                 ReminderService(second, node_id="node-b"),
                 ReminderService(web.store, node_id="node-a2"),
                 ReminderService(second, node_id="node-b2")]
        counts = await asyncio.gather(*(node.run_once() for node in nodes))
        assert sum(counts) == 5
        restarted = ReminderService(second, node_id="node-b-restarted")
        assert await restarted.run_once() == 0
    finally:
        await second.close()
    assert len(await _reminder_notices(web.store)) == 5
    async with web.store.reading() as session:
        claims = (await session.execute(select(ReminderClaimRow.appointment_id))).scalars().all()
    assert len(claims) == len(set(claims)) == 5
