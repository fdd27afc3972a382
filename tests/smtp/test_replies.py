"""Reply constants and SmtpReply rendering (docs/architecture.md §8.3, §8.4; RFC 5321
§4.2.1; RFC 3463)."""

from __future__ import annotations

import pytest

from mss.smtp import replies
from mss.smtp.replies import SmtpReply

REPLY_CONSTANTS = {
    name: value
    for name, value in vars(replies).items()
    if name.isupper() and isinstance(value, str) and not name.startswith("_")
}


@pytest.mark.parametrize("name", sorted(REPLY_CONSTANTS))
def test_every_constant_parses_and_renders_back_to_itself(name: str) -> None:
    line = REPLY_CONSTANTS[name]
    values = {"queue_id": "4F2A1B"} if "{queue_id}" in line else {}
    reply = SmtpReply.parse(line, **values)
    assert reply.render() == line.format(**values)


@pytest.mark.parametrize("name", sorted(REPLY_CONSTANTS))
def test_enhanced_code_class_matches_reply_class(name: str) -> None:
    reply = SmtpReply.parse(REPLY_CONSTANTS[name], queue_id="Q")
    if reply.enhanced is not None:
        assert reply.enhanced[0] == str(reply.code)[0]


def test_named_replies_carry_the_codes_the_design_table_names() -> None:
    assert replies.SMTP_OK == "250 2.0.0 OK"
    assert replies.MUST_STARTTLS == "530 5.7.0 Must issue a STARTTLS command first"
    assert SmtpReply.parse(replies.AUTH_FAILED).enhanced == "5.7.8"
    assert SmtpReply.parse(replies.TOO_BIG).code == 552
    assert SmtpReply.parse(replies.TOO_BIG).enhanced == "5.3.4"
    assert SmtpReply.parse(replies.TEMP_FAIL).enhanced == "4.3.0"
    assert SmtpReply.parse(replies.DISK_FULL).enhanced == "4.3.1"


def test_multiline_reply_uses_dash_on_all_lines_but_the_last() -> None:
    reply = SmtpReply(550, "5.7.1", ["Envoi refusé.", "Sending refused."])
    assert reply.render() == "550-5.7.1 Envoi refusé.\r\n550 5.7.1 Sending refused."


def test_text_with_newlines_becomes_several_lines() -> None:
    reply = SmtpReply(250, None, "mx.example.fr\nPIPELINING\nDSN")
    assert reply.render() == "250-mx.example.fr\r\n250-PIPELINING\r\n250 DSN"


def test_reply_can_be_raised_and_caught_with_its_rendering() -> None:
    with pytest.raises(SmtpReply) as caught:
        raise SmtpReply.parse(replies.TOO_BIG)
    assert caught.value.is_permanent
    assert not caught.value.is_temporary
    assert str(caught.value) == replies.TOO_BIG


def test_temporary_reply_is_not_permanent() -> None:
    reply = SmtpReply.parse(replies.TEMP_FAIL)
    assert reply.is_temporary
    assert not reply.is_permanent


@pytest.mark.parametrize(
    ("code", "enhanced"),
    [(250, "5.0.0"), (550, "4.3.0"), (99, None), (650, None), (550, "5.0"), (550, "6.0.0")],
)
def test_inconsistent_codes_are_refused(code: int, enhanced: str | None) -> None:
    with pytest.raises(ValueError):
        SmtpReply(code, enhanced, "text")


def test_reply_text_cannot_inject_a_line() -> None:
    with pytest.raises(ValueError):
        SmtpReply(250, "2.0.0", ["ok\r\n250 injected"])


def test_equal_replies_compare_equal() -> None:
    assert SmtpReply.parse(replies.TOO_BIG) == SmtpReply(552, "5.3.4", "Message too big for system")
