"""SEARCH matching over the corpus (RFC 3501 §6.4.4, RFC 7162 MODSEQ)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mss.imap.commands import SearchCommand
from mss.imap.parser import parse_command
from mss.imap.search_keys import SearchKey
from mss.imap.search_match import MessageView, SearchScope, search_matches

from .corpus import FORWARDED, MALFORMED, NESTED, NON_ASCII, SIMPLE, XDM

PARIS = timezone(timedelta(hours=2))
SCOPE = SearchScope(message_count=10, highest_uid=500)


def utf8(text: str) -> bytes:
    """A non-synchronising literal holding `text` in UTF-8 (RFC 7888)."""
    data = text.encode()
    return b"{%d+}\r\n" % len(data) + data


def view(
    raw: bytes = SIMPLE,
    *,
    seq: int = 3,
    uid: int = 300,
    flags: tuple[str, ...] = (),
    internal_date: datetime = datetime(2024, 5, 14, 23, 30, tzinfo=PARIS),
    modseq: int = 50,
) -> MessageView:
    return MessageView(seq, uid, frozenset(flags), internal_date, len(raw), modseq, raw)


def key(criteria: bytes) -> SearchKey:
    command, _ = parse_command(b"t SEARCH " + criteria + b"\r\n")
    assert isinstance(command, SearchCommand)
    return command.key


def matches(criteria: bytes, message: MessageView | None = None) -> bool:
    return search_matches(key(criteria), message or view(), SCOPE)


FLAG_CASES = [
    (b"ALL", (), True),
    (b"SEEN", ("\\Seen",), True),
    (b"SEEN", (), False),
    (b"UNSEEN", (), True),
    (b"ANSWERED", ("\\Answered",), True),
    (b"UNANSWERED", ("\\Answered",), False),
    (b"DELETED", ("\\Deleted",), True),
    (b"UNDELETED", (), True),
    (b"DRAFT", ("\\Draft",), True),
    (b"UNDRAFT", ("\\Draft",), False),
    (b"FLAGGED", ("\\flagged",), True),  # flags compare without case
    (b"UNFLAGGED", (), True),
    (b"KEYWORD $Urgent", ("$Urgent",), True),
    (b"KEYWORD $Urgent", (), False),
    (b"UNKEYWORD $Urgent", (), True),
    (b"RECENT", ("\\Recent",), True),
    (b"NEW", ("\\Recent",), True),
    (b"NEW", ("\\Recent", "\\Seen"), False),
    (b"OLD", ("\\Recent",), False),
    (b"OLD", (), True),
]


@pytest.mark.parametrize(("criteria", "flags", "expected"), FLAG_CASES)
def test_flag_keys(criteria: bytes, flags: tuple[str, ...], expected: bool) -> None:
    assert matches(criteria, view(flags=flags)) is expected


HEADER_CASES = [
    (b"FROM house", SIMPLE, True),
    (b"FROM HOUSE@HOPITAL", SIMPLE, True),
    (b"FROM dupont", SIMPLE, False),
    (b"TO secretariat", SIMPLE, True),
    (b'CC "Martin, Paul"', SIMPLE, True),
    (b"BCC anyone", SIMPLE, False),
    (b"SUBJECT rendu", SIMPLE, True),
    (b'HEADER Message-ID "cr-1@"', SIMPLE, True),
    (b'HEADER X-Absent ""', SIMPLE, False),
    (b'HEADER Subject ""', SIMPLE, True),
    (b"CHARSET UTF-8 FROM " + utf8("françoise"), NON_ASCII, True),  # RFC 2047 Q
    (b"CHARSET UTF-8 SUBJECT " + utf8("à vérifier"), NON_ASCII, True),  # RFC 2047 B
    (b"CHARSET UTF-8 TO " + utf8("zoé"), NON_ASCII, True),  # raw UTF-8 header
]


@pytest.mark.parametrize(("criteria", "raw", "expected"), HEADER_CASES)
def test_header_keys_match_decoded_substrings(criteria: bytes, raw: bytes, expected: bool) -> None:
    assert matches(criteria, view(raw)) is expected


TEXT_CASES = [
    (b"BODY dr", SIMPLE, True),
    (b"BODY rendu", SIMPLE, True),
    (b"BODY consultation", SIMPLE, False),  # only in the Subject
    (b"TEXT consultation", SIMPLE, True),
    (b"CHARSET UTF-8 BODY " + utf8("résultats"), NESTED, True),  # quoted-printable part
    (b"BODY normaux", NESTED, True),
    (b"BODY PDF-1.4", NESTED, False),  # base64 attachment is not text
    (b"CHARSET UTF-8 BODY " + utf8("MÉDECIN"), NON_ASCII, True),  # latin-1 body
    (b"BODY sorti", FORWARDED, True),  # inside the forwarded message
    (b"CHARSET UTF-8 BODY " + utf8("céline"), FORWARDED, True),  # its decoded header
    (b"BODY xdm", XDM, True),
    (b"BODY really", MALFORMED, True),
]


@pytest.mark.parametrize(("criteria", "raw", "expected"), TEXT_CASES)
def test_body_and_text_keys_match_decoded_bodies(
    criteria: bytes, raw: bytes, expected: bool
) -> None:
    assert matches(criteria, view(raw)) is expected


DATE_CASES = [
    # internal date is 14 May 2024 23:30 +0200: its own day counts, not UTC's
    (b"ON 14-May-2024", True),
    (b"BEFORE 14-May-2024", False),
    (b"BEFORE 15-May-2024", True),
    (b"SINCE 14-May-2024", True),
    (b"SINCE 15-May-2024", False),
    # Date header: Tue, 14 May 2024 09:30:00 +0200
    (b"SENTON 14-May-2024", True),
    (b"SENTBEFORE 14-May-2024", False),
    (b"SENTSINCE 13-May-2024", True),
    (b"SENTSINCE 15-May-2024", False),
]


@pytest.mark.parametrize(("criteria", "expected"), DATE_CASES)
def test_date_keys_disregard_time_and_timezone(criteria: bytes, expected: bool) -> None:
    assert matches(criteria) is expected


def test_sent_dates_fall_back_to_internal_date_without_date_header() -> None:
    message = view(MALFORMED, internal_date=datetime(2023, 1, 2, 8, 0, tzinfo=PARIS))
    assert matches(b"SENTON 2-Jan-2023", message)


def test_size_keys() -> None:
    message = view()
    assert matches(b"LARGER %d" % (message.size - 1), message)
    assert not matches(b"LARGER %d" % message.size, message)
    assert matches(b"SMALLER %d" % (message.size + 1), message)
    assert not matches(b"SMALLER %d" % message.size, message)


def test_sequence_uid_and_modseq_keys() -> None:
    assert matches(b"3")
    assert matches(b"1:2,3")
    assert not matches(b"4:*")
    assert matches(b"10:*", view(seq=10))
    assert matches(b"UID 300")
    assert matches(b"UID 250:*", view(uid=500))
    assert not matches(b"UID 301:*")
    assert matches(b"MODSEQ 50")
    assert not matches(b"MODSEQ 51")


def test_or_not_and_groups() -> None:
    assert matches(b"OR FROM nobody SUBJECT rendu")
    assert not matches(b"OR FROM nobody SUBJECT nothing")
    assert matches(b"NOT FROM nobody")
    assert not matches(b"(FROM house SUBJECT nothing)")
    assert matches(b"(FROM house SUBJECT rendu) NOT DELETED")
