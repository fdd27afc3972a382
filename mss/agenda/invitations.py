"""iCalendar scheduling messages read into plain appointment changes (RFC 5545, RFC 5546).

Pure: bytes in, `CalendarChange` out; nothing here touches the store. Bounded like every
parser of untrusted input here: the part's size, the number of events, the length of
each text, and the expansion of recurrences (a `FREQ=SECONDLY` rule yields at most
`MAX_OCCURRENCES` dates inside the window) are capped. A calendar that cannot be read
gives `CalendarUnreadable` with a reason: the message itself is delivered all the same.

Times: a DATE-TIME with a zone or in UTC is kept as that instant; a floating one (no
zone) is read in `LOCAL_ZONE` (France), and an all-day DATE starts at local midnight.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

MAX_CALENDAR_BYTES = 256 * 1024
MAX_EVENTS = 50
MAX_OCCURRENCES = 100
MAX_TEXT = 300
RECURRENCE_WINDOW = timedelta(days=2 * 366)  # occurrences kept from now on
# Recurrence rules are expanded only in the shape appointment software writes: a rule
# with any other part (BYMONTH, BYSETPOS, BYHOUR...), a zero or huge interval, or a start
# long ago could make the expansion loop for a very long time without yielding (the
# library walks period by period up to year 9999 when no date matches). Such an event
# keeps its first occurrence only.
EXPANDED_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
EXPANDED_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY",
                            "WKST"})
MAX_INTERVAL = 366
OLDEST_EXPANDED_START = timedelta(days=10 * 366)
LOCAL_ZONE = ZoneInfo("Europe/Paris")


class Method(enum.StrEnum):
    """RFC 5546 §1.4 methods that change a patient's agenda."""

    PUBLISH = "PUBLISH"
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


class CalendarUnreadable(ValueError):
    """The calendar part is not one MSS reads; the reason is for the audit trail."""


@dataclass(frozen=True, slots=True)
class Appointment:
    """One occurrence of an event as the agenda shows it."""

    uid: str
    sequence: int
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC, after starts_at
    all_day: bool
    summary: str
    location: str
    cancelled: bool  # STATUS:CANCELLED in a REQUEST/PUBLISH, or any CANCEL
    recurrence_id: str = ""  # which occurrence of a recurring event ("" for a single one)


@dataclass(frozen=True, slots=True)
class CalendarChange:
    method: Method
    appointments: tuple[Appointment, ...]


def _text(component: icalendar.cal.Component, name: str) -> str:
    value = component.get(name)
    if value is None:
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ").strip()
    return text[:MAX_TEXT]


