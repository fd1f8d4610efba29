"""Domain errors of chains, reports and outreach; the API and the CLI translate them at their edge."""

from __future__ import annotations


class ChainError(ValueError):
    """A request about chains that cannot be carried out as asked (422 at the API)."""


class ChainNotFound(ChainError):
    """No such chain, or not visible to the caller (404)."""


class ChainExists(ChainError):
    """A chain with this id exists already (409)."""


class RegionForbidden(ChainError):
    """A bureau asked about a region other than its own (403)."""


class RegionMissing(ChainError):
    """No region given and none to default to (422)."""


class RegionInvalid(ChainError):
    """Not a province of China, or a malformed city (422)."""


class OutreachError(ValueError):
    """An outreach request that cannot be carried out as asked (422)."""


class OutreachNotFound(OutreachError):
    """No such record in the caller's region (404)."""


class OutreachConflict(OutreachError):
    """The record exists already, or changed meanwhile, or the move is not allowed (409)."""
