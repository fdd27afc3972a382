"""File downloads: always as attachments with a neutral type for anything a browser
could run, so that a document never executes in the webmail's origin."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

INLINE_SAFE = frozenset({"application/pdf", "image/png", "image/jpeg", "text/plain"})


def file_response(data: bytes, filename: str, content_type: str, *, inline: bool = False,
                  frame_from_self: bool = False) -> Response:
    """The file with its original name: RFC 6266 §4.3 `filename` (an ASCII fallback) and
    `filename*` (RFC 8187, UTF-8). `frame_from_self` lets this origin's preview page
    frame it (CSP frame-ancestors 'self'). Every inline file keeps the CSP sandbox but
    a framed PDF: Chromium refuses to run its PDF viewer in a sandboxed document (it
    shows an error page), and the viewer already renders the PDF in its own extension
    origin, never in the webmail's; the exact type and nosniff keep anything else from
    being read as a page."""
    safe_type = content_type if content_type in INLINE_SAFE else "application/octet-stream"
    disposition = "inline" if inline and safe_type in INLINE_SAFE else "attachment"
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100]
    headers = {
        "content-disposition": f"{disposition}; filename=\"{ascii_name or 'fichier'}\"; "
                               f"filename*=UTF-8''{quote(filename[:200])}",
        "content-security-policy": (
            "default-src 'none'; frame-ancestors 'self'"
            if frame_from_self and safe_type == "application/pdf"
            else "default-src 'none'; sandbox"
            + ("; frame-ancestors 'self'" if frame_from_self else "")),
    }
    if frame_from_self:
        headers["x-frame-options"] = "SAMEORIGIN"
    return Response(data, media_type=safe_type, headers=headers)
