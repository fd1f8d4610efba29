"""Headers of every file the API hands out (reports, exports): never cached, never sniffed, inert.

A report or export carries confidential content (leaders' declared weak links, candidate lists,
outreach history): ``Cache-Control: no-store`` keeps it out of shared and browser caches;
``nosniff`` stops a browser from reading a CSV or JSON file as HTML; the CSP lets an HTML report
show its inline styles and SVG pictures but run no script, load nothing and submit nothing — even
if a value ever escaped the template's escaping, it could do nothing.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

DOWNLOAD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'; sandbox"
)
DOWNLOAD_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": DOWNLOAD_CSP,
    "Referrer-Policy": "no-referrer",
}


def content_disposition(name: str) -> str:
    """``attachment`` named in UTF-8 (RFC 6266 ``filename*``), with an ASCII fallback."""
    ascii_name = "chainmatch_" + "".join(
        c for c in name if c.isascii() and (c.isalnum() or c in "._-")
    ).lstrip("_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def attachment(data: bytes | str, name: str, media_type: str) -> Response:
    """A file download with :data:`DOWNLOAD_HEADERS`."""
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(name), **DOWNLOAD_HEADERS},
    )
