"""The patient's agenda page: her appointments (month and list views, upcoming and
past), her own events, and the care timeline (documents deposited, messages received)
by date; her reminder settings and private feed (docs/agenda.md).

A thin adapter: the agenda (mss.agenda) changes and reads appointments and audits them,
the vault lists documents (audited), mss.read_models lists messages.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.agenda.appointments import AgendaEntry, read_agenda
from mss.agenda.feed import create_feed, patient_feeds, read_feed, revoke_feed
from mss.agenda.organisation_view import NotInCare, organisation_appointments
from mss.agenda.patient_agenda import (
    REMINDER_CHOICES,
    AgendaSettings,
    OwnEventInvalid,
    add_own_event,
    agenda_settings,
    delete_own_event,
    save_agenda_settings,
)
from mss.directory.identifiers import InvalidIdentifier, check_ins
from mss.read_models.care_timeline import inbox_uids, received_messages
from mss.webmail.rendering import PARIS, render
from mss.webmail.web_auth import (
    checked_form,
    context_of,
    patient_session,
    professional_session,
)

WEEKDAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


@dataclass(frozen=True, slots=True)
class DayItem:
    """One line of a day: an appointment, a document deposited, a message received."""

    kind: str  # "appointment", "own", "document", "message"
    at: datetime
    label: str
    detail: str
    link: str
    cancelled: bool = False
    entry_id: int = 0


def _local_date(value: datetime) -> date:
    return value.astimezone(PARIS).date()


def _month(text: str, today: date) -> date:
    try:
        year, month = (int(p) for p in text.split("-", 1))
        return date(year, month, 1) if 1990 <= year <= 2100 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _appointment_item(entry: AgendaEntry, sources: dict[str, int] | None = None) -> DayItem:
    """An appointment's line; it links to the message that carried it, when she has it."""
    own = entry.source == "patient"
    uid = (sources or {}).get(entry.message_ref)
    return DayItem("own" if own else "appointment", entry.starts_at, entry.summary or
                   "Rendez-vous", " · ".join(p for p in (entry.location, "" if own else
                                                          entry.organizer_name) if p),
                   f"/messages/inbox/{uid}" if uid else "", entry.cancelled, entry.id)


async def _timeline(request: Request, since: datetime | None, until: datetime | None
                    ) -> list[DayItem]:
    session = await patient_session(request)
    web = context_of(request)
    listing = await web.vault.list_documents(session.principal)
    items = [DayItem("document", d.received_at, d.title or d.file_name,
                     "déposé par vous" if d.uploaded_by_patient else d.space.value,
                     f"/documents/{d.id}")
             for d in listing.documents
             if (since is None or d.received_at >= since)
             and (until is None or d.received_at < until)]
    for message in await received_messages(web.store, session.principal.mailbox or "",
                                           since=since, until=until):
        items.append(DayItem("message", message.received_at, message.subject or "(sans objet)",
                             message.sender_name, f"/messages/inbox/{message.uid}"))
    return items


async def agenda_page(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    principal = session.principal
    now = web.store.clock.now()
    today = _local_date(now)
    view = "month" if request.query_params.get("view") == "month" else "list"
    entries = await read_agenda(web.store, principal.ident, principal, why="via=web")
    sources = await inbox_uids(web.store, principal.mailbox or "",
                               [e.message_ref for e in entries])
    settings = await agenda_settings(web.store, principal.ident)
    values: dict[str, Any] = {
        "view": view, "settings": settings, "reminder_choices": REMINDER_CHOICES,
        "error": request.query_params.get("error", "")[:200],
        "today": today, "feeds": await patient_feeds(web.store, principal.ident),
    }
    if view == "month":
        first = _month(request.query_params.get("month", ""), today)
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        start = datetime.combine(weeks[0][0], time(), PARIS).astimezone(UTC)
        end = datetime.combine(weeks[-1][-1] + timedelta(days=1), time(), PARIS).astimezone(UTC)
        days: dict[date, list[DayItem]] = {d: [] for week in weeks for d in week}
        for entry in entries:
            if start <= entry.starts_at < end:
                days[_local_date(entry.starts_at)].append(_appointment_item(entry, sources))
        for item in await _timeline(request, start, end):
            days[_local_date(item.at)].append(item)
        for items in days.values():
            items.sort(key=lambda i: (i.kind not in ("appointment", "own"), i.at))
        previous = (first - timedelta(days=1)).replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        values.update(weeks=weeks, days=days, first=first, weekdays=WEEKDAYS,
                      month_names=MONTHS,
                      previous=previous.strftime("%Y-%m"), following=following.strftime("%Y-%m"))
    else:
        upcoming = [_appointment_item(e, sources) for e in entries if e.ends_at >= now]
        past = [_appointment_item(e, sources) for e in reversed(entries) if e.ends_at < now]
        timeline = sorted(await _timeline(request, None, None), key=lambda i: i.at,
                          reverse=True)
        values.update(upcoming=upcoming, past=past, timeline=timeline)
    return render(request, "agenda.html", **values)


def _form_instant(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock or "00:00"),
                            PARIS).astimezone(UTC)


