"""File downloads: always as attachments with a neutral type for anything a browser
could run, so that a document never executes in the webmail's origin."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

INLINE_SAFE = frozenset({"application/pdf", "image/png", "image/jpeg", "text/plain"})


def file_response(data: bytes, filename: str, content_type: str, *, inline: bool = False
                  ) -> Response:
    safe_type = content_type if content_type in INLINE_SAFE else "application/octet-stream"
    disposition = "inline" if inline and safe_type in INLINE_SAFE else "attachment"
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100]
    headers = {
        "content-disposition": f"{disposition}; filename=\"{ascii_name or 'fichier'}\"; "
                               f"filename*=UTF-8''{quote(filename[:200])}",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    return Response(data, media_type=safe_type, headers=headers)
