"""An application (APP mailbox, bearer token) posts and cancels appointments as JSON over
a real socket (httpx against uvicorn); they become the same agenda changes as an
iCalendar convocation by mail (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from mss.agenda.appointments import read_agenda
from mss.demo import ins_for
from mss.directory.api_tokens import create_api_token
from mss.directory.patients import set_patient_state
from mss.identity import PatientSpaceState
from mss.store.tables import AuditEvent

from .conftest import Web

ECHO = {"uid": "rdv-7781@labo.example", "start": "2026-12-15T09:30:00+01:00",
        "end": "2026-12-15T10:15:00+01:00", "summary": "Prise de sang",
        "location": "Laboratoire, rez-de-chaussée"}


async def _client(web: Web, served: str) -> httpx.AsyncClient:
    token = await create_api_token(web.store, web.world.noreply)
    return httpx.AsyncClient(base_url=served, headers={"authorization": f"Bearer {token}"})


async def test_post_update_cancel_through_the_api(web: Web, served: str) -> None:
    world = web.world
    async with await _client(web, served) as api:
        created = await api.post("/api/v1/appointments", json={**ECHO, "patient": world.jeanne})
        assert created.status_code == 201, created.text
        assert created.json() == {"uid": ECHO["uid"], "result": "created"}
        (entry,) = await read_agenda(web.store, world.jeanne_ins, world.jeanne_principal)
        assert entry.starts_at == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)
        assert (entry.summary, entry.organizer, entry.source) == (
            "Prise de sang", world.noreply, "api")
        assert entry.organizer_name == "Laboratoire de démonstration"

        moved = await api.post("/api/v1/appointments", json={
            **ECHO, "patient": world.jeanne_ins, "sequence": 1,
            "start": "2026-12-16T08:00:00Z", "end": "2026-12-16T08:30:00Z"})
        assert moved.status_code == 200 and moved.json()["result"] == "updated"
        older = await api.post("/api/v1/appointments", json={**ECHO, "patient": world.jeanne})
        assert older.status_code == 409 and older.json()["error"] == "older_sequence"
        (entry,) = await read_agenda(web.store, world.jeanne_ins, world.jeanne_principal)
        assert entry.starts_at == datetime(2026, 12, 16, 8, 0, tzinfo=UTC)

        listed = await api.get("/api/v1/appointments", params={"patient": world.jeanne})
        assert listed.status_code == 200
        assert [a["uid"] for a in listed.json()["appointments"]] == [ECHO["uid"]]

        cancelled = await api.post("/api/v1/appointments/cancel", json={
            "patient": world.jeanne, "uid": ECHO["uid"], "sequence": 2})
        assert cancelled.status_code == 200 and cancelled.json()["result"] == "cancelled"
        (entry,) = await read_agenda(web.store, world.jeanne_ins, world.jeanne_principal)
        assert entry.cancelled
        unknown = await api.post("/api/v1/appointments/cancel", json={
            "patient": world.jeanne, "uid": "never-sent"})
        assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_appointment"
    async with web.store.reading() as session:
        actions = (await session.execute(select(AuditEvent.action).where(
            AuditEvent.subject == world.jeanne_ins,
            AuditEvent.action.like("agenda.%"), AuditEvent.action != "agenda.read"
        ).order_by(AuditEvent.id))).scalars().all()
    assert actions == ["agenda.appointment_created", "agenda.appointment_updated",
                       "agenda.calendar_ignored", "agenda.appointment_cancelled",
                       "agenda.calendar_ignored"]


async def test_bad_input_changes_nothing(web: Web, served: str) -> None:
    world = web.world
    async with await _client(web, served) as api:
        cases = [
            ({**ECHO}, "'patient' is required"),
            ({**ECHO, "patient": "nobody@example.org"}, "not a patient address"),
            ({**ECHO, "patient": "123"}, "INS must have"),
            ({**ECHO, "patient": world.jeanne, "start": "2026-12-15T09:30:00"}, "UTC offset"),
            ({**ECHO, "patient": world.jeanne, "start": "demain"}, "ISO 8601"),
            ({**ECHO, "patient": world.jeanne, "end": ECHO["start"]}, "after 'start'"),
            ({**ECHO, "patient": world.jeanne, "uid": ""}, "'uid' is required"),
            ({**ECHO, "patient": world.jeanne, "sequence": -1}, "'sequence'"),
            ({**ECHO, "patient": world.jeanne, "summary": "x" * 301}, "longer than"),
            ([ECHO], "JSON object"),
        ]
        for body, why in cases:
            response = await api.post("/api/v1/appointments", json=body)
            assert response.status_code == 400, (body, response.text)
            assert why in response.json()["detail"], (why, response.json())
        assert (await api.post("/api/v1/appointments", content=b"{")).status_code == 400
        huge = await api.post("/api/v1/appointments", content=b" " * 20_000)
        assert huge.status_code == 413
        noauth = await httpx.AsyncClient(base_url=served).post(
            "/api/v1/appointments", json={**ECHO, "patient": world.jeanne})
        assert noauth.status_code == 401
        unknown = await api.post("/api/v1/appointments", json={
            **ECHO, "patient": ins_for("2990199123456")})
        assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_patient"
    assert await read_agenda(web.store, world.jeanne_ins, world.jeanne_principal) == []


async def test_an_opposed_patient_gets_no_appointment(web: Web, served: str) -> None:
    world = web.world
    await set_patient_state(web.store, world.paul_ins, PatientSpaceState.OPPOSED)
    async with await _client(web, served) as api:
        refused = await api.post("/api/v1/appointments", json={**ECHO, "patient": world.paul})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("R3: ")
    assert await read_agenda(web.store, world.paul_ins, world.paul_principal) == []


async def test_the_openapi_describes_appointments(web: Web, served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        spec = (await client.get("/api/v1/openapi.json")).json()
    assert {"/appointments", "/appointments/cancel"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["Appointment"]["required"] == [
        "patient", "uid", "start", "end"]
    refs = [r for path in spec["paths"].values() for op in path.values()
            for r in op["responses"].values()]
    assert all("description" in r for r in refs)
