"""Bodies only the HTTP API speaks (health and readiness); shared types are in ``models.matching``."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: bool
    index: dict[str, object]
