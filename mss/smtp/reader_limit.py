"""The one place that reads and sets an asyncio stream reader's line bound.

`asyncio.StreamReader` keeps its `limit` argument as the private `_limit` (what
`readline`/`readuntil` refuse beyond, with LimitOverrunError) and has no public way to
read or change it after creation; aiosmtpd creates the reader itself. MSS needs both:
the command line bound that lets AUTH lines reach 12288 octets (RFC 4954 §4), and the
DATA reader's block size. If a Python release renames it,
`tests/test_library_internals.py` fails, and so does every call here, loudly, instead of
silently reading with another bound.
"""

from __future__ import annotations

import asyncio

_ATTRIBUTE = "_limit"


def line_limit(reader: asyncio.StreamReader) -> int:
    """The reader's current line bound, in bytes."""
    try:
        return int(getattr(reader, _ATTRIBUTE))
    except AttributeError:
        raise RuntimeError("asyncio.StreamReader has no _limit: update "
                           "mss/smtp/reader_limit.py for this Python") from None


def set_line_limit(reader: asyncio.StreamReader, limit: int) -> None:
    """Make `reader` accept lines up to `limit` bytes, and refuse longer ones."""
    line_limit(reader)  # the attribute is still there
    setattr(reader, _ATTRIBUTE, limit)
