"""COMPRESS=DEFLATE (RFC 4978), sans-IO: raw deflate (RFC 1951) both ways.

The connection adapter passes every byte it writes through `compress` (one sync flush
per write, so a response is never held back) and every byte it reads through
`decompress`, which hands the output out in bounded pieces: a small compressed input
cannot make one huge buffer, and the command reader's own limits (line, literal) apply
to what comes out.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 256 * 1024


class Deflate:
    def __init__(self) -> None:
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._decompressor = zlib.decompressobj(-15)

    def compress(self, data: bytes) -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def decompress(self, data: bytes) -> Iterator[bytes]:
        """The plain bytes of `data`, in pieces of at most `PIECE` octets; a stream that
        is not deflate raises `zlib.error` (the adapter closes the connection)."""
        pending = data
        while pending:
            piece = self._decompressor.decompress(pending, PIECE)
            pending = self._decompressor.unconsumed_tail
            if piece:
                yield piece
