"""Readiness: the database answers, and the index is loaded and in step with it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from chainmatch.indexing import IndexService

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Readiness:
    database: bool
    index: dict[str, Any] = field(default_factory=lambda: {"loaded": False, "in_step": False})

    @property
    def ready(self) -> bool:
        return self.database and bool(self.index.get("loaded")) and bool(self.index.get("in_step"))


def readiness(db: Engine, index: IndexService) -> Readiness:
    """Whether this worker can answer. A probe also brings the index up to date, so an idle worker
    stays current. Asks no caller: probes carry no key."""
    try:
        with db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        logger.warning("database not reachable for the readiness check", exc_info=True)
        return Readiness(database=False)
    try:
        index.refresh()  # catch up first
    except Exception:  # reported as "not in step"
        logger.exception("index refresh failed during readiness check")
    return Readiness(database=True, index=index.status())
