"""Liveness and readiness."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.deps import DbDep, IndexDep
from api.schemas import Health, Readiness

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(db: DbDep, index: IndexDep, response: Response) -> Readiness:
    """Ready when the database answers and the index is loaded and in step with it."""
    try:
        with Session(db) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = True
    except (SQLAlchemyError, OSError):
        logger.warning("database not reachable for the readiness check", exc_info=True)
        database = False
    info: dict[str, object] = {"loaded": False, "in_step": False}
    if database:
        try:
            index.refresh()  # catch up first: a probe also keeps an idle worker current
        except Exception:  # reported below as "not in step"
            logger.exception("index refresh failed during readiness check")
        info = index.status()
    ready = database and bool(info.get("loaded")) and bool(info.get("in_step"))
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status="ready" if ready else "not ready", database=database, index=info)
