"""What a real client library makes of our serialised values (imapclient's parser)."""

from __future__ import annotations

import re

from imapclient.response_parser import parse_response

_LITERAL = re.compile(rb"\{(\d+)\}\r\n")


def literal_chunks(data: bytes) -> list[bytes | tuple[bytes, bytes]]:
    """Server bytes split as imaplib hands them over: (line up to ``{n}``, literal)."""
    chunks: list[bytes | tuple[bytes, bytes]] = []
    pos = 0
    while (match := _LITERAL.search(data, pos)) is not None:
        size = int(match.group(1))
        chunks.append((data[pos : match.end() - 2], data[match.end() : match.end() + size]))
        pos = match.end() + size
    chunks.append(data[pos:])
    return chunks


def client_parse(data: bytes) -> tuple[object, ...]:
    """Parse server bytes as imapclient does."""
    return parse_response(literal_chunks(data))
