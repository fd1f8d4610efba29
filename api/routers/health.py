"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import DbDep, IndexDep
from api.schemas import Health, Readiness
from chainmatch.services.health import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(db: DbDep, index: IndexDep, response: Response) -> Readiness:
    """Ready when the database answers and the index is loaded and in step with it."""
    state = readiness(db, index)
    if not state.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(
        status="ready" if state.ready else "not ready", database=state.database, index=state.index
    )
