"""Corpus statistics: everything an index build fits whose value depends on other firms.

A build fits, over the whole corpus: the lexical channels' vocabularies, document frequencies and
average lengths; the static encoder (for a sentence-transformers model, only its identity); the
product graph; the word segmenter's vocabulary (every firm's capability product names); the
aliases product names carry (``光电倍增管(PMT)``); and the product catalogue (how many firms list
each product and under what name), which the query parser weighs readings by.

:func:`fit_statistics` fits them; ``Recommender.build(..., statistics=s)`` applies ``s`` to just the
firms it is given (one shard of a sharded corpus) and fits nothing, so that every firm's channel
scores and features equal the unsharded engine's. Such an engine keeps the statistics frozen
through upserts and removals (see :mod:`recommender.lexical`). Picklable (Ray ships it to the shard
actors) and saved / loaded as a directory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .aliases import Alias, mine_corpus_aliases
from .catalog import LiveCatalog, ProductCounts
from .corpus import FirmDoc, Relation
from .encoders import Encoder, fit_static_encoder, load_encoder
from .entries import KIND_PRODUCT
from .entry_table import EntryTable
from .graph import ProductGraph
from .lexical import LexicalStatistics, SparseLexicalIndex
from .segmenter import WordSegmenter
from .text import part_ngrams

if TYPE_CHECKING:
    from .config import EngineConfig

log = logging.getLogger(__name__)


@dataclass
class CorpusStatistics:
    encoder_ref: str  # "static" (then ``encoder`` is the fitted one) or a sentence-transformers model
    encoder: Encoder | None  # None: no dense channel, or a model loaded by name
    lexical: dict[str, LexicalStatistics]  # "tfidf", "bm25"
    graph: ProductGraph
    segmenter_words: list[str]
    mined_aliases: list[Alias]
    products: ProductCounts
    n_firms: int

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        lexical = {}
        for name, s in self.lexical.items():
            np.save(directory / f"{name}.df.npy", np.ascontiguousarray(s.df))
            lexical[name] = {
                "scheme": s.scheme, "k1": s.k1, "b": s.b, "vocab": s.vocab, "n_docs": s.n_docs,
                "avgdl": {str(k): v for k, v in s.avgdl.items()},
            }  # fmt: skip
        if self.encoder is not None:
            self.encoder.save(directory / "encoder")
        meta = {
            "encoder": self.encoder_ref,
            "fitted_encoder": self.encoder is not None,
            "lexical": lexical,
            "graph": self.graph.to_state(),
            "segmenter_words": self.segmenter_words,
            "mined_aliases": [[a.alias, a.canonical, a.source] for a in self.mined_aliases],
            "products": self.products,
            "n_firms": self.n_firms,
        }
        (directory / "statistics.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, device: str = "cpu") -> CorpusStatistics:
        directory = Path(directory)
        meta = json.loads((directory / "statistics.json").read_text(encoding="utf-8"))
        lexical = {
            name: LexicalStatistics(
                m["scheme"], float(m["k1"]), float(m["b"]), list(m["vocab"]),
                np.load(directory / f"{name}.df.npy"), int(m["n_docs"]),
                {int(k): float(v) for k, v in m["avgdl"].items()},
            )
            for name, m in meta["lexical"].items()
        }  # fmt: skip
        encoder: Encoder | None = None
        if meta["fitted_encoder"]:
            encoder = load_encoder(str(directory / "encoder"), None, None, device, name="static")
        return cls(
            encoder_ref=meta["encoder"],
            encoder=encoder,
            lexical=lexical,
            graph=ProductGraph.from_state(meta["graph"]),
            segmenter_words=list(meta["segmenter_words"]),
            mined_aliases=[Alias(a, c, s) for a, c, s in meta["mined_aliases"]],
            products={k: (int(n), str(name)) for k, (n, name) in meta["products"].items()},
            n_firms=int(meta["n_firms"]),
        )


def fill_table(table: EntryTable, firms: Iterable[FirmDoc], *, progress: bool = False) -> list[Alias]:
    """Adds ``firms`` (a later record of an id wins, as with upsert) and their entries to an empty
    table; returns the aliases their product names carry, in firm order."""
    uniq: dict[str, FirmDoc] = {}
    for f in firms:
        uniq[f.id] = f
    it: Iterable[FirmDoc] = uniq.values()
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(uniq), desc="firms", unit="firm")
    _start, names, _keys = table.add_firms(it)
    return mine_corpus_aliases(names)


def fit_static_encoder_on(table: EntryTable, graph: ProductGraph, config: EngineConfig) -> Encoder:
    """The corpus-fitted static encoder, from the table's capability products (per firm row)."""
    kinds, rows = table.kind.tolist(), table.firm.tolist()
    caps = [t for t, k in zip(table.text, kinds, strict=True) if k == KIND_PRODUCT]
    firm_products: list[list[str]] = [[] for _ in range(table.n_rows)]
    for t, k, r in zip(table.text, kinds, rows, strict=True):
        if k == KIND_PRODUCT:
            firm_products[r].append(t)
    return fit_static_encoder(caps, firm_products, graph, dim=config.static_dim)


def fit_statistics(
    firms: Iterable[FirmDoc], relations: Iterable[Relation], config: EngineConfig, *, progress: bool = False
) -> CorpusStatistics:
    """The statistics a build of ``firms`` and ``relations`` fits (see the module docstring)."""
    table = EntryTable()
    mined = fill_table(table, firms, progress=progress)
    graph = ProductGraph(relations)
    segmenter = WordSegmenter(table.listed_keys())
    lexical = {}
    for name, analyzer in (("tfidf", part_ngrams), ("bm25", segmenter.part)):
        index = SparseLexicalIndex(analyzer, name)
        index.fit(table.text, table.groups())
        lexical[name] = index.statistics()
    static = "dense" in config.channels and config.encoder == "static"
    return CorpusStatistics(
        encoder_ref=config.encoder,
        encoder=fit_static_encoder_on(table, graph, config) if static else None,
        lexical=lexical,
        graph=graph,
        segmenter_words=list(segmenter.user_words),
        mined_aliases=mined,
        products=LiveCatalog(table).counts(),
        n_firms=table.n_firms,
    )