async def add_event(request: Request) -> Response:
    session = await patient_session(request)
    form = await checked_form(request, session)
    try:
        day = str(form.get("date", ""))
        all_day = form.get("all_day") == "1"
        if all_day:
            starts_at = _form_instant(day, "00:00")
            ends_at = _form_instant((date.fromisoformat(day) + timedelta(days=1)).isoformat(),
                                    "00:00")
        else:
            starts_at = _form_instant(day, str(form.get("start", "")))
            ends_at = _form_instant(day, str(form.get("end", "")))
        await add_own_event(context_of(request).store, session.principal,
                            starts_at=starts_at, ends_at=ends_at, all_day=all_day,
                            summary=str(form.get("summary", ""))[:400],
                            location=str(form.get("location", ""))[:400])
    except (ValueError, OverflowError) as error:  # dates the browser did not check
        # (year 1 in Paris is before UTC's year 1), OwnEventInvalid
        why = str(error) if isinstance(error, OwnEventInvalid) else (
            "Date ou heure invalide. / Invalid date or time.")
        return render(request, "error.html", status_code=400, reason=why)
    return RedirectResponse("/agenda?added=1", 303)


async def delete_event(request: Request) -> Response:
    session = await patient_session(request)
    await checked_form(request, session)
    deleted = await delete_own_event(context_of(request).store, session.principal,
                                     int(request.path_params["id"]))
    if not deleted:
        return render(request, "not_found.html", status_code=404)
    return RedirectResponse("/agenda", 303)


async def save_settings(request: Request) -> Response:
    session = await patient_session(request)
    form = await checked_form(request, session)
    try:
        minutes = int(str(form.get("reminder_minutes", "")))
        await save_agenda_settings(context_of(request).store, session.principal,
                                   AgendaSettings(form.get("reminders") == "1", minutes))
    except ValueError:
        return render(request, "error.html", status_code=400,
                      reason="Délai de rappel inconnu. / Unknown reminder delay.")
    return RedirectResponse("/agenda?saved=1", 303)


async def create_feed_page(request: Request) -> Response:
    """A new private feed; its address is shown on this one answer only."""
    session = await patient_session(request)
    form = await checked_form(request, session)
    try:
        token = await create_feed(context_of(request).store, session.principal,
                                  show_details=form.get("show_details") == "1")
    except ValueError as error:
        return render(request, "error.html", status_code=400, reason=str(error))
    url = str(request.url_for("agenda_feed", token=token))
    return render(request, "agenda_feed.html", url=url,
                  show_details=form.get("show_details") == "1")


async def revoke_feed_page(request: Request) -> Response:
    session = await patient_session(request)
    await checked_form(request, session)
    if not await revoke_feed(context_of(request).store, session.principal,
                             int(request.path_params["id"])):
        return render(request, "not_found.html", status_code=404)
    return RedirectResponse("/agenda?saved=1#feed", 303)


async def feed(request: Request) -> Response:
    """The private iCalendar feed (no session: the secret URL is the credential)."""
    web = context_of(request)
    client = request.client.host if request.client else ""
    data = await read_feed(web.store, request.path_params["token"], client=f"from={client}")
    if data is None:
        return Response("not found\n", 404, media_type="text/plain")
    return Response(data, 200, media_type="text/calendar; charset=utf-8",
                    headers={"cache-control": "private, no-store"})


async def professional_agenda(request: Request) -> Response:
    """/pro/patients/{ins}/agenda: what the professional's organisation sent her."""
    session = await professional_session(request)
    web = context_of(request)
    try:
        ins = check_ins(request.path_params["ins"])
        entries = await organisation_appointments(web.store, session.principal, ins)
    except (InvalidIdentifier, NotInCare):
        return render(request, "not_found.html", status_code=404)
    now = web.store.clock.now()
    return render(request, "pro_agenda.html", ins=ins,
                  upcoming=[e for e in entries if e.ends_at >= now],
                  past=[e for e in reversed(entries) if e.ends_at < now])
