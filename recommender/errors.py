"""Domain exceptions of the engine. Callers catch :class:`RecommenderError`."""

from __future__ import annotations


class RecommenderError(Exception):
    """Base class of every error the engine raises on purpose."""


class IndexNotFound(RecommenderError):
    """No saved index at the given directory."""


class IndexCorrupt(RecommenderError):
    """A saved index exists but cannot be read (missing file, bad manifest, size mismatch)."""


class RegionRequired(RecommenderError):
    """``recommend`` needs ``query.region`` to split targets from local suppliers."""


class InvalidQuery(RecommenderError):
    """The query cannot be answered as given (e.g. empty text, k < 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
