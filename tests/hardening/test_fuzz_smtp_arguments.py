"""SMTP command arguments: ESMTP parameters and addresses on hostile input.

Invariants: the DSN parameter parsers (RFC 3461 §4) return or raise `SmtpReply` (a 501),
never anything else; xtext decoding inverts encoding; the MAIL/RCPT argument splitter
of `mss.smtp.protocol` never raises, whatever aiosmtpd's address parser makes of the
text. The same arguments over a real socket are in test_protocol_abuse.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mss.smtp.dsn_parameters import (
    parse_mail_dsn_parameters,
    parse_rcpt_dsn_parameters,
    xtext_decode,
    xtext_encode,
)
from mss.smtp.protocol import ConnectionCounter, MssSMTP, _split_arg
from mss.smtp.replies import SmtpReply

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["RET=", "ENVID=", "NOTIFY=", "ORCPT=", "SIZE=", "BODY=8BITMIME", "SMTPUTF8", "AUTH=",
         "FULL", "HDRS", "NEVER", "SUCCESS", "FAILURE", "DELAY", ",", "rfc822;", "utf-8;",
         "+2B", "+", "+ZZ", "+C3+A9", "=", ";", "<", ">", "@", " ", "\t", "\x00", "é",
         "\udcff", "a@b.fr", "<>", "FROM:", "TO:", "\"q p\"@x", "[1.2.3.4]", "99999999999"]
shaped = st.lists(st.sampled_from(WORDS), max_size=20).map("".join)
parameter_lists = st.lists(st.one_of(shaped, st.text(max_size=40)), max_size=6)


def _only_syntax_errors(parse, options: list[str]) -> None:  # type: ignore[no-untyped-def]
    try:
        parse(options)
    except SmtpReply as reply:
        assert reply.code == 501 and reply.enhanced == "5.5.4"


@FAST
@given(parameter_lists)
def test_mail_parameters(options: list[str]) -> None:
    _only_syntax_errors(parse_mail_dsn_parameters, options)


@FAST
@given(parameter_lists)
def test_rcpt_parameters(options: list[str]) -> None:
    _only_syntax_errors(parse_rcpt_dsn_parameters, options)


@FAST
@given(st.text(max_size=200))
def test_xtext_round_trip(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates cannot be sent on the wire at all
    assert xtext_decode(xtext_encode(text)) == text


@FAST
@given(st.one_of(shaped, st.text(max_size=80)))
def test_xtext_decode_only_syntax_errors(value: str) -> None:
    try:
        xtext_decode(value)
    except SmtpReply as reply:
        assert reply.code == 501


@pytest.fixture(scope="module")
def session() -> Iterator[MssSMTP]:
    """A protocol object as a listener makes one (no connection: the splitter is pure)."""
    loop = asyncio.new_event_loop()
    yield MssSMTP(object(), connections=ConnectionCounter(1), offer_dsn=True,
                  errors_per_session=20, loop=loop, enable_SMTPUTF8=True)
    loop.close()


@FAST
@given(st.sampled_from(["FROM:", "TO:"]), st.one_of(shaped, st.text(max_size=120)))
def test_split_arg_never_raises(session: MssSMTP, keyword: str, text: str) -> None:
    split = _split_arg(keyword + text, keyword, session)
    if split is not None:
        head, params = split
        assert head.startswith(keyword) and all(isinstance(p, str) for p in params)



@pytest.mark.parametrize("text", ["<", "<\"", " <("])
def test_addresses_the_stdlib_parser_chokes_on_are_malformed(session: MssSMTP,
                                                             text: str) -> None:
    """Found by the fuzzer: `MAIL FROM:<` raised IndexError inside aiosmtpd (a 451)."""
    assert session._getaddr(text) == (None, None)
    assert _split_arg("FROM:" + text, "FROM:", session) is None
