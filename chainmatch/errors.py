"""The one tree of domain errors. Services raise these; the API translates them once
(``api/errors.py``), the CLI prints their message and exits non-zero.

Each error knows its HTTP status and carries a message written for the user, Chinese first
(e.g. "产业链不存在 (chain not found)"): the message is sent to the client as it is, so it must
never hold a traceback or an internal detail. The engine (``recommender/``) sits below this
package and keeps its own small tree (``recommender.errors``); :func:`http_status` maps both.

The stdlib bases mixed in (``ValueError``, ``LookupError``, ``PermissionError``) keep callers that
catch the generic kind working.
"""

from __future__ import annotations

from typing import Any, ClassVar

from recommender.errors import IndexCorrupt, IndexNotFound, InvalidQuery, RecommenderError, RegionRequired


class ChainMatchError(Exception):
    """Root of every error raised on purpose above the engine."""

    status_code: ClassVar[int] = 400


# ------------------------------------------------------------------------------ the kinds
class InvalidInput(ChainMatchError, ValueError):
    """The request cannot be carried out as asked (422)."""

    status_code = 422


class NotFound(ChainMatchError, LookupError):
    """No such thing, or not visible to the caller (404: the caller cannot tell which)."""

    status_code = 404


class Forbidden(ChainMatchError, PermissionError):
    """The caller is known but may not do this (403)."""

    status_code = 403


class Conflict(ChainMatchError, ValueError):
    """Exists already, changed meanwhile, or the move is not allowed from the current state (409)."""

    status_code = 409


class Unavailable(ChainMatchError):
    """A part the answer needs is not serving yet (503); ``retry_after`` seconds, if known."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# ------------------------------------------------------------------------------ input files
class UnreadableInput(InvalidInput):
    """The whole input cannot be read (unknown format, undecodable bytes, malformed JSON array)."""


class CorpusFileError(InvalidInput):
    """An input file the importer rejects (the first errors are in the message)."""


# ------------------------------------------------------------------------------ chains, outreach
class ChainError(InvalidInput):
    """A request about chains that cannot be carried out as asked (422)."""


class ChainNotFound(ChainError, NotFound):
    """No such chain, or not visible to the caller (404)."""

    status_code = 404


class ChainExists(ChainError, Conflict):
    """A chain with this id exists already (409)."""

    status_code = 409


class RegionForbidden(ChainError, Forbidden):
    """A bureau asked about a region other than its own (403)."""

    status_code = 403


class RegionMissing(ChainError):
    """No region given and none to default to (422)."""


class RegionInvalid(ChainError):
    """Not a province of China, or a malformed city (422)."""


class OutreachError(InvalidInput):
    """An outreach request that cannot be carried out as asked (422)."""


class OutreachNotFound(OutreachError, NotFound):
    """No such record in the caller's region (404)."""

    status_code = 404


class OutreachConflict(OutreachError, Conflict):
    """The record exists already, or changed meanwhile, or the move is not allowed (409)."""

    status_code = 409


# ------------------------------------------------------------------------------ jobs
class JobNotFound(NotFound):
    """No such job of the caller's, or (for results) not finished yet (404)."""

    def __init__(self, job_id: str) -> None:
        super().__init__("任务不存在或尚未完成 (job not found or not done)")
        self.job_id = job_id


# ------------------------------------------------------------------------------ gap lists, keys
class GapListError(InvalidInput):
    """A gap-list request that cannot be carried out as asked (unknown leader, bad region…)."""


class KeyScopeError(InvalidInput):
    """The scope given for a new key does not fit its role."""


# ------------------------------------------------------------------------------ two-sided match
class OfferError(InvalidInput):
    """An offer request that cannot be carried out (unknown firm, firm outside the region…)."""


class OfferNotFound(NotFound):
    """No such offer, or one the caller may not see."""


class OfferForbidden(Forbidden):
    """The caller's role may not do this to offers."""


class RequirementError(InvalidInput):
    """Requirements that do not fit the list (an item it does not hold, an item named twice…)."""


class RefreshError(InvalidInput):
    """Not enough outcomes to learn from, or no benchmark to check against."""


# ------------------------------------------------------------------------------ aliases
class AliasError(InvalidInput):
    """A product-alias request that cannot be carried out (the message says why, in Chinese)."""


class AliasExists(AliasError, Conflict):
    """The alias is there already (409)."""

    status_code = 409


class AliasNotFound(AliasError, NotFound):
    """No such alias (404)."""

    status_code = 404


# ------------------------------------------------------------------------------ sharded index
class ShardUnavailable(Unavailable):
    """A search shard did not answer (its actor restarting, or too slow): the list would miss
    its firms, so none is given (503 with Retry-After; see chainmatch/sharding)."""


# ------------------------------------------------------------------------------ to HTTP
# The engine's errors, which cannot know this tree (it sits above the engine).
_ENGINE_STATUS: tuple[tuple[type[RecommenderError], int], ...] = (
    (InvalidQuery, 422),
    (RegionRequired, 422),
    (IndexNotFound, 503),
    (IndexCorrupt, 503),
)

# What the API edge registers a handler for.
DOMAIN_ERRORS: tuple[type[Exception], ...] = (ChainMatchError, RecommenderError)


def http_status(exc: BaseException) -> int:
    """The HTTP status of a domain error (400 for an engine error not in the table)."""
    if isinstance(exc, ChainMatchError):
        return exc.status_code
    return next((code for kind, code in _ENGINE_STATUS if isinstance(exc, kind)), 400)


def http_headers(exc: BaseException) -> dict[str, Any]:
    """Headers that go with the status (Retry-After on a 503 that knows when to come back)."""
    if isinstance(exc, Unavailable) and exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    return {}
