"""MAIL FROM / RCPT TO paths: the fast reading of `<local@domain>` agrees with aiosmtpd's.

MssSMTP reads plain paths with a regular expression (issue #5: the stdlib address
parser cost more than the rest of the command); whatever it reads must be what aiosmtpd
(the stdlib parser) gives: same address, same parameters, same refusals.
"""

from __future__ import annotations

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from mss.smtp.protocol import MssSMTP


def _parsers(limit: int = 0) -> tuple[MssSMTP, SMTP]:
    ours = MssSMTP.__new__(MssSMTP)
    theirs = SMTP.__new__(SMTP)
    ours.local_part_limit = theirs.local_part_limit = limit
    return ours, theirs


def _theirs(parser: SMTP, arg: str) -> tuple[str | None, str | None]:
    try:
        return parser._getaddr(arg)  # type: ignore[no-any-return]
    except Exception:  # the stdlib's own bugs, answered 553 by MssSMTP
        return None, None


@pytest.mark.parametrize("arg", [
    "<a@b.fr>", " <a@b.fr>", "<a@b.fr> SIZE=100", "<a@b.fr>  SIZE=100 BODY=8BITMIME",
    "<a@b.fr>\tSIZE=1", "<a@b.fr>   ", "<a@b.fr>(comment) SIZE=1", "<a@b.fr> (c) SIZE=1",
    "<first.last+tag@sub-domain.example.fr>", "<a..b@c.fr>", "<.a@c.fr>", "<a.@c.fr>",
    "<a@[127.0.0.1]>", "<\"quoted local\"@b.fr>", "<a@b.fr>x", "<a@-b.fr>", "<a@b-.fr>",
    "<a@b..fr>", "<a@b.fr.>", "<>", "<a>", "<@relay:a@b.fr>", "a@b.fr", "<a@b.fr",
    "<élise@b.fr>", "<o'brien@b.fr>", "<a{b}@c.fr> NOTIFY=NEVER", "<",
])
def test_plain_paths_are_read_as_aiosmtpd_reads_them(arg: str) -> None:
    ours, theirs = _parsers()
    assert ours._getaddr(arg) == _theirs(theirs, arg)


def test_local_part_limit_refuses_as_aiosmtpd_does() -> None:
    ours, theirs = _parsers(limit=64)
    for arg in (f"<{'x' * 64}@b.fr>", f"<{'x' * 65}@b.fr>"):
        assert ours._getaddr(arg) == _theirs(theirs, arg)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab.@<>- \t()\"[]!+=_1", max_size=24))
def test_any_short_path_is_read_as_aiosmtpd_reads_it(arg: str) -> None:
    ours, theirs = _parsers()
    assert ours._getaddr(arg) == _theirs(theirs, arg)
