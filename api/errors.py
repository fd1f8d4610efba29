"""Domain exceptions → HTTP, in one place. No traceback ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from chainmatch.chains.errors import (
    ChainError,
    ChainExists,
    ChainNotFound,
    OutreachConflict,
    OutreachError,
    OutreachNotFound,
    RegionForbidden,
)
from chainmatch.chains.jobs import JobNotFound
from chainmatch.ingest.readers import UnreadableInput
from chainmatch.offers import OfferError, OfferForbidden, OfferNotFound
from chainmatch.requirements import RequirementError
from recommender.errors import IndexCorrupt, IndexNotFound, InvalidQuery, RecommenderError, RegionRequired

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

# Domain exception → status, first match wins (subclasses before their bases). The message of
# a domain exception is written for the user (Chinese first) and is sent as it is.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (InvalidQuery, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (RegionRequired, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (UnreadableInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (IndexNotFound, status.HTTP_503_SERVICE_UNAVAILABLE),
    (IndexCorrupt, status.HTTP_503_SERVICE_UNAVAILABLE),
    (ChainNotFound, status.HTTP_404_NOT_FOUND),
    (OutreachNotFound, status.HTTP_404_NOT_FOUND),
    (JobNotFound, status.HTTP_404_NOT_FOUND),
    (ChainExists, status.HTTP_409_CONFLICT),
    (OutreachConflict, status.HTTP_409_CONFLICT),
    (RegionForbidden, status.HTTP_403_FORBIDDEN),
    (OfferNotFound, status.HTTP_404_NOT_FOUND),
    (OfferForbidden, status.HTTP_403_FORBIDDEN),
    (OfferError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (RequirementError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (ChainError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (OutreachError, status.HTTP_422_UNPROCESSABLE_CONTENT),
)
DOMAIN_ERRORS = (
    RecommenderError,
    UnreadableInput,
    ChainError,
    OutreachError,
    JobNotFound,
    OfferError,
    OfferForbidden,
    OfferNotFound,
    RequirementError,
)


def status_for(exc: Exception) -> int:
    """The HTTP status of a domain exception (400 for one not in the table)."""
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

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
