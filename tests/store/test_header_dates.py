"""`parse_header_date` reads every RFC 5322 §3.3/§4.3 Date form and never raises; a Date
that cannot be read stores the arrival time as the sent date (RFC 5256 §2.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mss.demo import seed_world
from mss.store.header_dates import parse_header_date
from mss.store.header_summary import summarise_headers
from mss.store.mailboxes import find_mailbox
from mss.store.message_contents import PreparedBlob
from mss.store.store import Store
from mss.store.tables import StoredMessage
from mss.store.unit_of_work import UnitOfWork

NOON = datetime(2026, 12, 2, 13, 49, 55, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("Wed, 02 Dec 2026 13:49:55 -0000", NOON),  # email.utils.formatdate() default
    ("Wed, 02 Dec 2026 13:49:55 +0000", NOON),
    ("Wed, 02 Dec 2026 13:49:55", NOON),  # no zone: UTC
    ("Wed, 02 Dec 2026 14:49:55 +0100", NOON),
    ("02 Dec 2026 08:49:55 EST", NOON),
    ("02 Dec 2026 09:49:55 EDT", NOON),
    ("02 Dec 2026 05:49:55 PST", NOON),
    ("02 Dec 2026 13:49:55 UT", NOON),
    ("02 Dec 2026 13:49:55 GMT", NOON),
    ("02 Dec 2026 13:49:55 Q", NOON),  # military letters are -0000 (§4.3)
    ("02 Dec 2026 13:49:55 z", NOON),
    ("02 Dec 2026 13:49:55 CEST", NOON),  # unknown alphabetic zone: -0000
    ("Wed, 2 Dec 26 13:49:55 +0000", NOON),  # two-digit year < 50
    ("Thu, 2 Dec 99 13:49:55 +0000", NOON.replace(year=1999)),
    ("Sat, 2 Dec 126 13:49:55 +0000", NOON),  # three-digit year + 1900
    ("2 Dec 2026 13:49 +0000", NOON.replace(second=0)),  # no seconds, no weekday
    ("(sent) Wed,\r\n 02 Dec 2026\r\n\t14:49:55 +0100 (CET (Paris))", NOON),
    ("Wednesday, 2 December 2026 13:49:55 +0000", NOON),
    ("Wed, 02 Dec 2026 13:49:55 GMT+0100", NOON - timedelta(hours=1)),
    ("Wed, 31 Dec 2026 23:59:60 +0000", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("Wed, 02 Dec 2026 13:49:55 +9999", NOON),  # no such zone: -0000
    ("Wed Dec  2 13:49:55 2026", NOON),  # asctime
    ("2026-12-02T14:49:55+01:00", NOON),
    (b"Wed, 02 Dec 2026 13:49:55 -0000", NOON),
])
def test_date_forms(value: str | bytes, expected: datetime) -> None:
    found = parse_header_date(value)
    assert found == expected and found is not None and found.tzinfo is UTC


@pytest.mark.parametrize("value", [
    None, "", "   ", "yesterday at noon", "31 Feb 2026 10:00 +0000",
    "Thu, 31 Feb 99999 25:61:61 +9999", "Mon, 1 Jan 0001 00:00:00 +0100",
    "Fri, 31 Dec 9999 23:59:59 -0100", "02 Dec 2026 25:00 +0000", "x" * 10_000,
    "mercredi 2 d\xe9cembre 2026 13:49".encode("latin-1"),
])
def test_unusable_dates_give_none(value: str | bytes | None) -> None:
    assert parse_header_date(value) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.from_regex(
    r"\A(\w{3}, )?\d{1,2} \w{3,9} \d{1,5} \d{1,2}:\d{1,2}(:\d{1,2})? ?[-+A-Za-z0-9]{0,6}\Z")))
def test_any_text_gives_an_aware_utc_date_or_none(value: str | bytes) -> None:
    found = parse_header_date(value)
    assert found is None or found.tzinfo is UTC
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    summary = summarise_headers(b"Date: " + raw.replace(b"\n", b" ") + b"\r\n\r\nx")
    assert summary.date is None or summary.date.tzinfo is UTC


async def test_an_unreadable_date_stores_the_arrival_time_as_sent_date(store: Store) -> None:
    world = await seed_world(store)
    async with store.reading() as session:
        mailbox = await find_mailbox(session, world.alice)
        assert mailbox is not None
    arrival = store.clock.now()
    raws = [b"Date: yesterday\r\nSubject: a\r\n\r\nx\r\n",
            b"Date: Wed, 02 Dec 2026 13:49:55 -0000\r\nSubject: b\r\n\r\nx\r\n"]

    for raw in raws:
        blob = await store.mail.contents.prepare_blob(mailbox.id, raw)

        async def job(uow: UnitOfWork, blob: PreparedBlob = blob, raw: bytes = raw) -> None:
            await store.mail.delivery.deliver_to_folder(uow, "INBOX", blob,
                                                        raw.split(b"\r\n\r\n")[0])

        await store.write(job)
    async with store.reading() as session:
        rows = (await session.execute(select(StoredMessage.subject, StoredMessage.sent_date)
                                      .where(StoredMessage.mailbox_id == mailbox.id))).all()
    assert sorted(rows) == [("a", arrival), ("b", NOON)]
