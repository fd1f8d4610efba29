"""The JSON boundary: every JSON request body is parsed strictly before any route sees it.

- nesting deeper than :data:`chainmatch.jsonsafe.MAX_DEPTH`, the literals ``NaN`` / ``Infinity``,
  numbers that overflow (``1e309``), integers beyond 64 bits and lone UTF-16 surrogates are a 422
  naming the field (``loc``), in the shape of FastAPI's own validation errors; nothing is written;
- validation errors (422) say what is wrong in Chinese first, and their body can always be
  serialised (a value that cannot be written as JSON is shown as its ``repr``);
- an ``OverflowError`` or ``RecursionError`` anywhere (a number too large for a conversion) is a
  422, never a 500.

Bodies sent as NDJSON (bulk imports) are read by :mod:`chainmatch.ingest.readers`, which applies the
same rules per line and reports each bad record with its line and field.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainmatch.ingest.report import zh_message
from chainmatch.jsonsafe import MAX_DEPTH, JsonRejected, check, parse

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read a body of this content type as JSON (no content type: it does)."""
    if not content_type:
        return True
    main = content_type.split(";")[0].strip().lower()
    return main == "application/json" or (main.startswith("application/") and main.endswith("+json"))


_CHECKED = "checked_json_body"  # request state: the body JsonGuard parsed and checked


def checked_body(request: Request) -> tuple[Any] | None:
    """``(value,)``: the JSON body as :class:`JsonGuard` parsed and checked it; None when it did
    not (no JSON body, or one it could not parse: the route's own reading then says why)."""
    state = request.scope.get("state") or {}
    return (state[_CHECKED],) if _CHECKED in state else None


def rejection_body(exc: JsonRejected) -> dict[str, Any]:
    return {
        "detail": [
            {
                "type": exc.kind,
                "loc": ["body", *exc.loc],
                "msg": exc.message,
                "input": None,
            }
        ]
    }


class JsonGuard:
    """ASGI middleware: buffers a JSON body, checks it (:func:`chainmatch.jsonsafe.check`), answers
    422 itself when it is refused, and otherwise hands the same bytes on. Sits inside
    :class:`api.limits.BodySizeLimit`, so it never buffers more than the size cap."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1") or None
        if not is_json(content_type):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        rejected, value = self._check(body)
        if rejected is not None:
            await self._reject(send, rejected)
            return
        if value is not None:  # a route reading the body as records need not parse it again
            scope.setdefault("state", {})[_CHECKED] = value[0]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _check(self, body: bytes) -> tuple[JsonRejected | None, tuple[Any] | None]:
        """(why the body is refused, or None; the parsed and checked body, or None)."""
        if not body.strip():
            return None, None
        try:
            value = parse(body)
            check(value, max_depth=self.max_depth)
        except JsonRejected as exc:
            return exc, None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, None  # not JSON at all: the route's own parsing says so (FastAPI: 422)
        return None, (value,)

    @staticmethod
    async def _reject(send: Send, exc: JsonRejected) -> None:
        payload = json.dumps(rejection_body(exc), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status.HTTP_422_UNPROCESSABLE_CONTENT,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


# ------------------------------------------------------------------------------- 422 bodies
def json_safe(value: Any) -> Any:
    """``value`` as something ``json.dumps(allow_nan=False)`` writes: non-finite numbers, lone
    surrogates and unknown objects become their ``repr``."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8") if not value.isascii() else value
    if isinstance(value, dict):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return json_safe(str(value))


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        item = {k: v for k, v in dict(err).items() if k in ("type", "loc", "msg", "input", "ctx")}
        item["msg"] = zh_message(str(item.get("type", "")), str(item.get("msg", "")))
        out.append(json_safe(item))
    return out


def install_json_boundary(app: FastAPI) -> None:
    """422 for request validation (Chinese first, always serialisable), OverflowError and
    RecursionError; the :class:`JsonGuard` middleware is added in ``create_app``."""

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(
            {"detail": validation_details(exc.errors())}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )

    async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
        logger.info("out-of-range value on %s %s: %r", request.method, request.url.path, exc)
        return JSONResponse(
            {
                "detail": "数值超出范围或嵌套过深 (a number is out of range, or the input is nested too deeply)"
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(RecursionError, out_of_range)


__all__ = ["JsonGuard", "checked_body", "install_json_boundary", "is_json", "json_safe"]
