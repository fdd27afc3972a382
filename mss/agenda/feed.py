"""The patient's private iCalendar feed (RFC 5545): a secret URL that phone calendars
subscribe to (docs/agenda.md §Feed).

Invariants:
- the token is random, shown once, stored as its SHA-256; revoking it ends the feed at
  once; the feed is read-only (GET only, nothing it carries changes the agenda);
- minimal detail: unless the patient chose to show them, an event is "Rendez-vous
  santé" with its times only; never the organiser, the message or the hospital's UID
  (each event's UID is an opaque hash);
- every fetch is an audit row with her INS as subject (in her traces), a refused one too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import icalendar
from sqlalchemy import select

from mss.agenda.tables import AppointmentRow, FeedTokenRow
from mss.identity import Principal
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

FEED_PREFIX = "mssfeed_"
MAX_FEED_EVENTS = 2000
NEUTRAL_SUMMARY = "Rendez-vous santé"
MAX_FEEDS = 10


@dataclass(frozen=True, slots=True)
class FeedInfo:
    id: int
    created_at: datetime
    show_details: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _patient(principal: Principal) -> str:
    if principal.kind.value != "patient":
        raise PermissionError("only the patient makes her feed")
    return principal.ident


async def create_feed(store: Store, principal: Principal, *, show_details: bool) -> str:
    """A new feed token for the patient; the clear token is returned once."""
    ins = _patient(principal)
    token = FEED_PREFIX + secrets.token_urlsafe(32)

    async def job(uow: UnitOfWork) -> None:
        active = (await uow.session.execute(select(FeedTokenRow.id).where(
            FeedTokenRow.patient_ins == ins, FeedTokenRow.revoked_at.is_(None)))).all()
        if len(active) >= MAX_FEEDS:
            raise ValueError(f"at most {MAX_FEEDS} feeds: revoke one first")
        row = FeedTokenRow(patient_ins=ins, token_hash=_hash(token), show_details=show_details,
                           created_at=uow.now())
        uow.session.add(row)
        await uow.session.flush()
        uow.audit(AuditAction.AGENDA_FEED_CREATED, principal, target=f"feed:{row.id}",
                  subject=ins, detail=f"details={'shown' if show_details else 'hidden'}")

    await store.write(job)
    return token


async def patient_feeds(store: Store, patient_ins: str) -> list[FeedInfo]:
    async with store.reading() as session:
        rows = (await session.execute(select(FeedTokenRow).where(
            FeedTokenRow.patient_ins == patient_ins, FeedTokenRow.revoked_at.is_(None))
            .order_by(FeedTokenRow.id))).scalars()
        return [FeedInfo(r.id, r.created_at, r.show_details) for r in rows]


async def revoke_feed(store: Store, principal: Principal, feed_id: int) -> bool:
    ins = _patient(principal)

    async def job(uow: UnitOfWork) -> bool:
        row = (await uow.session.execute(select(FeedTokenRow).where(
            FeedTokenRow.id == feed_id, FeedTokenRow.patient_ins == ins,
            FeedTokenRow.revoked_at.is_(None)))).scalar_one_or_none()
        if row is None:
            return False
        row.revoked_at = uow.now()
        await uow.session.flush()
        uow.audit(AuditAction.AGENDA_FEED_REVOKED, principal, target=f"feed:{row.id}",
                  subject=ins)
        return True

    return await store.write(job)


def _event_uid(row: AppointmentRow, domain: str) -> str:
    digest = hashlib.sha256(f"{row.organizer}\0{row.uid}\0{row.recurrence_id}".encode())
    return f"{digest.hexdigest()[:32]}@{domain}"


def feed_calendar(rows: list[AppointmentRow], *, show_details: bool, domain: str,
                  now: datetime) -> bytes:
    """The VCALENDAR of a feed (METHOD PUBLISH, RFC 5546 §3.2.1)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//MSS//Agenda santé//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Agenda santé")
    for row in rows:
        event = icalendar.Event()
        event.add("uid", _event_uid(row, domain))
        event.add("dtstamp", now)
        if row.all_day:
            event.add("dtstart", row.starts_at.date())
            event.add("dtend", max(row.ends_at.date(), row.starts_at.date()))
        else:
            event.add("dtstart", row.starts_at)
            event.add("dtend", row.ends_at)
        event.add("sequence", row.sequence)
        event.add("summary", (row.summary or NEUTRAL_SUMMARY) if show_details
                  else NEUTRAL_SUMMARY)
        if show_details and row.location:
            event.add("location", row.location)
        event.add("status", "CANCELLED" if row.cancelled else "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


async def read_feed(store: Store, token: str, *, client: str = "") -> bytes | None:
    """The feed behind `token`, or None (unknown or revoked); audited either way."""
    if not token.startswith(FEED_PREFIX) or len(token) > 100:
        return None
    domain = store.settings.server.domain.lower()

    async def job(uow: UnitOfWork) -> bytes | None:
        feed = (await uow.session.execute(select(FeedTokenRow).where(
            FeedTokenRow.token_hash == _hash(token)))).scalar_one_or_none()
        if feed is None:
            return None
        actor = f"feed:{feed.id}"
        if feed.revoked_at is not None:
            uow.audit(AuditAction.AGENDA_FEED_READ, actor, target=actor,
                      outcome=AuditOutcome.REFUSED, subject=feed.patient_ins,
                      detail=f"revoked {client[:100]}".strip())
            return None
        rows = list((await uow.session.execute(select(AppointmentRow).where(
            AppointmentRow.patient_ins == feed.patient_ins)
            .order_by(AppointmentRow.starts_at.desc()).limit(MAX_FEED_EVENTS))).scalars())
        uow.audit(AuditAction.AGENDA_FEED_READ, actor, target=actor, subject=feed.patient_ins,
                  detail=f"events={len(rows)} {client[:100]}".strip())
        return feed_calendar(rows, show_details=feed.show_details, domain=domain,
                             now=uow.now())

    return await store.write(job)
