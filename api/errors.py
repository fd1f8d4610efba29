"""Domain exceptions → HTTP, in one place. No traceback ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from chainmatch.errors import DOMAIN_ERRORS, http_headers, http_status

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]]


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every route, so the OpenAPI schema says what a client can really get back.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("body is not valid JSON / not decodable"),
    413: _doc("request body too large, or too many records in one call"),
    422: _doc("invalid input: which field and why"),
}
# Added to every route behind an API key.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc("missing, invalid or revoked API key"),
    403: _doc("the caller's role may not do this"),
    404: _doc("not found, or outside the caller's scope"),
    429: _doc("rate limit exceeded; see Retry-After"),
    503: _doc("the index is not available yet"),
}


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=http_status(exc), headers=http_headers(exc))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "服务器内部错误 (internal server error)"},
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    async def rejected_value(request: Request, exc: Exception) -> JSONResponse:
        # Values that pass validation but not the database's own rules (e.g. a NUL character in
        # a path parameter on PostgreSQL, a number beyond its column): the input's fault.
        logger.info("database rejected a value on %s %s: %s", request.method, request.url.path, exc.__cause__)
        return JSONResponse(
            {
                "detail": "输入值无效：含不允许的字符或超出范围 (a value has a forbidden character or is out of range)"
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    app.add_exception_handler(DataError, rejected_value)
    for kind in DOMAIN_ERRORS:
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(Exception, unexpected)
