"""The command parser: every command family, literals, limits and BAD input (RFC 3501 §9)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from mss.imap.commands import (
    AclCommand,
    AppendCommand,
    AuthenticateCommand,
    Command,
    CopyCommand,
    EnableCommand,
    FetchCommand,
    IdCommand,
    ListCommand,
    LoginCommand,
    MailboxCommand,
    QresyncParameters,
    QuotaRootCommand,
    RenameCommand,
    SearchCommand,
    SelectCommand,
    SetQuotaCommand,
    StatusCommand,
    StoreCommand,
    UidExpungeCommand,
)
from mss.imap.errors import (
    BadCharset,
    ImapParseError,
    IncompleteCommand,
    LineTooLong,
    LiteralTooLarge,
)
from mss.imap.fetch_attributes import FetchAttribute, Section
from mss.imap.parser import parse_command
from mss.imap.search_keys import (
    AllKey,
    AndKey,
    DateKey,
    FlagKey,
    HeaderKey,
    ModSeqKey,
    NotKey,
    OrKey,
    RecencyKey,
    SequenceKey,
    SizeKey,
    TextKey,
)
from mss.imap.sequence_set import SequenceSet

STAR = None


def parse(line: bytes) -> Command:
    command, rest = parse_command(line)
    assert rest == b""
    return command


# -- table of well-formed commands -----------------------------------------------------

CASES: list[tuple[bytes, Command]] = [
    (b"a1 CAPABILITY\r\n", Command("a1", "CAPABILITY")),
    (b"a2 noop\r\n", Command("a2", "NOOP")),
    (b"a3 LOGOUT\r\n", Command("a3", "LOGOUT")),
    (b"a4 STARTTLS\r\n", Command("a4", "STARTTLS")),
    (b"a5 IDLE\r\n", Command("a5", "IDLE")),
    (b"a6 UNSELECT\r\n", Command("a6", "UNSELECT")),
    (b"a7 NAMESPACE\r\n", Command("a7", "NAMESPACE")),
    (b"a8 EXPUNGE\r\n", Command("a8", "EXPUNGE")),
    (b"a9 CHECK\r\n", Command("a9", "CHECK")),
    (b"b1 CLOSE\r\n", Command("b1", "CLOSE")),
    (b'b2 LOGIN joe "p\\"a\\\\ss"\r\n', LoginCommand("b2", "LOGIN", "joe", 'p"a\\ss')),
    (
        b"b3 AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n",
        AuthenticateCommand("b3", "AUTHENTICATE", "PLAIN", "AGpvZQBzZWNyZXQ="),
    ),
    (b"b4 AUTHENTICATE xoauth2\r\n", AuthenticateCommand("b4", "AUTHENTICATE", "XOAUTH2")),
    (b"b5 SELECT inbox\r\n", SelectCommand("b5", "SELECT", "INBOX")),
    (
        b"b6 EXAMINE Envoy&AOk-s (CONDSTORE)\r\n",
        SelectCommand("b6", "EXAMINE", "Envoyés", condstore=True),
    ),
    (
        b"b6q SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        SelectCommand("b6q", "SELECT", "INBOX", qresync=QresyncParameters(
            67890007, 20050715194045000,
            SequenceSet(((41, 41), (43, 211), (214, 541))))),
    ),
    (
        b"b6r SELECT INBOX (CONDSTORE QRESYNC (1 0 (1:3 4:6)))\r\n",
        SelectCommand("b6r", "SELECT", "INBOX", condstore=True,
                      qresync=QresyncParameters(1, 0)),
    ),
    (b'b7 CREATE "Dossiers/Patients"\r\n', MailboxCommand("b7", "CREATE", "Dossiers/Patients")),
    (b"b8 DELETE old\r\n", MailboxCommand("b8", "DELETE", "old")),
    (b"b9 SUBSCRIBE news\r\n", MailboxCommand("b9", "SUBSCRIBE", "news")),
    (b"c1 UNSUBSCRIBE news\r\n", MailboxCommand("c1", "UNSUBSCRIBE", "news")),
    (b"c2 RENAME a &AOk-t&AOk-\r\n", RenameCommand("c2", "RENAME", "a", "été")),
    (b'c3 LIST "" *\r\n', ListCommand("c3", "LIST", "", ("*",))),
    (b"c4 LSUB Archives %\r\n", ListCommand("c4", "LSUB", "Archives", ("%",))),
    (
        b'c5 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" Envoy&AOk-s%) '
        b"RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
        ListCommand(
            "c5",
            "LIST",
            "",
            ("INBOX", "Envoyés%"),
            ("SUBSCRIBED", "RECURSIVEMATCH"),
            ("CHILDREN", "SPECIAL-USE", "STATUS"),
            ("MESSAGES", "UNSEEN"),
        ),
    ),
    (
        b"c6 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)\r\n",
        StatusCommand(
            "c6",
            "STATUS",
            "INBOX",
            ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"),
        ),
    ),
    (
        b'c7 APPEND Outbox (\\Seen $Forwarded) " 7-Feb-2024 10:11:12 -0130" {5}\r\nhello\r\n',
        AppendCommand(
            "c7",
            "APPEND",
            "Outbox",
            b"hello",
            ("\\Seen", "$Forwarded"),
            datetime(2024, 2, 7, 10, 11, 12, tzinfo=timezone(-timedelta(hours=1, minutes=30))),
        ),
    ),
    (
        b"c8 APPEND Drafts ~{3+}\r\na\x00b\r\n",
        AppendCommand("c8", "APPEND", "Drafts", b"a\x00b", binary=True),
    ),
    (b"c9 ID NIL\r\n", IdCommand("c9", "ID", None)),
    (
        b'd1 ID ("name" "Thunderbird" "version" NIL)\r\n',
        IdCommand("d1", "ID", (("name", "Thunderbird"), ("version", None))),
    ),
    (
        b"d2 ENABLE CONDSTORE utf8=accept\r\n",
        EnableCommand("d2", "ENABLE", ("CONDSTORE", "UTF8=ACCEPT")),
    ),
    (b'd3 GETQUOTA ""\r\n', QuotaRootCommand("d3", "GETQUOTA", "")),
    (b"d4 GETQUOTAROOT INBOX\r\n", MailboxCommand("d4", "GETQUOTAROOT", "INBOX")),
    (
        b'd5 SETQUOTA "" (STORAGE 512)\r\n',
        SetQuotaCommand("d5", "SETQUOTA", "", (("STORAGE", 512),)),
    ),
    (b"d6 GETACL INBOX\r\n", MailboxCommand("d6", "GETACL", "INBOX")),
    (b"d7 MYRIGHTS INBOX\r\n", MailboxCommand("d7", "MYRIGHTS", "INBOX")),
    (b"d8 LISTRIGHTS INBOX fred\r\n", AclCommand("d8", "LISTRIGHTS", "INBOX", "fred")),
    (b"d9 SETACL INBOX fred +lrs\r\n", AclCommand("d9", "SETACL", "INBOX", "fred", "+lrs")),
    (b"e1 DELETEACL INBOX fred\r\n", AclCommand("e1", "DELETEACL", "INBOX", "fred")),
    (
        b"e2 COPY 1:3,7 Archives\r\n",
        CopyCommand("e2", "COPY", SequenceSet(((1, 3), (7, 7))), "Archives"),
    ),
    (
        b"e3 UID MOVE 4:* Trash\r\n",
        CopyCommand("e3", "MOVE", SequenceSet(((4, STAR),)), "Trash", uid=True),
    ),
    (
        b"e4 UID EXPUNGE 3000:3002\r\n",
        UidExpungeCommand("e4", "EXPUNGE", SequenceSet(((3000, 3002),))),
    ),
    (
        b"e5 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n",
        StoreCommand("e5", "STORE", SequenceSet(((2, 4),)), "add", ("\\Deleted",), silent=True),
    ),
    (
        b"e6 UID STORE 1 (UNCHANGEDSINCE 12345) -FLAGS \\Seen $Label1\r\n",
        StoreCommand(
            "e6",
            "STORE",
            SequenceSet(((1, 1),)),
            "remove",
            ("\\Seen", "$Label1"),
            uid=True,
            unchanged_since=12345,
        ),
    ),
    (
        b"e7 STORE * FLAGS ()\r\n",
        StoreCommand("e7", "STORE", SequenceSet(((STAR, STAR),)), "replace", ()),
    ),
]


@pytest.mark.parametrize(
    ("line", "expected"), CASES, ids=[case[0][:30].decode("latin-1") for case in CASES]
)
def test_well_formed_commands_parse_to_typed_values(line: bytes, expected: Command) -> None:
    assert parse(line) == expected


# -- FETCH ------------------------------------------------------------------------------


def test_fetch_macros_expand_as_rfc_3501_says() -> None:
    command = parse(b"f1 FETCH 1:* FULL\r\n")
    assert isinstance(command, FetchCommand)
    assert [item.name for item in command.attributes] == [
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
        "ENVELOPE",
        "BODY",
    ]
    fast = parse(b"f2 FETCH 1 fast\r\n")
    assert isinstance(fast, FetchCommand)
    assert [item.name for item in fast.attributes] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]


def test_fetch_sections_partials_and_peek() -> None:
    command = parse(
        b"f3 FETCH 2 (BODY[] BODY.PEEK[1.2.MIME] BODY[HEADER.FIELDS (From Subject)]<0.512> "
        b"BODY[2.HEADER.FIELDS.NOT (Received)] BODY[TEXT] BODY[3] RFC822.HEADER MODSEQ)\r\n"
    )
    assert isinstance(command, FetchCommand)
    assert command.attributes == (
        FetchAttribute("BODY", Section()),
        FetchAttribute("BODY", Section((1, 2), "MIME"), peek=True),
        FetchAttribute("BODY", Section((), "HEADER.FIELDS", ("From", "Subject")), (0, 512)),
        FetchAttribute("BODY", Section((2,), "HEADER.FIELDS.NOT", ("Received",))),
        FetchAttribute("BODY", Section((), "TEXT")),
        FetchAttribute("BODY", Section((3,))),
        FetchAttribute("RFC822.HEADER"),
        FetchAttribute("MODSEQ"),
    )
    assert command.attributes[2].response_name() == "BODY[HEADER.FIELDS (From Subject)]<0>"
    assert command.attributes[1].response_name() == "BODY[1.2.MIME]"
    assert not command.attributes[1].sets_seen
    assert command.attributes[0].sets_seen


def test_fetch_binary_items_rfc_3516() -> None:
    command = parse(b"f4 FETCH 1 (BINARY.PEEK[1]<0.100> BINARY.SIZE[2])\r\n")
    assert isinstance(command, FetchCommand)
    assert command.attributes == (
        FetchAttribute("BINARY", Section((1,)), (0, 100), peek=True),
        FetchAttribute("BINARY.SIZE", Section((2,))),
    )


def test_uid_fetch_adds_uid_and_takes_condstore_modifiers() -> None:
    command = parse(b"f5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n")
    assert isinstance(command, FetchCommand)
    assert command.uid
    assert command.changed_since == 12345
    assert command.vanished
    assert [item.name for item in command.attributes] == ["FLAGS", "UID"]


@pytest.mark.parametrize(
    "line",
    [
        b"f6 FETCH 1 BODY[1.]\r\n",
        b"f6 FETCH 1 BODY[MIME]\r\n",
        b"f6 FETCH 1 BODY[1HEADER]\r\n",
        b"f6 FETCH 1 BODY[HEADER.FIELDS]\r\n",
        b"f6 FETCH 1 BINARY[HEADER]\r\n",
        b"f6 FETCH 1 (FLAGS\r\n",
        b"f6 FETCH 1 UNKNOWN\r\n",
        b"f6 FETCH 0 FLAGS\r\n",
        b"f6 FETCH 1 BODY[]<5>\r\n",
        b"f6 FETCH 1 FLAGS (VANISHED)\r\n",
    ],
)
def test_bad_fetch_items_are_bad_with_the_tag(line: bytes) -> None:
    with pytest.raises(ImapParseError) as caught:
        parse_command(line)
    assert caught.value.tag == "f6"


# -- SEARCH -----------------------------------------------------------------------------


def search_key(line: bytes):  # type: ignore[no-untyped-def]
    command = parse(line)
    assert isinstance(command, SearchCommand)
    return command.key


def test_search_keys_cover_rfc_3501() -> None:
    key = search_key(
        b"s1 SEARCH ALL ANSWERED BCC b CC c DELETED DRAFT FLAGGED FROM f HEADER X-Mss-Mes FIN "
        b"KEYWORD $Urgent LARGER 10 NEW OLD RECENT SEEN SMALLER 99 SUBJECT s TEXT t TO z "
        b"UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $Urgent UNSEEN BODY corps "
        b'BEFORE 1-Feb-2024 ON "15-Mar-2024" SINCE 01-Jan-2023 SENTBEFORE 2-Feb-2024 '
        b"SENTON 3-Feb-2024 SENTSINCE 4-Feb-2024 UID 1:5 2,4:* MODSEQ 720\r\n"
    )
    assert key == AndKey(
        (
            AllKey(),
            FlagKey("\\Answered", True),
            HeaderKey("Bcc", "b"),
            HeaderKey("Cc", "c"),
            FlagKey("\\Deleted", True),
            FlagKey("\\Draft", True),
            FlagKey("\\Flagged", True),
            HeaderKey("From", "f"),
            HeaderKey("X-Mss-Mes", "FIN"),
            FlagKey("$Urgent", True),
            SizeKey(True, 10),
            RecencyKey("NEW"),
            RecencyKey("OLD"),
            RecencyKey("RECENT"),
            FlagKey("\\Seen", True),
            SizeKey(False, 99),
            HeaderKey("Subject", "s"),
            TextKey("TEXT", "t"),
            HeaderKey("To", "z"),
            FlagKey("\\Answered", False),
            FlagKey("\\Deleted", False),
            FlagKey("\\Draft", False),
            FlagKey("\\Flagged", False),
            FlagKey("$Urgent", False),
            FlagKey("\\Seen", False),
            TextKey("BODY", "corps"),
            DateKey("BEFORE", date(2024, 2, 1)),
            DateKey("ON", date(2024, 3, 15)),
            DateKey("SINCE", date(2023, 1, 1)),
            DateKey("SENTBEFORE", date(2024, 2, 2)),
            DateKey("SENTON", date(2024, 2, 3)),
            DateKey("SENTSINCE", date(2024, 2, 4)),
            SequenceKey(SequenceSet(((1, 5),)), uid=True),
            SequenceKey(SequenceSet(((2, 2), (4, STAR))), uid=False),
            ModSeqKey(720),
        )
    )


def test_search_or_not_and_groups_nest() -> None:
    key = search_key(b"s2 SEARCH OR (FROM a SEEN) NOT (TO b) NOT DELETED\r\n")
    assert key == AndKey(
        (
            OrKey(
                AndKey((HeaderKey("From", "a"), FlagKey("\\Seen", True))),
                NotKey(HeaderKey("To", "b")),
            ),
            NotKey(FlagKey("\\Deleted", True)),
        )
    )


def test_search_charset_decodes_literals() -> None:
    command = parse(b"s3 UID SEARCH CHARSET UTF-8 SUBJECT {9+}\r\nr\xc3\xa9sultat\r\n")
    assert isinstance(command, SearchCommand)
    assert command.uid
    assert command.charset == "UTF-8"
    assert command.key == HeaderKey("Subject", "résultat")


def test_search_modseq_with_entry() -> None:
    key = search_key(b's4 SEARCH MODSEQ "/flags/\\\\draft" all 620162338\r\n')
    assert key == ModSeqKey(620162338, "/flags/\\draft", "ALL")


def test_search_return_options_rfc_4731() -> None:
    command = parse(b"s5 SEARCH RETURN (MIN COUNT) UNSEEN\r\n")
    assert isinstance(command, SearchCommand)
    assert command.return_options == ("MIN", "COUNT")


def test_search_unknown_charset_is_badcharset_no() -> None:
    with pytest.raises(BadCharset) as caught:
        parse_command(b"s6 SEARCH CHARSET KOI8-X TEXT a\r\n")
    assert caught.value.tag == "s6"
    assert caught.value.status == "NO"
    assert caught.value.code is not None and caught.value.code.startswith("BADCHARSET")


def test_search_nesting_is_bounded() -> None:
    with pytest.raises(ImapParseError):
        parse_command(b"s7 SEARCH " + b"NOT " * 500 + b"ALL\r\n")


# -- literals and framing -----------------------------------------------------------------


def test_synchronising_literal_asks_for_a_continuation() -> None:
    with pytest.raises(IncompleteCommand) as caught:
        parse_command(b"l1 LOGIN {3}\r\n")
    assert caught.value.literal_size == 3
    assert caught.value.needs_continuation


def test_non_synchronising_literal_needs_no_continuation() -> None:
    with pytest.raises(IncompleteCommand) as caught:
        parse_command(b"l2 LOGIN {3+}\r\njo")
    assert caught.value.literal_size == 3
    assert not caught.value.needs_continuation


def test_incomplete_line_is_incomplete_without_literal() -> None:
    with pytest.raises(IncompleteCommand) as caught:
        parse_command(b"l3 NOO")
    assert caught.value.literal_size is None


def test_several_literals_in_one_command_and_the_rest_is_returned() -> None:
    command, rest = parse_command(b"l4 LOGIN {3}\r\njoe {6+}\r\nsecret\r\nl5 NOOP\r\n")
    assert command == LoginCommand("l4", "LOGIN", "joe", "secret")
    assert rest == b"l5 NOOP\r\n"


def test_literal_may_hold_crlf_and_braces() -> None:
    command = parse(b"l6 LOGIN joe {7}\r\nA{1}\r\nB\r\n")
    assert command == LoginCommand("l6", "LOGIN", "joe", "A{1}\r\nB")


def test_literal_too_large_is_refused_with_tag() -> None:
    with pytest.raises(LiteralTooLarge) as caught:
        parse_command(b"l7 APPEND INBOX {1000}\r\n", max_literal=100)
    assert caught.value.tag == "l7"
    assert not caught.value.must_close  # the client waits for "+", so no bytes follow


def test_non_synchronising_literal_too_large_closes() -> None:
    with pytest.raises(LiteralTooLarge) as caught:
        parse_command(b"l8 APPEND INBOX {1000+}\r\n", max_literal=100)
    assert caught.value.must_close


def test_line_too_long_is_refused() -> None:
    with pytest.raises(LineTooLong) as caught:
        parse_command(b"l9 LOGIN " + b"a" * 200, max_line=100)
    assert caught.value.tag == "l9"
    assert caught.value.must_close


def test_complete_but_too_long_line_can_be_skipped() -> None:
    line = b"m1 LOGIN " + b"a" * 200 + b" b\r\n"
    with pytest.raises(LineTooLong) as caught:
        parse_command(line + b"m2 NOOP\r\n", max_line=100)
    assert caught.value.consumed == len(line)
    assert not caught.value.must_close


def test_nul_in_a_literal_is_bad_except_literal8() -> None:
    with pytest.raises(ImapParseError):
        parse_command(b"m3 APPEND INBOX {3}\r\na\x00b\r\n")


# -- BAD input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "tag"),
    [
        (b"\r\n", None),
        (b"* NOOP\r\n", None),
        (b"+tag NOOP\r\n", None),
        (b"x1\r\n", "x1"),
        (b"x1 FROB\r\n", "x1"),
        (b"x1 NOOP extra\r\n", "x1"),
        (b"x1 LOGIN joe\r\n", "x1"),
        (b'x1 LOGIN "joe pass\r\n', "x1"),
        (b'x1 LOGIN "a\\b" c\r\n', "x1"),
        (b"x1 SELECT Envoy\xc3\xa9s\r\n", "x1"),
        (b"x1 SELECT &AOk\r\n", "x1"),
        (b"x1 SELECT INBOX (QRESYNC)\r\n", "x1"),
        (b"x1 SELECT INBOX (QRESYNC (0 1))\r\n", "x1"),
        (b"x1 SELECT INBOX (QRESYNC (1 1 (1:2)))\r\n", "x1"),
        (b"x1 SELECT INBOX (CONDSTORE CONDSTORE)\r\n", "x1"),
        (b"x1 UID NOOP\r\n", "x1"),
        (b"x1 STATUS INBOX (BOGUS)\r\n", "x1"),
        (b"x1 STORE 1 FLAGS (\\Recent)\r\n", "x1"),
        (b"x1 STORE 1 XFLAGS (\\Seen)\r\n", "x1"),
        (b"x1 COPY 1:x INBOX\r\n", "x1"),
        (b"x1 SEARCH FROB\r\n", "x1"),
        (b"x1 SEARCH BEFORE 31-Feb-2024\r\n", "x1"),
        (b"x1 SEARCH ON 1-Foo-2024\r\n", "x1"),
        (b'x1 APPEND INBOX "32-Jan-2024 10:00:00 +0000" {1}\r\na\r\n', "x1"),
        (b"x1 ENABLE\r\n", "x1"),
        (b"x1 FETCH 99999999999999999999 FLAGS\r\n", "x1"),
    ],
)
def test_bad_syntax_raises_parse_error_with_tag_when_known(line: bytes, tag: str | None) -> None:
    with pytest.raises(ImapParseError) as caught:
        parse_command(line)
    assert caught.value.tag == tag
    assert caught.value.consumed == len(line)


def test_lf_only_line_endings_are_tolerated() -> None:
    assert parse(b"n1 NOOP\n") == Command("n1", "NOOP")
