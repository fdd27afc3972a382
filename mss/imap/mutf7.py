"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3), strict in both directions.

Printable US-ASCII other than ``&`` stands for itself, ``&`` is ``&-``, every other run
of characters is UTF-16BE in base64 with ``,`` for ``/``, no padding, between ``&``
and ``-``.
"""

from __future__ import annotations

import base64
import binascii
import re

_BASE64_RUN = re.compile(rb"[A-Za-z0-9+,]*")


class InvalidModifiedUtf7(ValueError):
    """Bytes that a conforming client could not have produced (RFC 3501 §5.1.3)."""


def _is_direct(char: str) -> bool:
    return 0x20 <= ord(char) <= 0x7E


def encode_mailbox_name(name: str) -> bytes:
    """Encode a mailbox name for the wire (RFC 3501 §5.1.3)."""
    out = bytearray()
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be", "surrogatepass")
            encoded = base64.b64encode(utf16).rstrip(b"=").replace(b"/", b",")
            out.extend(b"&" + encoded + b"-")
            pending.clear()

    for char in name:
        if _is_direct(char):
            flush()
            out.extend(b"&-" if char == "&" else char.encode("ascii"))
        else:
            pending.append(char)
    flush()
    return bytes(out)


def decode_mailbox_name(data: bytes) -> str:
    """Decode a wire mailbox name; reject anything not in canonical modified UTF-7.

    Strict: 8-bit or control bytes, an unterminated shift, bad base64, non-zero
    padding bits, printable ASCII sent encoded, two adjacent shifted runs and unpaired
    surrogates are all refused (RFC 3501 §5.1.3).
    """
    out: list[str] = []
    i = 0
    previous_was_shifted_run = False
    while i < len(data):
        byte = data[i]
        if byte < 0x20 or byte > 0x7E:
            raise InvalidModifiedUtf7(f"byte 0x{byte:02x} not allowed in a mailbox name")
        if byte != 0x26:  # "&"
            out.append(chr(byte))
            i += 1
            previous_was_shifted_run = False
            continue
        run = _BASE64_RUN.match(data, i + 1)
        assert run is not None
        end = run.end()
        if end >= len(data) or data[end] != 0x2D:  # "-"
            raise InvalidModifiedUtf7("unterminated '&' shift")
        payload = run.group()
        i = end + 1
        if not payload:
            out.append("&")
            previous_was_shifted_run = False
            continue
        if previous_was_shifted_run:
            raise InvalidModifiedUtf7("two adjacent encoded runs")
        out.append(_decode_run(payload))
        previous_was_shifted_run = True
    return "".join(out)


def _decode_run(payload: bytes) -> str:
    if len(payload) % 4 == 1:
        raise InvalidModifiedUtf7("truncated base64 run")
    padded = payload.replace(b",", b"/") + b"=" * (-len(payload) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise InvalidModifiedUtf7("bad base64 run") from exc
    if base64.b64encode(raw).rstrip(b"=") != payload.replace(b",", b"/"):
        raise InvalidModifiedUtf7("non-zero padding bits")
    if len(raw) % 2:
        raise InvalidModifiedUtf7("odd number of UTF-16 bytes")
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise InvalidModifiedUtf7("unpaired UTF-16 surrogate") from exc
    if any(_is_direct(char) for char in text):
        raise InvalidModifiedUtf7("printable ASCII must not be encoded")
    return text
