"""The graph channel: firms that list the item itself (or an alias of it), a kind of it (a longer
name ending with it), or a product the product graph relates to it; and the leader product's
other materials (context)."""

from __future__ import annotations

from collections.abc import Sequence
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

    def listed(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, capability entries, shares; NaN: unknown) of the live firms listing ``key``, in
        row order (``EntryTable.listed_entries`` as arrays)."""
        entries, shares = self.table.postings.postings(key, self.table.alive)
        return self.table.firm[entries], entries, shares

    def search(self, query: ChannelQuery) -> GraphMatches:
        gm = GraphMatches(self.table.text)
        text = query.item
        key = normalize_key(text)
        equivalents = self.equivalent_keys(key, query.synonyms)
        gm.item_known = key in self.graph or key in self.catalog or bool(equivalents)
        if not self.enabled:
            return gm
        listed, name = self.listed, normalize_text(text)
        for k in (key, *equivalents):
            gm.add_listing(listed(k), "exact", 0, (name,))
        for k in self.catalog.kinds_of(key):
            gm.add_listing(listed(k), "kind", 1, (name,), True)
        for e in self.graph.expand(key):
            gm.add_listing(listed(e.key), e.via, e.depth, (name, *e.path[1:-1]), True)
        if query.for_product:
            fkey = normalize_key(query.for_product)
            for mkey in self.graph.siblings_in(fkey):
                if mkey != key:
                    gm.add_listing(listed(mkey), "context", 1)
        return gm
