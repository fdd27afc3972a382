"""The instant a `Date:` field names, for every form mail really carries (RFC 5322 §3.3, §4.3).

Total: any text gives an aware UTC datetime or None, never an error, so that a Date
MSS cannot read never makes a message undeliverable (docs/rfc-index.md, RFC 5322). What
is read, beyond the strict grammar:
- comments anywhere (`+0100 (CET)`, `(sent) Wed, ...`), folding, extra spaces;
- the day of week left out, misspelt or without its comma; full month names;
- seconds left out; a leap second 60 (read as 59); fractions of a second;
- two-digit years (00-49 are 2000-2049, 50-99 are 1950-1999) and three-digit years
  (1900 added), as RFC 5322 §4.3 says;
- `-0000` and no zone at all: the time is UTC with no local offset known (§3.3);
- the obsolete zones `UT`, `GMT`, `EST`/`EDT`, `CST`/`CDT`, `MST`/`MDT`, `PST`/`PDT`;
  military letters and any other alphabetic zone are `-0000` (§4.3);
- a zone outside ±23:59 or with minutes over 59 is unknown, so `-0000` too;
- asctime (`Wed Dec  2 13:49:55 2026`) and ISO 8601, which some programs write.
A date outside the years 1-9999 or a day that does not exist (31 Feb) gives None: the
caller then uses the arrival time (RFC 5256 §2.2: the INTERNALDATE stands for a sent
date that cannot be determined).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

MAX_DATE_CHARS = 300  # a longer value is no date a program wrote

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    start=1)}
# RFC 5322 §4.3 obs-zone, in hours east of UTC
_NAMED_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "edt": -4, "est": -5, "cdt": -5,
                "cst": -6, "mdt": -6, "mst": -7, "pdt": -7, "pst": -8}

_DATE = re.compile(
    r"""^(?:[a-z]+\.?\s*,?\s*)?            # day of week, optional, not checked
    (?P<day>\d{1,2})\s*[\s\-/]\s*
    (?P<month>[a-z]{3,})\.?\s*[\s\-/]\s*
    (?P<year>\d{2,4})\s*[\s,]\s*
    (?P<hour>\d{1,2})\s*:\s*(?P<minute>\d{1,2})(?:\s*:\s*(?P<second>\d{1,2})(?:[.,]\d+)?)?
    \s*(?P<zone>[+-]\s*\d{1,2}(?::?\d{2})?|[a-z]+(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?)?
    (?:\s|$)""",
    re.IGNORECASE | re.VERBOSE,
)
_NUMERIC_ZONE = re.compile(r"([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def parse_header_date(value: str | bytes | None) -> datetime | None:
    """The aware UTC instant of a Date field value, or None when there is none to read."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if len(text) > MAX_DATE_CHARS:
        return None
    text = " ".join(_without_comments(text).split())
    if not text:
        return None
    try:
        return _rfc5322(text) or _asctime(text) or _iso8601(text)
    except (ValueError, OverflowError, TypeError, IndexError):  # impossible day, year 0...
        return None


def _without_comments(text: str) -> str:
    """Comments (nested, with quoted pairs) replaced by a space (RFC 5322 §3.2.2 CFWS)."""
    out: list[str] = []
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if depth and char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
            out.append(" ")
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
        index += 1
    return "".join(out)


def _rfc5322(text: str) -> datetime | None:
    found = _DATE.match(text)
    if found is None:
        return None
    month = _MONTHS.get(found["month"][:3].lower())
    if month is None:
        return None
    year = _full_year(found["year"])
    second = min(int(found["second"] or 0), 59)
    local = datetime(year, month, int(found["day"]), int(found["hour"]), int(found["minute"]),
                     second, tzinfo=_zone(found["zone"] or ""))
    return local.astimezone(UTC)


def _full_year(digits: str) -> int:
    """RFC 5322 §4.3: 00-49 → 2000-2049, 50-99 and three digits → add 1900."""
    year = int(digits)
    if len(digits) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(digits) == 3:
        return year + 1900
    return year


def _zone(text: str) -> timezone:
    """The offset a zone names; UTC for -0000, none, military and unknown zones (§4.3)."""
    numeric = _NUMERIC_ZONE.search(text)
    if numeric is not None:
        sign, hours, minutes = numeric.groups()
        total_minutes = int(hours) * 60 + int(minutes or 0)
        if int(minutes or 0) > 59 or total_minutes >= 24 * 60:
            return UTC
        offset = timedelta(minutes=total_minutes)
        return timezone(-offset if sign == "-" else offset)
    hours_east = _NAMED_ZONES.get(text.strip().lower(), 0)
    return timezone(timedelta(hours=hours_east))


def _asctime(text: str) -> datetime | None:
    """The forms `email.utils.parsedate_tz` reads that RFC 5322 does not (asctime)."""
    parts = parsedate_tz(text)
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts[:6]
    if not 1 <= year <= 9999:
        return None
    offset = parts[9] or 0
    if abs(offset) >= 24 * 3600:
        offset = 0
    local = datetime(year, month, day, hour, minute, min(second, 59),
                     tzinfo=timezone(timedelta(seconds=offset)))
    return local.astimezone(UTC)


def _iso8601(text: str) -> datetime | None:
    """`2026-12-02T13:49:55Z` and the like, which a few programs write; no zone is UTC."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
