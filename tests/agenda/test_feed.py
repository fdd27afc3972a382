"""The private iCalendar feed: created by the patient, fetched over a real socket by
httpx and read with the icalendar library (as a calendar client would), minimal detail
unless she chose more, revocable at once, every fetch in her traces (issue 23)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx
import icalendar
import recurring_ical_events
from sqlalchemy import select

from mss.agenda.feed import patient_feeds
from mss.agenda.tables import FeedTokenRow
from mss.store.tables import AuditEvent
from tests.webmail.conftest import csrf_of

from .calendars import convocation
from .conftest import Web

FEED = re.compile(r'value="(http://[^"]+/agenda/feed/mssfeed_[^"]+\.ics)"')


async def _new_feed(jeanne: httpx.AsyncClient, *, details: bool) -> str:
    csrf = csrf_of((await jeanne.get("/agenda")).text)
    page = await jeanne.post("/agenda/feeds", data={"csrf": csrf,
                                                    **({"show_details": "1"} if details else {})})
    assert page.status_code == 200
    found = FEED.search(page.text)
    assert found, page.text
    return found.group(1)


async def test_feed_minimal_then_detailed_then_revoked(web: Web, served: str,
                                                       jeanne: httpx.AsyncClient) -> None:
    await web.send(subject="Convocation", attachments=[
        ("rdv.ics", "text/calendar", convocation())])
    await web.send(subject="Annulation", attachments=[("rdv.ics", "text/calendar", convocation(
        uid="autre@hopital.example", start="20261220T140000"))])
    await web.send(subject="Annulation", attachments=[("rdv.ics", "text/calendar", convocation(
        method="CANCEL", sequence=1, uid="autre@hopital.example", start="20261220T140000"))])
    minimal = (await _new_feed(jeanne, details=False)).replace("http://testserver", served)
    async with httpx.AsyncClient() as phone:
        fetched = await phone.get(minimal)
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(fetched.content)
        events = calendar.walk("VEVENT")
        assert len(events) == 2
        by_status = {str(e["STATUS"]): e for e in events}
        kept = by_status["CONFIRMED"]
        assert kept.decoded("DTSTART") == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)
        assert str(kept["SUMMARY"]) == "Rendez-vous santé" and "LOCATION" not in kept
        assert "hopital.example" not in fetched.text and "Échographie" not in fetched.text
        assert web.world.alice not in fetched.text and web.world.jeanne_ins not in fetched.text
        window = recurring_ical_events.of(calendar).between(datetime(2026, 12, 1, tzinfo=UTC),
                                                            datetime(2027, 1, 1, tzinfo=UTC))
        assert len(list(window)) == 2

        detailed = (await _new_feed(jeanne, details=True)).replace("http://testserver", served)
        shown = icalendar.Calendar.from_ical((await phone.get(detailed)).content)
        summaries = sorted(str(e["SUMMARY"]) for e in shown.walk("VEVENT"))
        assert summaries == ["Échographie cardiaque", "Échographie cardiaque"]
        assert {str(e.get("LOCATION")) for e in shown.walk("VEVENT")} == {
            "Bâtiment B, 2e étage"}

        feeds = await patient_feeds(web.store, web.world.jeanne_ins)
        assert len(feeds) == 2
        csrf = csrf_of((await jeanne.get("/agenda")).text)
        assert (await jeanne.post(f"/agenda/feeds/{feeds[0].id}/revoke",
                                  data={"csrf": csrf})).status_code == 303
        assert (await phone.get(minimal)).status_code == 404
        assert (await phone.get(detailed)).status_code == 200
        assert (await phone.get(f"{served}/agenda/feed/mssfeed_nope.ics")).status_code == 404
        assert (await phone.post(detailed)).status_code == 405  # read-only
    async with web.store.reading() as session:
        stored = (await session.execute(select(FeedTokenRow.token_hash))).scalars().all()
        fetches = (await session.execute(select(AuditEvent.outcome).where(
            AuditEvent.action == "agenda.feed_read",
            AuditEvent.subject == web.world.jeanne_ins).order_by(AuditEvent.id))).scalars().all()
    assert all(len(h) == 64 and "mssfeed_" not in h for h in stored)
    assert fetches == ["ok", "ok", "refused", "ok"]


async def test_another_patient_cannot_revoke(web: Web, jeanne: httpx.AsyncClient,
                                             paul: httpx.AsyncClient) -> None:
    await _new_feed(jeanne, details=False)
    (feed,) = await patient_feeds(web.store, web.world.jeanne_ins)
    csrf = csrf_of((await paul.get("/agenda")).text)
    assert (await paul.post(f"/agenda/feeds/{feed.id}/revoke",
                            data={"csrf": csrf})).status_code == 404
    assert len(await patient_feeds(web.store, web.world.jeanne_ins)) == 1


async def test_feed_reads_are_in_her_traces(web: Web, served: str,
                                            jeanne: httpx.AsyncClient) -> None:
    url = (await _new_feed(jeanne, details=False)).replace("http://testserver", served)
    async with httpx.AsyncClient() as phone:
        assert (await phone.get(url)).status_code == 200
    traces = html.unescape((await jeanne.get("/traces")).text)
    assert "Votre agenda a été lu par une application calendrier abonnée." in traces
    assert "Vous avez créé une adresse d'abonnement à votre agenda." in traces
