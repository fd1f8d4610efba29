"""The graph channel: firms that list the item itself (or an alias of it), a kind of it (a longer
name ending with it), or a product the product graph relates to it; and the leader product's
other materials (context)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..aliases import AliasTable
from ..catalog import ProductCatalog
from ..entry_table import EntryTable
from ..features import GraphMatches
from ..graph import ProductGraph
from ..text import normalize_key, normalize_text
from .base import ChannelQuery


class GraphChannel:
    """Matches rows of its entry table; whether the item is known at all is read from the
    catalogue (the whole corpus's when the engine holds one shard of it)."""

    name = "graph"

    def __init__(
        self,
        graph: ProductGraph,
        table: EntryTable,
        catalog: ProductCatalog,
        aliases: AliasTable,
        *,
        enabled: bool = True,
    ) -> None:
        self.graph = graph
        self.table = table
        self.catalog = catalog
        self.aliases = aliases
        self.enabled = enabled  # off: only ``item_known`` (ablations)

    def extend(self, start: int) -> None:
        return None  # reads the table's product postings, which the table keeps current

    def save(self, directory: Path) -> None:
        return None  # the product graph is saved with the engine's statistics

    def equivalent_keys(self, key: str, synonyms: Sequence[str] = ()) -> list[str]:
        """Listed products that are the item by another name — aliases either way, names the
        user gave beside it (sCMOS相机 ≡ 科学级CMOS相机): matched as the product itself."""
        names = [*synonyms, *self.aliases.synonyms(key)]
        keys = dict.fromkeys(normalize_key(n) for n in names)
        return [k for k in keys if k != key and k in self.catalog]

    def search(self, query: ChannelQuery, memo: GraphMemo | None = None) -> GraphMatches:
        """``memo``: what earlier searches of the same batch found (the matches of an item and its
        synonyms, the firms listing a key), while the index does not change."""
        memo = GraphMemo() if memo is None else memo
        item_key = (query.item, query.synonyms)
        gm = memo.items.get(item_key)
        if gm is None:
            gm = memo.items[item_key] = self._item_matches(query, memo)
        if not self.enabled or not query.for_product:
            return gm
        gm = gm.copy()
        key, fkey = normalize_key(query.item), normalize_key(query.for_product)
        for mkey in self.graph.siblings_in(fkey):
            if mkey != key:
                gm.add_listing(memo.listed(self, mkey), "context", 1)
        return gm

    def _item_matches(self, query: ChannelQuery, memo: GraphMemo) -> GraphMatches:
        """The matches of the item itself, its aliases and synonyms, its kinds and the products
        the graph relates to it (not the leader product's context)."""
        gm = GraphMatches(self.table.text)
        text = query.item
        key = normalize_key(text)
        equivalents = self.equivalent_keys(key, query.synonyms)
        gm.item_known = key in self.graph or key in self.catalog or bool(equivalents)
        if not self.enabled:
            return gm
        name = normalize_text(text)
        for k in (key, *equivalents):
            gm.add_listing(memo.listed(self, k), "exact", 0, (name,))
        for k in self.catalog.kinds_of(key):
            gm.add_listing(memo.listed(self, k), "kind", 1, (name,), True)
        for e in self.graph.expand(key):
            gm.add_listing(memo.listed(self, e.key), e.via, e.depth, (name, *e.path[1:-1]), True)
        return gm


@dataclass
class GraphMemo:
    """What graph searches found, for later searches of the same batch to reuse (memory: a batch's
    matches; the listings are arrays the matches share)."""

    items: dict[tuple[str, tuple[str, ...]], GraphMatches] = field(default_factory=dict)
    keys: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def listed(self, channel: GraphChannel, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = self.keys.get(key)
        if found is None:
            found = self.keys[key] = channel.table.listed_arrays(key)
        return found
