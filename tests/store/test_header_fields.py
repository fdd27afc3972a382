"""`plain_addresses`: only whole addr-specs of a field come out (RFC 5322 §3.4.1), quoted
again where they must be, so that a header MSS builds from them (an MDN's To) can be set;
the leftovers `getaddresses` returns from hostile fields stay out."""

from __future__ import annotations

import pytest

from mss.store.header_fields import plain_addresses


@pytest.mark.parametrize(("field", "expected"), [
    ("Dr A <a@b.fr>, c@d.fr", ["a@b.fr", "c@d.fr"]),
    ('x <"a b"@y.fr>', ['"a b"@y.fr']),
    ("<@relay.example,@other.example:a@b.fr>", ["a@b.fr"]),  # the route dropped
    ('"unterminated, dr.alice@x.fr;, =?utf-8?q?=Z: Dr <"quoted local"@x.fr>;', []),
    ('"unterminated, =?utf-8?q?=Z: Dr ; <dr.alice@x.fr>;', []),
    ("a@b@c", []),
    ("undisclosed-recipients:;", []),
    ("", []),
])
def test_only_whole_addr_specs_come_out(field: str, expected: list[str]) -> None:
    assert plain_addresses([field]) == expected
