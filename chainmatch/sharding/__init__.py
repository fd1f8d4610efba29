"""Sharded serving on Ray (issue 11): firms split over N shard actors by a stable hash of their id.

With ``CHAINMATCH_SHARDS`` = 1 (the default) the service is today's in-process
:class:`~chainmatch.indexing.IndexService` and Ray is never imported; see docs/scaling.md.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from chainmatch.indexing import IndexService
from chainmatch.settings import Settings


def make_index_service(settings: Settings, db: Engine, *, serving: bool = False) -> IndexService:
    """The index service the settings ask for: one engine in this process, or N shards on Ray."""
    if settings.shards <= 1:
        return IndexService(settings, db, serving=serving)
    from chainmatch.sharding.service import ShardedIndexService  # imports Ray

    return ShardedIndexService(settings, db, serving=serving)


def close_index_service(index: IndexService) -> None:
    """Leave Ray if the service joined or started it (nothing for the in-process engine)."""
    close = getattr(index, "close", None)
    if close is not None:
        close()
