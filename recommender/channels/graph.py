"""The graph channel: firms that list the item itself (or an alias of it), a kind of it (a longer
name ending with it), or a product the product graph relates to it; and the leader product's
other materials (context)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..aliases import AliasTable
from ..catalog import ProductCatalog
from ..entry_table import EntryTable
from ..features import GraphMatch, GraphMatches
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

    def search(self, query: ChannelQuery) -> GraphMatches:
        gm = GraphMatches()
        text = query.item
        key = normalize_key(text)
        equivalents = self.equivalent_keys(key, query.synonyms)
        gm.item_known = key in self.graph or key in self.catalog or bool(equivalents)
        if not self.enabled:
            return gm
        listed, texts = self.table.listed_entries, self.table.text
        name = normalize_text(text)
        for k in (key, *equivalents):
            for row, entry, share in listed(k):
                gm.add(row, GraphMatch(texts, entry, share, "exact", 0, (name,)))
        for k in self.catalog.kinds_of(key):
            for row, entry, share in listed(k):
                gm.add(row, GraphMatch(texts, entry, share, "kind", 1, (name,), True))
        for e in self.graph.expand(key):
            for row, entry, share in listed(e.key):
                gm.add(row, GraphMatch(texts, entry, share, e.via, e.depth, (name, *e.path[1:-1]), True))
        if query.for_product:
            fkey = normalize_key(query.for_product)
            for mkey in self.graph.siblings_in(fkey):
                if mkey == key:
                    continue
                for row, entry, share in listed(mkey):
                    gm.add(row, GraphMatch(texts, entry, share, "context", 1))
        return gm
