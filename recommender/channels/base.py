"""The channel interface (see :mod:`recommender.channels`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

ResultT_co = TypeVar("ResultT_co", covariant=True)


@dataclass(frozen=True)
class ChannelQuery:
    item: str  # the product searched for (the understood product, else the text)
    full: str  # the item with the query's description
    for_product: str | None = None
    synonyms: tuple[str, ...] = ()
    # channel -> the least score a hit must have: a cut-off taken over every shard of a sharded
    # corpus (recommender.merge.QueryEvidence); empty for one engine, which cuts by itself
    floors: Mapping[str, float] = field(default_factory=dict)


class Channel(Protocol[ResultT_co]):
    name: str

    def extend(self, start: int) -> None:
        """Index the entry table's entries ``start..`` (appended by an upsert)."""

    def search(self, query: ChannelQuery) -> ResultT_co: ...

    def save(self, directory: Path) -> None:
        """Write the channel's files into an index directory."""
