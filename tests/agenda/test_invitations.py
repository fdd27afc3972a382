"""Reading iCalendar scheduling objects: every method, zones, bounds, hostile input."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mss.agenda.invitations import (
    MAX_CALENDAR_BYTES,
    MAX_OCCURRENCES,
    CalendarUnreadable,
    Method,
    read_calendar,
)

from .calendars import convocation

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_a_convocation_is_one_appointment_at_its_local_time() -> None:
    change = read_calendar(convocation(), now=NOW)
    assert change.method is Method.REQUEST
    (appointment,) = change.appointments
    assert appointment.uid == "echo-2026-0042@hopital.example"
    assert appointment.starts_at == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)  # CET = UTC+1
    assert (appointment.ends_at - appointment.starts_at).total_seconds() == 45 * 60
    assert appointment.summary == "Échographie cardiaque"
    assert appointment.location == "Bâtiment B, 2e étage"
    assert not appointment.cancelled and not appointment.all_day


def test_summer_time_and_floating_and_all_day_times() -> None:
    summer = read_calendar(convocation(start="20270615T093000"), now=NOW).appointments[0]
    assert summer.starts_at == datetime(2027, 6, 15, 7, 30, tzinfo=UTC)  # CEST = UTC+2
    floating = read_calendar(convocation().replace(
        b"DTSTART;TZID=Europe/Paris:", b"DTSTART:"), now=NOW).appointments[0]
    assert floating.starts_at == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)  # read in France
    day = read_calendar(convocation().replace(
        b"DTSTART;TZID=Europe/Paris:20261215T093000\r\nDURATION:PT45M",
        b"DTSTART;VALUE=DATE:20261215"), now=NOW).appointments[0]
    assert day.all_day and day.starts_at == datetime(2026, 12, 14, 23, 0, tzinfo=UTC)
    assert (day.ends_at - day.starts_at).days == 1


def test_cancel_and_cancelled_status_and_publish() -> None:
    assert read_calendar(convocation(method="CANCEL"), now=NOW).appointments[0].cancelled
    assert read_calendar(convocation(status="CANCELLED"), now=NOW).appointments[0].cancelled
    published = read_calendar(convocation().replace(b"METHOD:REQUEST\r\n", b""), now=NOW)
    assert published.method is Method.PUBLISH  # no METHOD: a plain calendar is published


def test_a_recurring_event_is_expanded_within_bounds() -> None:
    weekly = read_calendar(convocation(extra="RRULE:FREQ=WEEKLY;COUNT=6"), now=NOW)
    assert len(weekly.appointments) == 6
    assert len({a.recurrence_id for a in weekly.appointments}) == 6
    endless = read_calendar(convocation(extra="RRULE:FREQ=DAILY"), now=NOW)
    assert len(endless.appointments) == MAX_OCCURRENCES


@pytest.mark.parametrize("rule", [
    "RRULE:FREQ=SECONDLY", "RRULE:FREQ=DAILY;INTERVAL=0", "RRULE:FREQ=YEARLY;BYMONTH=13",
    "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31", "RRULE:FREQ=DAILY;BYMONTHDAY=40",
    "RRULE:FREQ=WEEKLY;BYSETPOS=-1;BYDAY=MO",
])
def test_a_rule_that_could_loop_without_end_keeps_the_first_occurrence(rule: str) -> None:
    """Rules the expansion could walk up to year 9999 without a date are not expanded."""
    (only,) = read_calendar(convocation(extra=rule), now=NOW).appointments
    assert only.starts_at == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize("data, reason", [
    (b"not a calendar", "not iCalendar"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no event"),
    (convocation(method="REPLY"), "method REPLY"),
    (convocation().replace(b"UID:echo-2026-0042@hopital.example\r\n", b""), "without UID"),
    (convocation(start="2026XX15T0930"), "unreadable event"),
    (convocation(extra="DTEND;TZID=Europe/Paris:20261201T000000").replace(
        b"DURATION:PT45M\r\n", b""), "ends before it starts"),
    (b"BEGIN:VCALENDAR\r\n" + b"X" * MAX_CALENDAR_BYTES, "larger than"),
])
def test_what_cannot_be_read_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(CalendarUnreadable, match=reason):
        read_calendar(data, now=NOW)


@given(st.binary(max_size=2000))
def test_any_bytes_give_a_change_or_a_reason(data: bytes) -> None:
    with contextlib.suppress(CalendarUnreadable):
        read_calendar(data, now=NOW)


@given(st.lists(st.sampled_from([
    "RRULE:FREQ=DAILY;INTERVAL=0", "RRULE:FREQ=YEARLY;BYMONTH=13", "EXDATE:garbage",
    "DURATION:-PT5M", "SEQUENCE:-4", "SEQUENCE:99999999999999", "STATUS:TENTATIVE",
    "RDATE:20261220T100000Z", "RRULE:FREQ=MINUTELY;UNTIL=20300101T000000Z", "X-FOO:\x00",
    "DTEND;VALUE=DATE:20261216", "RECURRENCE-ID:20261215T093000",
]), max_size=4))
def test_odd_event_properties_never_escape_as_errors(extra: list[str]) -> None:
    try:
        change = read_calendar(convocation(extra="\r\n".join(extra)), now=NOW)
    except CalendarUnreadable:
        return
    assert 1 <= len(change.appointments) <= MAX_OCCURRENCES
    assert all(a.ends_at >= a.starts_at for a in change.appointments)
