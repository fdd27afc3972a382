"""Response rendering (RFC 3501 §7), checked by parsing it back with imapclient."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_response

from mss.imap.capabilities import BASE_CAPABILITIES, Capability
from mss.imap.responses import (
    ImapNo,
    ResponseCode,
    code_appenduid,
    code_capability,
    code_copyuid,
    code_highest_modseq,
    code_permanent_flags,
    code_uidnext,
    continuation,
    fetch_response,
    render_flags,
    render_internal_date,
    render_list,
    render_mailbox,
    render_nstring,
    render_string,
    tagged,
    untagged,
    untagged_status,
)


def parsed(value: bytes) -> object:
    """imapclient's view of one value (literals arrive as (header, data) pairs)."""
    if value.startswith(b"{"):
        header, _, data = value.partition(b"\r\n")
        return parse_response([(header, data)])[0]
    return parse_response([value])[0]


def test_short_ascii_is_quoted_with_escapes() -> None:
    rendered = render_string('say "hi" \\ bye')
    assert rendered == b'"say \\"hi\\" \\\\ bye"'
    assert parsed(rendered) == b'say "hi" \\ bye'


def test_eight_bit_and_line_breaks_and_long_text_become_literals() -> None:
    for value in ["Zoé".encode(), b"a\r\nb", b"x" * 5000]:
        rendered = render_string(value)
        assert rendered.startswith(b"{%d}\r\n" % len(value))
        assert parsed(rendered) == value


def test_nil_and_lists() -> None:
    assert render_nstring(None) == b"NIL"
    assert parse_response([render_list([b"NIL", render_string("a")])]) == ((None, b"a"),)


def test_mailbox_names_go_out_in_modified_utf7() -> None:
    assert render_mailbox("Envoyés") == b'"Envoy&AOk-s"'


def test_internal_date_has_rfc_3501_form_and_parses_back() -> None:
    moment = datetime(1996, 7, 7, 2, 44, 25, tzinfo=timezone(-timedelta(hours=7)))
    rendered = render_internal_date(moment)
    assert rendered == b'" 7-Jul-1996 02:44:25 -0700"'
    assert parse_to_datetime(rendered.strip(b'"'), normalise=False) == moment


def test_tagged_and_untagged_status_with_codes() -> None:
    assert tagged("a1", "OK", "done", ResponseCode.READ_WRITE) == b"a1 OK [READ-WRITE] done\r\n"
    assert untagged_status("OK", "next", code_uidnext(42)) == b"* OK [UIDNEXT 42] next\r\n"
    assert tagged("a2", "NO", "line\r\nbreak") == b"a2 NO line  break\r\n"


def test_uidplus_and_condstore_codes() -> None:
    assert code_appenduid(38505, [3955]) == "APPENDUID 38505 3955"
    assert code_copyuid(38505, [304, 319, 320], [3956, 3957, 3958]) == (
        "COPYUID 38505 304,319:320 3956:3958"
    )
    assert code_highest_modseq(715194045007) == "HIGHESTMODSEQ 715194045007"
    assert code_permanent_flags(["\\Seen", "\\*"]) == "PERMANENTFLAGS (\\Seen \\*)"


def test_capabilities_are_named_once() -> None:
    text = code_capability(BASE_CAPABILITIES)
    assert text.startswith("CAPABILITY IMAP4rev1 ")
    assert Capability.LITERAL_PLUS in text.split()


def test_fetch_response_parses_back() -> None:
    line = fetch_response(12, [(b"UID", b"4827"), (b"FLAGS", render_flags(["\\Seen", "$Label"]))])
    assert line == b"* 12 FETCH (UID 4827 FLAGS (\\Seen $Label))\r\n"
    assert parse_response([line[2:-2]]) == (
        12,
        b"FETCH",
        (b"UID", 4827, b"FLAGS", (b"\\Seen", b"$Label")),
    )


def test_untagged_and_continuation() -> None:
    assert untagged(b"3", b"EXISTS") == b"* 3 EXISTS\r\n"
    assert continuation("Ready") == b"+ Ready\r\n"


def test_imap_no_renders_its_own_reply() -> None:
    error = ImapNo(ResponseCode.TRYCREATE, "no such mailbox")
    assert error.render("a9") == b"a9 NO [TRYCREATE] no such mailbox\r\n"
