"""iCalendar objects as hospitals' scheduling software writes them (RFC 5545/5546)."""

from __future__ import annotations

PARIS = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n")


def convocation(*, method: str = "REQUEST", uid: str = "echo-2026-0042@hopital.example",
                sequence: int = 0, start: str = "20261215T093000", extra: str = "",
                summary: str = "Échographie cardiaque", status: str = "") -> bytes:
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Hopital de demonstration//RDV//FR",
        f"METHOD:{method}", PARIS.rstrip("\r\n"), "BEGIN:VEVENT", f"UID:{uid}",
        f"SEQUENCE:{sequence}", "DTSTAMP:20261201T100000Z",
        f"DTSTART;TZID=Europe/Paris:{start}", "DURATION:PT45M", f"SUMMARY:{summary}",
        "LOCATION:Bâtiment B\\, 2e étage",
    ]
    if status:
        lines.append(f"STATUS:{status}")
    if extra:
        lines.append(extra)
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()
