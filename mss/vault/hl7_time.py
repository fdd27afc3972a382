"""HL7 DTM timestamps: XDS `creationTime` (UTC, ITI TF-3 §4.2.3.1.5) and CDA `effectiveTime`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_DTM = re.compile(
    r"^(?P<digits>\d{4}(?:\d{2}){0,5})(?:\.\d{1,4})?(?:(?P<sign>[+-])(?P<hh>\d{2})(?P<mm>\d{2}))?$"
)


def parse_hl7_time(text: str | None) -> datetime | None:
    """`YYYY[MM[DD[hh[mm[ss]]]]][.f][±hhmm]` → aware datetime (UTC when no offset); else None."""
    if not text:
        return None
    match = _DTM.match(text.strip())
    if match is None:
        return None
    digits = match["digits"]
    given = [int(digits[0:4])] + [int(digits[i : i + 2]) for i in range(4, len(digits), 2)]
    year, month, day, hour, minute, second = given + [1, 1, 0, 0, 0][len(given) - 1 :]
    zone = UTC
    if match["sign"]:
        offset = timedelta(hours=int(match["hh"]), minutes=int(match["mm"]))
        if offset >= timedelta(hours=24):
            return None
        zone = timezone(offset if match["sign"] == "+" else -offset)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
