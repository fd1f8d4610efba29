"""The recommender engine: build / persist / update the indexes and answer weak-link queries.

Pipeline of one query:

1. channels (:mod:`recommender.channels`) score *entries* (capability products, firm profiles,
   description sentences: :mod:`recommender.entry_table`): char 1-2gram TF-IDF, BM25 over jieba
   words, dense encoder + FAISS; entry scores are max-pooled per firm (best entry, and best entry
   weighted by revenue share);
2. the graph channel adds exact-key and hierarchical matches (subclasses, parents) and the
   leader product's context;
3. hard filters and the region split are masks (:mod:`recommender.filters`) applied *before* the
   top-k cut;
4. a candidate pool (union of each channel's top firms plus every graph match) is featurised and
   scored by the trained ranker, or the documented fusion fallback (:mod:`recommender.ranking`).

Sharding: :func:`fit_statistics` and ``build(..., statistics=...)`` (:mod:`recommender.statistics`),
:meth:`Recommender.evidence`, :func:`merge_evidence` and :func:`merge_answers` (:mod:`recommender.merge`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .aliases import Alias, AliasTable, mine_corpus_aliases
from .channels import ChannelQuery, LexicalChannel
from .config import ALL_CHANNELS, CHANNEL_BITS, LEXICAL_TOP, LOW_CONFIDENCE_K, EngineConfig
from .corpus import FirmDoc, FirmMatch, MatchQuery, Relation, Scope
from .entries import KIND_PRODUCT
from .features import ChannelArrays, empty_channel
from .filters import FirmFilters
from .merge import QueryEvidence, ShardEvidence, merge_answers, merge_evidence
from .parts import FORMAT_VERSION, EngineParts, build_parts
from .persistence import load_index, save_index
from .query import DictVocabulary, QueryParser
from .ranker import FusionRanker, Ranker, load_ranker
from .ranking import MatchRanking, QueryScores
from .statistics import CorpusStatistics, fit_statistics
from .text import normalize_key, normalize_text
from .understanding import Understanding


class Recommender:
    """See the module docstring. Build with :meth:`build`, or :meth:`load` a saved one."""

    def __init__(self, config: EngineConfig, parts: EngineParts) -> None:
        self.config = config
        self.parts = parts
        self.table = parts.table
        self.filters = FirmFilters(parts.table, parts.firm_attrs)
        self.ranker: Ranker = load_ranker(config.ranker_path) if config.use_ranker else FusionRanker()
        self.ranking = MatchRanking(parts.table, self.filters, config, self.ranker)
        self._query_parser: QueryParser | None = None
        # Readings of recent texts (an answer and its understood_as read the text once); cleared
        # whenever the vocabulary or the aliases change.
        self._understood: dict[tuple[str, str | None], Understanding] = {}

    # =========================================================================== building
    @classmethod
    def build(
        cls,
        firms: Iterable[FirmDoc],
        relations: Iterable[Relation],
        config: EngineConfig,
        *,
        progress: bool = False,
        statistics: CorpusStatistics | None = None,
    ) -> Recommender:
        """Indexes ``firms``. With ``statistics`` (:func:`fit_statistics` over a whole corpus, of
        which ``firms`` is one shard) nothing is fitted and ``relations`` are not read: the
        statistics' graph, vocabularies and encoder apply, and stay frozen through updates."""
        parts = build_parts(firms, relations, config, progress=progress, statistics=statistics)
        return cls(config, parts)

    @classmethod
    def load(cls, directory: Path, config: EngineConfig) -> Recommender:
        return cls(config, load_index(Path(directory), config))

    def save(self, directory: Path) -> None:
        """Atomically (temp dir + fsync + rename) writes the whole index with a manifest.json."""
        save_index(self.parts, Path(directory), self.filters.attrs())

    # =========================================================================== updates
    @property
    def frozen(self) -> bool:
        """Whether the corpus statistics are given (a shard's engine), not this engine's own."""
        return self.parts.statistics is not None

    def upsert_firms(self, firms: Sequence[FirmDoc]) -> None:
        """Adds new firms and replaces existing ones (all their entries are re-indexed)."""
        if not firms:
            return
        latest: dict[str, FirmDoc] = {f.id: f for f in firms}
        self._remove_rows(self.table.rows_of(latest))
        start, names, new_keys = self.table.add_firms(latest.values())
        if not self.frozen:
            self.aliases.add_all(mine_corpus_aliases(names))
            self.parts.catalog.note_new_keys(new_keys)
            self.parts.segmenter.add_words(names)
        for channel in self.parts.channels.values():
            channel.extend(start)
        self._touch()

    def remove_firms(self, firm_ids: Iterable[str]) -> None:
        self._remove_rows(self.table.rows_of(firm_ids))
        self._touch()

    def _remove_rows(self, rows: list[int]) -> None:
        self.table.drop_rows(rows)
        self.filters.drop(rows)

    def _touch(self) -> None:
        self._understood.clear()
        self.manifest["n_firms"] = self.n_firms
        self.manifest["n_entries"] = self.n_entries
        self.manifest["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    # =========================================================================== accessors
    @property
    def manifest(self) -> dict[str, Any]:
        return self.parts.manifest

    @property
    def aliases(self) -> AliasTable:
        return self.parts.aliases

    @property
    def dense(self) -> Any:
        """The dense channel (its ``encoder``, ``index``, ``text_ids``), None when off."""
        return self.parts.channels.get("dense")

    def get_firm(self, firm_id: str) -> FirmDoc | None:
        row = self.table.row_of.get(firm_id)
        return None if row is None else self.table.firms[row]

    @property
    def n_firms(self) -> int:
        return self.table.n_firms

    @property
    def n_entries(self) -> int:
        return self.table.n_entries

    def firms(self) -> Iterable[FirmDoc]:
        return self.table.live_firms()

    def product_makers(self, product: str) -> dict[str, float | None]:
        """Firms listing ``product`` (same normalised key) with its revenue share."""
        listings = self.table.listings(normalize_key(product))
        return {self.table.firms.id(r): share for r, _, share in listings}  # type: ignore[misc]

    # =========================================================================== understanding
    def understand(self, text: str, description: str | None = None) -> Understanding:
        """How a weak-link text is read: the product it names and the rest (see
        :mod:`recommender.query`). Cheap; every answer carries it as ``understood_as``."""
        key = (text, description)
        cached = self._understood.get(key)
        if cached is None:
            if len(self._understood) >= 4096:
                self._understood.clear()
            cached = self._understood[key] = self.parser().parse(text, description)
        return cached

    def set_user_aliases(self, aliases: Iterable[Alias]) -> None:
        """Replaces the administrator-managed aliases (source ``user``); effective at once."""
        self.aliases.replace_source("user", [Alias(a.alias, a.canonical, "user") for a in aliases])
        self._understood.clear()

    def parser(self) -> QueryParser:
        """The query parser over this engine's product catalogue and aliases (uncached readings)."""
        if self._query_parser is None:
            catalog, graph = self.parts.catalog, self.parts.graph
            vocab = DictVocabulary(lambda k: catalog.weight(k, graph), lambda k: catalog.display(k, graph))
            self._query_parser = QueryParser(vocab, self.aliases)
        return self._query_parser

    # =========================================================================== querying
    def _validate(self, query: MatchQuery) -> int:
        if not normalize_text(query.text):
            raise errors.InvalidQuery("query text is empty / 查询的产品名称为空")
        if query.k < 1:
            raise errors.InvalidQuery(f"k must be >= 1, got {query.k}")
        if query.min_score is not None and not 0.0 <= query.min_score <= 1.0:
            raise errors.InvalidQuery(f"min_score must be in 0..1, got {query.min_score}")
        return min(query.k, self.config.max_k)

    def match(self, query: MatchQuery, *, evidence: QueryEvidence | None = None) -> list[FirmMatch]:
        """Top-k firms for ``query`` within ``query.scope`` of ``query.region``, filters applied.
        ``evidence``: the corpus's, when this engine holds one shard of it (:mod:`recommender.merge`)."""
        k = self._validate_match(query)
        return self._rank_match(self._score(query, evidence), query, k, evidence)

    def match_many(
        self, queries: Sequence[MatchQuery], evidence: Sequence[QueryEvidence | None] | None = None
    ) -> list[list[FirmMatch] | errors.RecommenderError]:
        """:meth:`match` of each query, in order (a query's error in its slot), answered together:
        what several queries share is computed once (:mod:`recommender.batch`). ``evidence``: each
        query's, as :meth:`match` takes it."""
        from .batch import match_many

        return match_many(self, queries, evidence)

    def _validate_match(self, query: MatchQuery) -> int:
        k = self._validate(query)
        if query.scope is not Scope.ALL and query.region is None:
            raise errors.RegionRequired(f"scope {query.scope.value!r} needs query.region")
        return k

    def _rank_match(
        self, s: QueryScores, query: MatchQuery, k: int, evidence: QueryEvidence | None = None
    ) -> list[FirmMatch]:
        listed = None if evidence is None else evidence.item_listed[query.scope]
        mask = self.filters.mask(query, query.scope)
        return self.ranking.rank(
            s, mask, k, query, boost_smes=query.scope is Scope.INSIDE, item_listed=listed
        )

    def recommend(
        self, query: MatchQuery, *, evidence: QueryEvidence | None = None
    ) -> tuple[list[FirmMatch], list[FirmMatch]]:
        """(investment_targets outside the region, local_suppliers inside it), k each."""
        k = self._validate(query)
        if query.region is None:
            raise errors.RegionRequired("recommend() needs query.region / 需要指定本地区域")
        s = self._score(query, evidence)
        out = [
            self.ranking.rank(
                s, self.filters.mask(query, scope), k, query, boost_smes=scope is Scope.INSIDE,
                item_listed=None if evidence is None else evidence.item_listed[scope],
            )
            for scope in (Scope.OUTSIDE, Scope.INSIDE)
        ]  # fmt: skip
        return out[0], out[1]

    def evidence(self, query: MatchQuery, scopes: Iterable[Scope] | None = None) -> ShardEvidence:
        """This engine's part of the corpus-wide facts of ``query`` (round one of a sharded query,
        :mod:`recommender.merge`); ``scopes``: those to be asked (default: the query's own;
        :meth:`recommend` asks OUTSIDE and INSIDE)."""
        self._validate(query)
        cq = self._channel_query(query, self.understand(query.text, query.description))
        graph = self.parts.channels["graph"].search(cq)
        scopes = (query.scope,) if scopes is None else scopes
        ev = ShardEvidence({scope: graph.lists_item(self.filters.mask(query, scope)) for scope in scopes})
        for name in ("tfidf", "bm25"):
            lexical = self.parts.channels[name]
            if name in self.config.channels and isinstance(lexical, LexicalChannel):
                ev.lexical[name] = lexical.entry_scores(cq)[1]
        dense = self.dense
        if dense is not None and "dense" in self.config.channels:
            ev.dense_texts, ev.dense_k = dense.nearest_texts(cq.item), dense.search_k
        return ev

    def query_features(
        self, query: MatchQuery, *, scope: Scope | None = None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Candidate firm ids, their feature matrix and the channels that nominated each
        (bits of ``CHANNEL_BITS``) — for training and benches."""
        self._validate(query)
        s = self._score(query)
        mask = self.filters.mask(query, scope if scope is not None else query.scope)
        rows, src = self.ranking.candidates(s, mask, with_sources=True)
        assert src is not None
        X = self.ranking.features(rows, s)
        ids = [str(self.table.firms.id(int(r))) for r in rows]
        return ids, X, src

    @staticmethod
    def _channel_query(
        query: MatchQuery, u: Understanding, evidence: QueryEvidence | None = None
    ) -> ChannelQuery:
        text = u.product or normalize_text(query.text)
        full = text if not query.description else f"{text} {normalize_text(query.description)}"
        floors = {} if evidence is None else evidence.floors
        return ChannelQuery(text, full, query.for_product or u.for_product, tuple(u.synonyms), floors)

    def _score(self, query: MatchQuery, evidence: QueryEvidence | None = None) -> QueryScores:
        """Channel scores for the product the query's text is understood to name; the rest of
        the text (qualifiers, end use, specs) is context, not a required term."""
        u = self.understand(query.text, query.description)
        cq = self._channel_query(query, u, evidence)
        return QueryScores(
            tfidf=self._search("tfidf", cq),
            bm25=self._search("bm25", cq),
            dense=self._search("dense", cq),
            graph=self.parts.channels["graph"].search(cq),
            item=cq.item,
            understanding=u,
        )

    def _search(self, name: str, cq: ChannelQuery) -> ChannelArrays:
        channel = self.parts.channels.get(name)
        if channel is None or name not in self.config.channels:
            return empty_channel(self.table.n_rows)
        return channel.search(cq)


__all__ = [
    "ALL_CHANNELS",
    "CHANNEL_BITS",
    "FORMAT_VERSION",
    "KIND_PRODUCT",
    "LEXICAL_TOP",
    "LOW_CONFIDENCE_K",
    "CorpusStatistics",
    "EngineConfig",
    "Recommender",
    "fit_statistics",
    "merge_answers",
    "merge_evidence",
]
