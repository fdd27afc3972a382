"""The pipeline's parse gives what the stdlib parser gives (issue #5 made it cheaper).

`parse_modern` parses a single-part message's header section alone and takes the rest
as the payload; `HeaderFactory` builds header classes once and keeps parsed headers.
Both must leave the message, and so every policy fact, exactly as
`BytesParser(policy=policy.default)` makes them.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mss.pipeline.message_facts import parse_message, parse_modern


def _shape(message: Message) -> object:
    payload = message.get_payload()
    inner = [_shape(part) for part in payload] if isinstance(payload, list) else payload
    return ([(name, str(value)) for name, value in message.items()],
            [type(defect).__name__ for defect in message.defects],
            message.preamble, message.epilogue, inner)


def _stdlib(raw: bytes) -> Message:
    return BytesParser(policy=default).parsebytes(raw)


MULTIPART = (
    b"From: a@b.fr\r\nSubject: =?utf-8?q?Compte_rendu_=C3=A9?=\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\n"
    b"Content-Type: text/plain\r\n\r\nbonjour\r\n--XX\r\nContent-Type: application/pdf; "
    b"name=cr.pdf\r\nContent-Disposition: attachment; filename=cr.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--XX--\r\nepilogue\r\n"
)


@pytest.mark.parametrize("raw", [
    b"From: a@b.fr\r\nSubject: x\r\n\r\nbody\r\nmore\r\n",
    b"Subject: x\r\n\r\n",
    b"Subject: x\r\n\r\n\r\n\r\nblank lines first\r\n",
    b"Subject: no empty line at all",
    b"Subject: folded\r\n  on two lines\r\nX-A: 1\r\n\r\nbody",
    b"Subject: x\r\nnot a header line\r\nX-B: 2\r\n\r\nbody\r\n",
    b"Subject: lf only\n\nbody\r\n\r\nlater",
    b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
    b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n",
    b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nAction: failed\r\n",
    b"Content-Type: Multipart/Alternative; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    b"Content-Type: text/plain; name*=utf-8''%C3%A9.txt\r\n\r\nx\r\n",
    b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
    b"filename=run.exe\r\n\r\nMZ\x90\x00\r\n",
    b"Content-Type: ;;;\r\nMessage-ID: <\r\n\r\nhostile\r\n",
    MULTIPART,
])
def test_the_message_is_the_stdlib_parsers(raw: bytes) -> None:
    _same_as_stdlib(raw)


def _same_as_stdlib(raw: bytes) -> None:
    try:
        expected = _shape(_stdlib(raw))
    except Exception as error:  # the stdlib's own failure: the same one
        with pytest.raises(type(error)):
            _shape(parse_modern(raw))
        return
    assert _shape(parse_modern(raw)) == expected


HEADER = st.sampled_from([
    b"Subject: hello", b"Subject: =?utf-8?b?w6k=?=", b"To: a@b.fr", b"Reply-To: <c@d.fr>",
    b"Content-Type: text/plain", b"Content-Type: multipart/mixed; boundary=q",
    b"Content-Type: message/rfc822", b"Content-Type: application/zip; name=a.zip",
    b"X-MSS-MES: FIN", b"Received: from x by y", b" folded", b"bogus line", b"",
])
BODY = st.sampled_from([b"text", b"\r\n", b"\n", b"--q", b"--q--", b"Subject: z", b"\xc3\xa9",
                        b" ", b"\r\n\r\n"])
ENDING = st.sampled_from([b"\r\n", b"\n"])


@settings(max_examples=400, deadline=None)
@given(st.lists(HEADER, max_size=8), ENDING, st.lists(BODY, max_size=12))
def test_any_message_is_the_stdlib_parsers(
    headers: list[bytes], ending: bytes, body: list[bytes]
) -> None:
    _same_as_stdlib(ending.join(headers) + ending + ending + b"".join(body))


def test_facts_of_a_message_with_an_attachment() -> None:
    facts = parse_message(MULTIPART)
    assert facts.subject == "Compte rendu é"
    assert [a.filename for a in facts.attachments] == ["cr.pdf"]
