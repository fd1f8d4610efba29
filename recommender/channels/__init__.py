"""Retrieval channels over the entry table, one interface, made by name.

* ``tfidf`` — char 1-2gram TF-IDF cosine over entry texts (:class:`LexicalChannel`);
* ``bm25`` — Okapi BM25 over jieba words, the query's description included (:class:`LexicalChannel`);
* ``dense`` — an encoder and a FAISS index over the distinct entry texts (:class:`DenseChannel`);
* ``graph`` — firms listing the item, its aliases, its kinds, subclasses, parents and the leader
  product's other materials, through the product graph (:class:`GraphChannel`).

The entry channels answer :class:`~recommender.features.ChannelArrays` (entry scores max-pooled
per firm row), the graph channel :class:`~recommender.features.GraphMatches`; the ranking reads
both (:mod:`recommender.ranking`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from ..aliases import AliasTable
from ..catalog import ProductCatalog
from ..encoders import Encoder
from ..entry_table import EntryTable
from ..graph import ProductGraph
from ..lexical import LexicalStatistics, SparseLexicalIndex
from ..segmenter import WordSegmenter
from ..text import part_ngrams
from .base import Channel, ChannelQuery
from .dense import DenseChannel
from .graph import GraphChannel
from .lexical import LexicalChannel

if TYPE_CHECKING:
    from ..config import EngineConfig


@dataclass
class ChannelContext:
    """What channels are made of besides the entry table and the configuration."""

    graph: ProductGraph
    catalog: ProductCatalog
    aliases: AliasTable
    segmenter: WordSegmenter
    lexical: dict[str, LexicalStatistics] | None = None  # fitted over a corpus: frozen indexes
    encoder: Encoder | None = None  # fitted static encoder; None = load config.encoder
    progress: bool = False


def make_channel(name: str, config: EngineConfig, table: EntryTable, ctx: ChannelContext) -> Channel[Any]:
    """A channel built over every entry of ``table``."""
    if name in ("tfidf", "bm25"):
        analyzer = part_ngrams if name == "tfidf" else ctx.segmenter.part
        stats = None if ctx.lexical is None else ctx.lexical[name]
        index = (
            SparseLexicalIndex(analyzer, name)
            if stats is None
            else SparseLexicalIndex.frozen(analyzer, stats)
        )
        index.fit(table.text, table.groups())
        return LexicalChannel(name, index, table)
    if name == "dense":
        return DenseChannel.build(table, config, ctx.encoder, progress=ctx.progress)
    if name == "graph":
        return GraphChannel(ctx.graph, table, ctx.catalog, ctx.aliases, enabled="graph" in config.channels)
    raise ValueError(f"unknown channel {name!r}")


def load_channel(
    name: str, directory: Path, config: EngineConfig, table: EntryTable, ctx: ChannelContext
) -> Channel[Any]:
    """A channel as saved in an index directory (see each channel's ``save``)."""
    if name in ("tfidf", "bm25"):
        analyzer = part_ngrams if name == "tfidf" else ctx.segmenter.part
        index = SparseLexicalIndex.load(analyzer, directory, name)
        if index.n_rows != len(table.firm):
            raise errors.IndexCorrupt("index files disagree in size")
        return LexicalChannel(name, index, table)
    if name == "dense":
        return DenseChannel.load(directory / "dense", config, table)
    if name == "graph":
        return GraphChannel(ctx.graph, table, ctx.catalog, ctx.aliases, enabled="graph" in config.channels)
    raise ValueError(f"unknown channel {name!r}")


__all__ = [
    "Channel",
    "ChannelContext",
    "ChannelQuery",
    "DenseChannel",
    "GraphChannel",
    "LexicalChannel",
    "load_channel",
    "make_channel",
]
