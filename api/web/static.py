"""The dashboard's own stylesheet and script (``api/static``): nothing is loaded from the network."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

router = APIRouter(include_in_schema=False)

STATIC = FsPath(__file__).resolve().parent.parent / "static"
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@router.get("/static/{name}")
def static_file(name: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]) -> Response:
    path = STATIC / name
    if name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return Response(
        path.read_bytes(),
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