def _instant(value: date | datetime) -> tuple[datetime, bool]:
    """(UTC instant, whether it was an all-day DATE)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=LOCAL_ZONE)
        return value.astimezone(UTC), False
    return datetime(value.year, value.month, value.day, tzinfo=LOCAL_ZONE).astimezone(UTC), True


def _span(event: icalendar.cal.Component) -> tuple[datetime, datetime, bool]:
    start_prop = event.get("DTSTART")
    if start_prop is None:
        raise CalendarUnreadable("event without DTSTART")
    start, all_day = _instant(start_prop.dt)
    end_prop = event.get("DTEND")
    if end_prop is not None:
        end, _ = _instant(end_prop.dt)
    elif event.get("DURATION") is not None:
        end = start + event.get("DURATION").dt
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))  # RFC 5545 §3.6.1
    if end < start:
        raise CalendarUnreadable("event ends before it starts")
    return start, end, all_day


def _sequence(event: icalendar.cal.Component) -> int:
    try:
        return max(0, min(int(event.get("SEQUENCE", 0)), 2**31 - 1))
    except (TypeError, ValueError):
        return 0


def _appointment(event: icalendar.cal.Component, method: Method, recurrence_id: str = "",
                 ) -> Appointment:
    uid = _text(event, "UID")
    if not uid:
        raise CalendarUnreadable("event without UID")
    start, end, all_day = _span(event)
    cancelled = method is Method.CANCEL or _text(event, "STATUS").upper() == "CANCELLED"
    return Appointment(uid, _sequence(event), start, end, all_day, _text(event, "SUMMARY"),
                       _text(event, "LOCATION"), cancelled, recurrence_id)


def _expandable(event: icalendar.cal.Component, now: datetime) -> bool:
    rule = event.get("RRULE")
    if isinstance(rule, list) or not hasattr(rule, "keys"):
        return False  # several RRULEs (deprecated by RFC 5545) or an unreadable one
    if set(rule.keys()) - EXPANDED_PARTS:
        return False
    if [str(f).upper() for f in rule.get("FREQ", [])] not in ([f] for f in
                                                             EXPANDED_FREQUENCIES):
        return False
    try:
        interval = int(rule.get("INTERVAL", [1])[0])
        days = [int(d) for d in rule.get("BYMONTHDAY", [])]
    except (TypeError, ValueError):
        return False
    if not 1 <= interval <= MAX_INTERVAL or any(not 1 <= abs(d) <= 31 for d in days):
        return False
    start, _, _ = _span(event)
    return start >= now - OLDEST_EXPANDED_START


def _occurrences(calendar: icalendar.Calendar, event: icalendar.cal.Component,
                 method: Method, now: datetime) -> list[Appointment]:
    """A recurring event's occurrences from `now` to the window's end, at most
    MAX_OCCURRENCES of them."""
    single = icalendar.Calendar()
    for key, value in calendar.property_items(recursive=False)[1:-1]:
        single.add(key, value)
    for timezone in calendar.walk("VTIMEZONE"):
        single.add_component(timezone)
    single.add_component(event)
    query = recurring_ical_events.of(single)
    found = []
    horizon = now + RECURRENCE_WINDOW
    for occurrence in itertools.islice(query.after(now), MAX_OCCURRENCES):
        start, _ = _instant(occurrence["DTSTART"].dt)
        if start > horizon:
            break
        found.append(_appointment(occurrence, method, recurrence_id=start.isoformat()))
    return found


def read_calendar(data: bytes, *, now: datetime) -> CalendarChange:
    """The appointment changes one iCalendar object carries (RFC 5546 iTIP)."""
    if len(data) > MAX_CALENDAR_BYTES:
        raise CalendarUnreadable(f"calendar larger than {MAX_CALENDAR_BYTES} bytes")
    try:
        calendar = icalendar.Calendar.from_ical(data.decode("utf-8", "replace"))
    except Exception as error:  # the library raises ValueError, KeyError, IndexError...
        raise CalendarUnreadable(f"not iCalendar: {type(error).__name__}") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise CalendarUnreadable("not a VCALENDAR")
    method_text = _text(calendar, "METHOD").upper() or Method.PUBLISH.value
    try:
        method = Method(method_text)
    except ValueError:
        raise CalendarUnreadable(f"method {method_text[:20]} does not change an agenda") from None
    events = calendar.walk("VEVENT")
    if not events:
        raise CalendarUnreadable("no event")
    if len(events) > MAX_EVENTS:
        raise CalendarUnreadable(f"more than {MAX_EVENTS} events")
    appointments: list[Appointment] = []
    try:
        for event in events:
            if (event.get("RRULE") is not None and method is not Method.CANCEL
                    and _expandable(event, now)):
                appointments.extend(_occurrences(calendar, event, method, now))
            else:
                appointments.append(_appointment(event, method))
    except CalendarUnreadable:
        raise
    except Exception as error:  # malformed dates, rules or durations inside the library
        raise CalendarUnreadable(f"unreadable event: {type(error).__name__}") from None
    return CalendarChange(method, tuple(appointments[: MAX_EVENTS * MAX_OCCURRENCES]))
