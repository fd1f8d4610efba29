"""The product catalogue the query parser and the graph channel consult: which product keys firms
list, how many firms list each and under what name, and the listed products whose name ends with
a query's (in Chinese the head of a compound comes last: 电子级硫酸 is a kind of 硫酸).

Two sources: :class:`LiveCatalog` reads the engine's own entry table (it follows every upsert);
:class:`FrozenCatalog` holds the whole corpus's counts fitted once (:mod:`recommender.statistics`),
so that every shard of a sharded corpus reads a query exactly as the unsharded engine does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .graph import ProductGraph
from .suffixes import SuffixIndex

if TYPE_CHECKING:
    from .entry_table import EntryTable

ProductCounts = dict[str, tuple[int, str]]  # key -> (firms listing it, the name first listed)


class ProductCatalog(ABC):
    def __init__(self) -> None:
        # Keys by suffix: built at the first query, kept up to date after.
        self._suffixes: SuffixIndex | None = None

    @abstractmethod
    def makers(self, key: str) -> int:
        """Number of firms listing ``key``."""

    @abstractmethod
    def listed_name(self, key: str) -> str | None:
        """The name ``key`` is listed under (the first listing firm's), None if nobody lists it."""

    @abstractmethod
    def keys(self) -> Iterable[str]: ...

    def __contains__(self, key: str) -> bool:
        return self.makers(key) > 0

    def note_new_keys(self, keys: Iterable[str]) -> None:
        """Keys listed for the first time (an upsert): kept in the suffix index."""
        if self._suffixes is not None:
            for key in keys:
                self._suffixes.add(key)

    def weight(self, key: str, graph: ProductGraph) -> int:
        """The query parser's weight of a product key: listed > known to the graph > unknown."""
        makers = self.makers(key)
        if makers:
            return 2 + makers
        return 1 if key in graph else 0

    def display(self, key: str, graph: ProductGraph) -> str:
        name = self.listed_name(key)
        return name if name is not None else graph.name(key)

    def kinds_of(self, key: str, limit: int = 2000) -> list[str]:
        """Listed products whose name ends with ``key`` (and is longer): in Chinese the head of
        a compound comes last, so 电子级硫酸 and 注塑微流控芯片 are kinds of 硫酸 and 微流控芯片,
        whatever the product graph says."""
        if len(key) < 2:
            return []
        if self._suffixes is None:
            self._suffixes = SuffixIndex(self.keys())
        out: list[str] = []
        for k in self._suffixes.ending_with(key):
            if len(out) >= limit:
                break
            if k in self:
                out.append(k)
        return out


class LiveCatalog(ProductCatalog):
    """A view of an entry table's product postings."""

    def __init__(self, table: EntryTable) -> None:
        super().__init__()
        self._table = table

    def makers(self, key: str) -> int:
        return self._table.lists(key)

    def listed_name(self, key: str) -> str | None:
        return next((name for _, name, _ in self._table.listings(key)), None)

    def keys(self) -> Iterable[str]:
        return self._table.listed_keys()

    def counts(self) -> ProductCounts:
        out: ProductCounts = {}
        for key in self._table.listed_keys():
            listings = list(self._table.listings(key))
            out[key] = (len(listings), listings[0][1])
        return out


class FrozenCatalog(ProductCatalog):
    """Counts of a whole corpus, fixed when its statistics were fitted."""

    def __init__(self, counts: ProductCounts) -> None:
        super().__init__()
        self._counts = counts

    def makers(self, key: str) -> int:
        found = self._counts.get(key)
        return found[0] if found else 0

    def listed_name(self, key: str) -> str | None:
        found = self._counts.get(key)
        return found[1] if found else None

    def keys(self) -> Iterable[str]:
        return self._counts.keys()
