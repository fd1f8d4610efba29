"""The recommender engine: build / persist / update the indexes and answer weak-link queries.

Pipeline of one query (see ``docs`` in the report for the design):

1. channels score *entries* (capability products, firm profiles, description sentences):
   char 1-2gram TF-IDF, BM25 over jieba words, dense encoder + FAISS;
2. entry scores are max-pooled per firm (best entry, and best entry weighted by revenue share);
3. the product graph adds exact-key and hierarchical matches (subclasses, parents) and the
   leader product's context;
4. a candidate pool (union of each channel's top firms plus every graph match) is featurised and
   scored by the trained ranker (or the documented fusion fallback);
5. hard filters and the region split are masks applied *before* the top-k cut.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .aliases import DEFAULT_ALIAS_DIR, Alias, AliasTable, mine_corpus_aliases
from .corpus import FirmDoc, FirmFilter, FirmMatch, MatchQuery, Region, Relation, Scope
from .entries import KIND_DESC, KIND_NAMES, KIND_PRODUCT, KIND_PROFILE, EntryBatch, capability_products
from .explain import SME_SCALES, explain, is_specialised
from .features import (
    FIDX,
    ChannelArrays,
    GraphMatch,
    GraphMatches,
    aggregate_channel,
    empty_channel,
    feature_matrix,
)
from .firmstore import FirmStore, firm_from_json
from .graph import ProductGraph
from .lexical import SparseLexicalIndex
from .query import DictVocabulary, QueryParser
from .ranker import RERANK_POOL, FusionRanker, Ranker, load_ranker, prefilter
from .text import WordSegmenter, normalize_key, normalize_text, part_ngrams
from .understanding import VIA_HEAD, VIA_NONE, Understanding

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: lexical matrices as memory-mapped .npy files
ALL_CHANNELS = ("tfidf", "bm25", "dense", "graph")
CHANNEL_BITS = {"tfidf": 1, "bm25": 2, "dense": 4, "graph": 8}
# A list the relevance floor would empty for a text read with low confidence shows this many of
# its best candidates, flagged, instead (an empty list must mean "nobody makes it").
LOW_CONFIDENCE_K = 5
LEXICAL_TOP = 20_000  # best entries a lexical channel passes on (bounds latency at scale)
# One index read or write at a time per process. Both build Python ASTs (np.load parses every
# array header with ast.literal_eval; saving the dense model renders huggingface_hub's model-card
# Jinja template), and on CPython 3.11 two threads building ASTs at once can fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905). Loads and saves
# are rare (start-up, checkpoints), so serialising them within a process costs nothing; the swap
# of the directory between processes stays under the file lock (_swap_lock).
_INDEX_IO_LOCK = threading.Lock()


@dataclass
class EngineConfig:
    encoder: str = "static"  # "static" = corpus-fitted default; else a sentence-transformers name/path
    query_prompt: str | None = None
    passage_prompt: str | None = None
    ranker_path: Path | None = (
        None  # None = shipped artifact in recommender/artifacts if present, else fusion
    )
    # vectors (distinct entry texts) above which FAISS HNSW replaces exact search
    ann_threshold: int = 200_000
    candidate_pool: int = 300
    max_k: int = 100
    rerank_pool: int = RERANK_POOL  # candidates (best by fusion) the trained ranker scores
    # --- additions (all optional) ---
    channels: tuple[str, ...] = ALL_CHANNELS  # subset of ALL_CHANNELS, for ablations
    use_ranker: bool = True  # False = always the fusion fallback
    sme_boost: float = 0.04  # score bonus (0..1 scale) for SMEs / 专精特新 among local suppliers
    # Relevance floor on the ranker's 0..1 score: below it a firm is padding, not a supplier.
    # 0.10 keeps 99.5% of relevant top-10 firms and drops 62% of irrelevant ones on chainkg's dev
    # gaps (bench/score_floor.py, out-of-fold scores).
    min_score: float = 0.10
    static_dim: int = 128  # dimension of the corpus-fitted static encoder
    # Shipped alias tables (curated.tsv, cedict.tsv); None = no shipped aliases.
    alias_dir: Path | None = DEFAULT_ALIAS_DIR
    device: str = "cpu"


@dataclass
class _QueryScores:
    tfidf: ChannelArrays
    bm25: ChannelArrays
    dense: ChannelArrays
    graph: GraphMatches
    item: str  # the product searched for (the understood product, else the text)
    understanding: Understanding


@dataclass
class _FirmAttrs:
    """Columnar firm attributes for vectorised filtering (rebuilt lazily after updates)."""

    alive: np.ndarray
    province: np.ndarray
    city: np.ndarray
    china: np.ndarray
    scale: np.ndarray
    boost: np.ndarray
    codes: dict[str, int] = field(default_factory=dict)


class Recommender:
    """See the module docstring. Build with :meth:`build`, or :meth:`load` a saved one."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.manifest: dict[str, Any] = {}
        self._firms = FirmStore()  # rows as JSON bytes, decoded on use
        self._row_of: dict[str, int] = {}
        self._e_firm = np.zeros(0, dtype=np.int64)
        self._e_kind = np.zeros(0, dtype=np.int8)
        self._e_share = np.zeros(0, dtype=np.float32)
        self._e_alive = np.zeros(0, dtype=bool)
        self._e_text: list[str] = []
        self._key_index: dict[str, dict[int, tuple[str, float | None]]] = {}
        self._n_caps: list[int] = []
        self._n_caps_np: np.ndarray | None = None
        self._attrs: _FirmAttrs | None = None
        self._tags: dict[str, set[int]] = {}
        self.graph = ProductGraph()
        # Shipped alias tables; corpus-mined aliases are added as firms arrive, the database's
        # user aliases by set_user_aliases().
        self.aliases = AliasTable.from_files(config.alias_dir) if config.alias_dir else AliasTable()
        self._query_parser: QueryParser | None = None
        # Readings of recent texts (an answer and its understood_as read the text once); cleared
        # whenever the vocabulary or the aliases change.
        self._understood: dict[tuple[str, str | None], Understanding] = {}
        # Capability keys reversed and sorted: the products whose name ends with a query's
        # (注塑微流控芯片 is a kind of 微流控芯片). Built at the first query, kept sorted after.
        self._suffix_keys: list[str] | None = None
        self.segmenter: WordSegmenter | None = None
        self.tfidf: SparseLexicalIndex | None = None
        self.bm25: SparseLexicalIndex | None = None
        self.dense: Any = None  # recommender.dense.DenseChannel when the dense channel is on
        self.ranker: Ranker = load_ranker(config.ranker_path) if config.use_ranker else FusionRanker()

    # =========================================================================== building
    @classmethod
    def build(
        cls,
        firms: Iterable[FirmDoc],
        relations: Iterable[Relation],
        config: EngineConfig,
        *,
        progress: bool = False,
    ) -> Recommender:
        t0 = time.perf_counter()
        self = cls(config)
        unknown = set(config.channels) - set(ALL_CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}")
        self.graph = ProductGraph(relations)
        batch = EntryBatch()
        uniq: dict[str, FirmDoc] = {}
        for f in firms:
            uniq[f.id] = f  # a later record of the same id wins, as with upsert
        it: Iterable[FirmDoc] = uniq.values()
        if progress:
            from tqdm import tqdm

            it = tqdm(it, total=len(uniq), desc="firms", unit="firm")
        for f in it:
            row, caps = self._new_row(f)
            batch.add_firm(f, row, caps)
        rows, kinds, shares = batch.arrays()
        self._e_firm, self._e_kind, self._e_share = rows, kinds, shares
        self._e_alive = np.ones(len(rows), dtype=bool)
        self._e_text = list(batch.texts)
        self.segmenter = WordSegmenter(sorted(self._key_index))
        self.tfidf = SparseLexicalIndex(part_ngrams, "tfidf")
        self.bm25 = SparseLexicalIndex(self.segmenter.part, "bm25")
        groups = (kinds == KIND_PROFILE).astype(np.int64) + 2 * (kinds == KIND_DESC)
        t1 = time.perf_counter()
        self.tfidf.fit(self._e_text, groups)
        self.bm25.fit(self._e_text, groups)
        t2 = time.perf_counter()
        if "dense" in config.channels:
            from .dense import DenseChannel

            self.dense = DenseChannel.build(self, config, progress=progress)
        t3 = time.perf_counter()
        self.manifest = {
            "format": FORMAT_VERSION,
            "n_firms": self.n_firms,
            "n_entries": int(self._e_alive.sum()),
            "encoder": config.encoder if self.dense is not None else None,
            "channels": list(config.channels),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus_tag": None,
            "build_seconds": {
                "entries": round(t1 - t0, 3),
                "lexical": round(t2 - t1, 3),
                "dense": round(t3 - t2, 3),
            },
        }
        log.info("built index: %d firms, %d entries in %.1fs", self.n_firms, len(rows), t3 - t0)
        return self

    def _new_row(
        self, f: FirmDoc, blob: bytes | None = None
    ) -> tuple[int, list[tuple[str, str, float | None]]]:
        row = self._firms.append(f, blob)
        self._row_of[f.id] = row
        caps = capability_products(f)
        self._n_caps.append(len(caps))
        for key, name, share in caps:
            if key not in self._key_index and self._suffix_keys is not None:
                bisect.insort(self._suffix_keys, key[::-1])
            self._key_index.setdefault(key, {})[row] = (name, share)
        self.aliases.add_all(mine_corpus_aliases(name for _, name, _ in caps))
        for t in f.tags:
            self._tags.setdefault(t, set()).add(row)
        return row, caps

    def _drop_row(self, row: int) -> None:
        f = self._firms[row]
        if f is None:
            return
        for key, _, _ in capability_products(f):
            d = self._key_index.get(key)
            if d is not None:
                d.pop(row, None)
                if not d:
                    del self._key_index[key]
        for t in f.tags:
            self._tags.get(t, set()).discard(row)
        self._firms.drop(row)
        del self._row_of[f.id]
        if self._attrs is not None and row < len(self._attrs.alive):
            self._attrs.alive[row] = False

    # =========================================================================== updates
    def upsert_firms(self, firms: Sequence[FirmDoc]) -> None:
        """Adds new firms and replaces existing ones (all their entries are re-indexed)."""
        if not firms:
            return
        latest: dict[str, FirmDoc] = {f.id: f for f in firms}
        old_rows = [self._row_of[i] for i in latest if i in self._row_of]
        self._remove_rows(old_rows)
        batch = EntryBatch()
        new_words: list[str] = []
        for f in latest.values():
            row, caps = self._new_row(f)
            batch.add_firm(f, row, caps)
            new_words.extend(name for _, name, _ in caps)
        if self.segmenter is not None:
            self.segmenter.add_words(new_words)
        rows, kinds, shares = batch.arrays()
        start = len(self._e_firm)
        self._e_firm = np.concatenate([self._e_firm, rows])
        self._e_kind = np.concatenate([self._e_kind, kinds])
        self._e_share = np.concatenate([self._e_share, shares])
        self._e_alive = np.concatenate([self._e_alive, np.ones(len(rows), dtype=bool)])
        self._e_text.extend(batch.texts)
        groups = (kinds == KIND_PROFILE).astype(np.int64) + 2 * (kinds == KIND_DESC)
        assert self.tfidf is not None and self.bm25 is not None
        self.tfidf.add(batch.texts, groups)
        self.bm25.add(batch.texts, groups)
        if self.dense is not None:
            self.dense.add(batch.texts, np.arange(start, start + len(rows), dtype=np.int64))
        self._touch()

    def remove_firms(self, firm_ids: Iterable[str]) -> None:
        rows = [self._row_of[i] for i in firm_ids if i in self._row_of]
        self._remove_rows(rows)
        self._touch()

    def _remove_rows(self, rows: list[int]) -> None:
        if not rows:
            return
        dead = np.flatnonzero(np.isin(self._e_firm, np.asarray(rows, dtype=np.int64)) & self._e_alive)
        self._e_alive[dead] = False
        if self.dense is not None:
            self.dense.remove(dead)
        for r in rows:
            self._drop_row(r)

    def _touch(self) -> None:
        self._understood.clear()
        self.manifest["n_firms"] = self.n_firms
        self.manifest["n_entries"] = int(self._e_alive.sum())
        self.manifest["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    # =========================================================================== accessors
    def get_firm(self, firm_id: str) -> FirmDoc | None:
        row = self._row_of.get(firm_id)
        return None if row is None else self._firms[row]

    @property
    def n_firms(self) -> int:
        return len(self._row_of)

    @property
    def n_entries(self) -> int:
        return int(self._e_alive.sum())

    def firms(self) -> Iterable[FirmDoc]:
        return (f for f in self._firms if f is not None)

    # =========================================================================== understanding
    def understand(self, text: str, description: str | None = None) -> Understanding:
        """How a weak-link text is read: the product it names and the rest (see
        :mod:`recommender.query`). Cheap; every answer carries it as ``understood_as``."""
        key = (text, description)
        cached = self._understood.get(key)
        if cached is None:
            if len(self._understood) >= 4096:
                self._understood.clear()
            cached = self._understood[key] = self._parser().parse(text, description)
        return cached

    def set_user_aliases(self, aliases: Iterable[Alias]) -> None:
        """Replaces the administrator-managed aliases (source ``user``); effective at once."""
        self.aliases.replace_source("user", [Alias(a.alias, a.canonical, "user") for a in aliases])
        self._understood.clear()

    def _parser(self) -> QueryParser:
        if self._query_parser is None:
            vocab = DictVocabulary(self._product_weight, self._product_display)
            self._query_parser = QueryParser(vocab, self.aliases)
        return self._query_parser

    def _product_weight(self, key: str) -> int:
        makers = self._key_index.get(key)
        if makers:
            return 2 + len(makers)
        return 1 if key in self.graph else 0

    def _product_display(self, key: str) -> str:
        makers = self._key_index.get(key)
        if makers:
            return next(iter(makers.values()))[0]
        return self.graph.name(key)

    def _equivalent_keys(self, key: str, synonyms: Sequence[str] = ()) -> list[str]:
        """Listed products that are the item by another name — aliases either way, names the
        user gave beside it (sCMOS相机 ≡ 科学级CMOS相机): matched as the product itself."""
        names = [*synonyms, *self.aliases.synonyms(key)]
        keys = dict.fromkeys(normalize_key(n) for n in names)
        return [k for k in keys if k != key and k in self._key_index]

    def _kinds_of(self, key: str, limit: int = 2000) -> list[str]:
        """Listed products whose name ends with ``key`` (and is longer): in Chinese the head of
        a compound comes last, so 电子级硫酸 and 注塑微流控芯片 are kinds of 硫酸 and 微流控芯片,
        whatever the product graph says."""
        if len(key) < 2:
            return []
        if self._suffix_keys is None:
            self._suffix_keys = sorted(k[::-1] for k in self._key_index)
        rev = key[::-1]
        out: list[str] = []
        keys = self._suffix_keys
        i = bisect.bisect_right(keys, rev)
        while i < len(keys) and keys[i].startswith(rev) and len(out) < limit:
            k = keys[i][::-1]
            if k in self._key_index:
                out.append(k)
            i += 1
        return out

    # =========================================================================== querying
    def _validate(self, query: MatchQuery) -> tuple[str, int]:
        text = normalize_text(query.text)
        if not text:
            raise errors.InvalidQuery("query text is empty / 查询的产品名称为空")
        if query.k < 1:
            raise errors.InvalidQuery(f"k must be >= 1, got {query.k}")
        if query.min_score is not None and not 0.0 <= query.min_score <= 1.0:
            raise errors.InvalidQuery(f"min_score must be in 0..1, got {query.min_score}")
        return text, min(query.k, self.config.max_k)

    def match(self, query: MatchQuery) -> list[FirmMatch]:
        """Top-k firms for ``query`` within ``query.scope`` of ``query.region``, filters applied."""
        _text, k = self._validate(query)
        if query.scope is not Scope.ALL and query.region is None:
            raise errors.RegionRequired(f"scope {query.scope.value!r} needs query.region")
        scores = self._score(query)
        mask = self._mask(query, query.scope)
        return self._rank(scores, mask, k, query, boost_smes=query.scope is Scope.INSIDE)

    def recommend(self, query: MatchQuery) -> tuple[list[FirmMatch], list[FirmMatch]]:
        """(investment_targets outside the region, local_suppliers inside it), k each."""
        _text, k = self._validate(query)
        if query.region is None:
            raise errors.RegionRequired("recommend() needs query.region / 需要指定本地区域")
        scores = self._score(query)
        outside = self._rank(scores, self._mask(query, Scope.OUTSIDE), k, query, boost_smes=False)
        inside = self._rank(scores, self._mask(query, Scope.INSIDE), k, query, boost_smes=True)
        return outside, inside

    # ----------------------------------------------------------------------------------
    def _firm_attrs(self) -> _FirmAttrs:
        """Columnar attributes, extended incrementally for rows added since the last call."""
        a = self._attrs
        start = 0 if a is None else len(a.alive)
        n = len(self._firms)
        if a is not None and start == n:
            return a
        codes: dict[str, int] = {} if a is None else a.codes
        m = n - start
        alive = np.zeros(m, dtype=bool)
        prov = np.full(m, -1, dtype=np.int32)
        city = np.full(m, -1, dtype=np.int32)
        china = np.zeros(m, dtype=bool)
        scale = np.full(m, -1, dtype=np.int32)
        boost = np.zeros(m, dtype=np.float32)
        for i in range(m):
            f = self._firms[start + i]
            if f is None:
                continue
            alive[i] = True
            if f.province:
                prov[i] = codes.setdefault("p:" + f.province, len(codes))
            if f.city:
                city[i] = codes.setdefault("c:" + f.city, len(codes))
            china[i] = f.country == "中国"
            scale[i] = codes.setdefault("s:" + f.scale, len(codes))
            boost[i] = 1.0 if is_specialised(f) else 0.5 if f.scale in SME_SCALES else 0.0
        if a is None:
            self._attrs = _FirmAttrs(alive, prov, city, china, scale, boost, codes)
        else:
            self._attrs = _FirmAttrs(
                np.concatenate([a.alive, alive]),
                np.concatenate([a.province, prov]),
                np.concatenate([a.city, city]),
                np.concatenate([a.china, china]),
                np.concatenate([a.scale, scale]),
                np.concatenate([a.boost, boost]),
                codes,
            )
        return self._attrs

    def _n_caps_array(self) -> np.ndarray:
        if self._n_caps_np is None or len(self._n_caps_np) != len(self._n_caps):
            self._n_caps_np = np.asarray(self._n_caps, dtype=np.float32)
        return self._n_caps_np

    def _mask(self, query: MatchQuery, scope: Scope) -> np.ndarray:
        a = self._firm_attrs()
        mask = a.alive.copy()
        if scope is not Scope.ALL and query.region is not None:
            inside = self._inside(query.region, a)
            mask &= inside if scope is Scope.INSIDE else ~inside
        flt: FirmFilter = query.filters
        if flt.provinces_include:
            codes = [a.codes.get("p:" + p, -2) for p in flt.provinces_include]
            mask &= np.isin(a.province, codes) & a.china
        if flt.provinces_exclude:
            codes = [a.codes.get("p:" + p, -2) for p in flt.provinces_exclude]
            mask &= ~(np.isin(a.province, codes) & a.china)
        if flt.scales:
            codes = [a.codes.get("s:" + s, -2) for s in flt.scales]
            mask &= np.isin(a.scale, codes)
        if flt.tags_any:
            tagged = np.zeros(len(mask), dtype=bool)
            for t in flt.tags_any:
                rows = self._tags.get(t)
                if rows:
                    tagged[list(rows)] = True
            mask &= tagged
        excluded = set(flt.exclude_firm_ids)
        if query.leader_firm_id:
            excluded.add(query.leader_firm_id)
        for fid in excluded:
            row = self._row_of.get(fid)
            if row is not None:
                mask[row] = False
        return mask

    @staticmethod
    def _inside(region: Region, a: _FirmAttrs) -> np.ndarray:
        pc = a.codes.get("p:" + region.province, -2)
        inside = a.china & (a.province == pc)
        if region.city is not None:
            inside &= a.city == a.codes.get("c:" + region.city, -2)
        return inside

    def _channel(self, name: str, text: str) -> ChannelArrays:
        n = len(self._firms)
        if name not in self.config.channels:
            return empty_channel(n)
        if name == "dense":
            if self.dense is None:
                return empty_channel(n)
            ids, vals = self.dense.search(text, self.config.candidate_pool * 2)
        else:
            index = self.tfidf if name == "tfidf" else self.bm25
            assert index is not None
            ids, vals = index.score(text, top=LEXICAL_TOP)
            if name == "bm25" and len(vals):
                vals = vals / max(index.self_score(text), 1e-6)
        if len(ids):
            keep = self._e_alive[ids]
            ids, vals = ids[keep], vals[keep].astype(np.float32)
        return aggregate_channel(ids, vals, self._e_firm, self._e_kind, self._e_share, n, KIND_PROFILE)

    def _graph_matches(
        self, text: str, for_product: str | None, synonyms: Sequence[str] = ()
    ) -> GraphMatches:
        gm = GraphMatches()
        key = normalize_key(text)
        equivalents = self._equivalent_keys(key, synonyms)
        gm.item_known = key in self.graph or key in self._key_index or bool(equivalents)
        if "graph" not in self.config.channels:
            return gm
        name = normalize_text(text)
        for k in (key, *equivalents):
            for row, (pname, share) in self._key_index.get(k, {}).items():
                gm.add(row, GraphMatch(pname, share, "exact", 0, (name,)))
        for k in self._kinds_of(key):
            for row, (pname, share) in self._key_index[k].items():
                gm.add(row, GraphMatch(pname, share, "kind", 1, (name, pname)))
        for e in self.graph.expand(key):
            for row, (pname, share) in self._key_index.get(e.key, {}).items():
                gm.add(row, GraphMatch(pname, share, e.via, e.depth, (name, *e.path[1:-1], pname)))
        if for_product:
            fkey = normalize_key(for_product)
            for mkey in self.graph.siblings_in(fkey):
                if mkey == key:
                    continue
                for row, (pname, share) in self._key_index.get(mkey, {}).items():
                    gm.add(row, GraphMatch(pname, share, "context", 1, ()))
        return gm

    def _score(self, query: MatchQuery) -> _QueryScores:
        """Channel scores for the product the query's text is understood to name; the rest of
        the text (qualifiers, end use, specs) is context, not a required term."""
        u = self.understand(query.text, query.description)
        text = u.product or normalize_text(query.text)
        full = text if not query.description else f"{text} {normalize_text(query.description)}"
        return _QueryScores(
            tfidf=self._channel("tfidf", text),
            bm25=self._channel("bm25", full),
            dense=self._channel("dense", text),
            graph=self._graph_matches(text, query.for_product or u.for_product, u.synonyms),
            item=text,
            understanding=u,
        )

    def _candidates(
        self, s: _QueryScores, mask: np.ndarray, *, with_sources: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Union of each channel's top ``candidate_pool`` firms and every graph match.

        With ``with_sources`` also a bit mask per candidate of the channels that nominated it
        (``CHANNEL_BITS``), used by the ablation benches.
        """
        pool = self.config.candidate_pool
        picked: list[np.ndarray] = []
        bits: list[int] = []
        for name, ch in (("tfidf", s.tfidf), ("bm25", s.bm25), ("dense", s.dense)):
            for arr in (ch.cap_w, ch.prof):
                m = np.where(mask, arr, 0.0)
                nz = np.count_nonzero(m)
                if nz == 0:
                    continue
                if nz <= pool:
                    picked.append(np.flatnonzero(m))
                else:
                    idx = np.argpartition(-m, pool)[:pool]
                    picked.append(idx[m[idx] > 0])
                bits.append(CHANNEL_BITS[name])
        g = [r for r in s.graph.by_row if mask[r] and any(m.via != "context" for m in s.graph.by_row[r])]
        if g:
            picked.append(np.asarray(g, dtype=np.int64))
            bits.append(CHANNEL_BITS["graph"])
        if not picked:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64) if with_sources else None
        rows = np.unique(np.concatenate(picked))
        if not with_sources:
            return rows, None
        src = np.zeros(len(rows), dtype=np.int64)
        for p, b in zip(picked, bits, strict=True):
            src[np.searchsorted(rows, p)] |= b
        return rows, src

    def query_features(
        self, query: MatchQuery, *, scope: Scope | None = None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Candidate firm ids, their feature matrix and the channels that nominated each
        (bits of ``CHANNEL_BITS``) — for training and benches."""
        self._validate(query)
        s = self._score(query)
        mask = self._mask(query, scope if scope is not None else query.scope)
        rows, src = self._candidates(s, mask, with_sources=True)
        assert src is not None
        X = self._features(rows, s)
        ids = [str(self._firms.id(int(r))) for r in rows]
        return ids, X, src

    def _features(self, rows: np.ndarray, s: _QueryScores) -> np.ndarray:
        u = s.understanding
        return feature_matrix(
            rows,
            s.tfidf,
            s.bm25,
            s.dense,
            s.graph,
            self._n_caps_array(),
            q_conf=u.confidence,
            q_guess=u.via in (VIA_HEAD, VIA_NONE),
        )

    def product_makers(self, product: str) -> dict[str, float | None]:
        """Firms listing ``product`` (same normalised key) with its revenue share."""
        rows = self._key_index.get(normalize_key(product), {})
        return {self._firms.id(r): share for r, (_, share) in rows.items()}  # type: ignore[misc]

    def _rank(
        self, s: _QueryScores, mask: np.ndarray, k: int, query: MatchQuery, *, boost_smes: bool
    ) -> list[FirmMatch]:
        rows, _ = self._candidates(s, mask)
        if not len(rows):
            return []
        X = self._features(rows, s)
        if not isinstance(self.ranker, FusionRanker):
            keep = prefilter(X, self.config.rerank_pool)
            rows, X = rows[keep], X[keep]
        score = np.clip(self.ranker.predict(X) / 2.0, 0.0, 1.0)
        floor = self.config.min_score if query.min_score is None else query.min_score
        guessed = False
        if floor > 0:
            relevant = score >= floor
            if not relevant.any() and s.understanding.low_confidence:
                # The text was not understood with confidence: its best candidates, flagged, tell
                # the user more than an empty list, which must keep meaning "nobody makes it".
                best = np.argsort(-score, kind="stable")[: min(k, LOW_CONFIDENCE_K)]
                relevant[best[score[best] > 0]] = True
                guessed = bool(relevant.any())
            rows, X, score = rows[relevant], X[relevant], score[relevant]
        final = score.copy()
        if boost_smes and self.config.sme_boost > 0:
            final += self.config.sme_boost * self._firm_attrs().boost[rows]
        order = np.lexsort((rows, -final))[:k]
        out: list[FirmMatch] = []
        for i in order.tolist():
            row = int(rows[i])
            firm = self._firms[row]
            assert firm is not None
            match = self._explain(firm, row, s, X[i], float(score[i]), query)
            match.low_confidence = guessed or s.understanding.low_confidence
            out.append(match)
        return out

    def _explain(
        self, firm: FirmDoc, row: int, s: _QueryScores, x: np.ndarray, score: float, query: MatchQuery
    ) -> FirmMatch:
        similar: list[tuple[str, float | None, float, str]] = []
        for ch, sim in ((s.tfidf, float(s.tfidf.cap[row])), (s.dense, float(s.dense.cap[row]))):
            e = int(ch.best_entry[row])
            if e >= 0 and sim >= 0.35:
                share = float(self._e_share[e])
                kind = KIND_NAMES[int(self._e_kind[e])]
                similar.append((self._e_text[e], None if np.isnan(share) else share, sim, kind))
        matched, reasons = explain(
            firm, s.item, s.graph.by_row.get(row, []), similar, query.region, query.for_product
        )
        channel_scores = {
            "tfidf": round(float(x[FIDX["tfidf_cap"]]), 4),
            "bm25": round(float(x[FIDX["bm25_cap"]]), 4),
            "dense": round(float(x[FIDX["dense_cap"]]), 4),
            "profile_tfidf": round(float(x[FIDX["tfidf_prof"]]), 4),
            "graph": float(
                1.0
                if x[FIDX["exact"]]
                else 0.75
                if x[FIDX["sub1"]]
                else 0.5
                if x[FIDX["sub2"]]
                else 0.25
                if x[FIDX["parent"]]
                else 0.0
            ),
            "ranker": round(score, 4),
        }
        return FirmMatch(
            firm=firm,
            score=round(score, 6),
            matched_products=matched,
            channel_scores=channel_scores,
            reasons=reasons,
        )

    # =========================================================================== persistence
    def save(self, directory: Path) -> None:
        """Atomically (temp dir + fsync + rename) writes the whole index with a manifest.json."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
        try:
            os.chmod(tmp, 0o755)
            with _INDEX_IO_LOCK:
                self._write(tmp)
            for p in tmp.rglob("*"):
                if p.is_file():
                    with open(p, "rb") as fh:
                        os.fsync(fh.fileno())
            old = None
            with _swap_lock(directory, exclusive=True):  # several worker processes save one index
                if directory.exists():
                    old = directory.parent / f".{directory.name}.old-{os.getpid()}-{time.time_ns()}"
                    os.rename(directory, old)
                os.rename(tmp, directory)
                _fsync_dir(directory.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _write(self, d: Path) -> None:
        with open(d / "firms.jsonl", "w", encoding="utf-8") as fh:
            for row in range(len(self._firms)):
                blob = self._firms.blob(row)
                fh.write("null\n" if blob is None else blob.decode("utf-8") + "\n")
        np.savez(
            d / "entries.npz", firm=self._e_firm, kind=self._e_kind, share=self._e_share, alive=self._e_alive
        )
        (d / "entry_texts.json").write_text(json.dumps(self._e_text, ensure_ascii=False), encoding="utf-8")
        (d / "graph.json").write_text(json.dumps(self.graph.to_state(), ensure_ascii=False), encoding="utf-8")
        for name, index in (("tfidf", self.tfidf), ("bm25", self.bm25)):
            assert index is not None
            index.save(d, name)
        assert self.segmenter is not None
        (d / "user_words.json").write_text(
            json.dumps(self.segmenter.user_words, ensure_ascii=False), encoding="utf-8"
        )
        if self.dense is not None:
            self.dense.save(d / "dense")
        manifest = dict(self.manifest)
        manifest.update(
            format=FORMAT_VERSION,
            n_firms=self.n_firms,
            n_entries=self.n_entries,
            n_rows=len(self._firms),
            n_entry_rows=len(self._e_firm),
            dense=self.dense is not None,
            saved_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        (d / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, config: EngineConfig) -> Recommender:
        directory = Path(directory)
        with _INDEX_IO_LOCK, _swap_lock(directory, exclusive=False):
            return cls._load(directory, config)

    @classmethod
    def _load(cls, directory: Path, config: EngineConfig) -> Recommender:
        mpath = directory / "manifest.json"
        if not mpath.is_file():
            raise errors.IndexNotFound(f"no index at {directory}")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                raise errors.IndexCorrupt(f"unsupported index format {manifest.get('format')!r}")
            self = cls(config)
            self.manifest = manifest
            with open(directory / "firms.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    d = json.loads(line)
                    if d is None:
                        self._firms.append(None)
                        self._n_caps.append(0)
                    else:
                        self._new_row(firm_from_json(d), line.rstrip("\n").encode("utf-8"))
            with np.load(directory / "entries.npz") as z:
                self._e_firm, self._e_kind = z["firm"], z["kind"]
                self._e_share, self._e_alive = z["share"], z["alive"]
            self._e_text = json.loads((directory / "entry_texts.json").read_text(encoding="utf-8"))
            self.graph = ProductGraph.from_state(json.loads((directory / "graph.json").read_text("utf-8")))
            self.segmenter = WordSegmenter(json.loads((directory / "user_words.json").read_text("utf-8")))
            lex: dict[str, SparseLexicalIndex] = {}
            for name, analyzer in (("tfidf", part_ngrams), ("bm25", self.segmenter.part)):
                lex[name] = SparseLexicalIndex.load(analyzer, directory, name)
            self.tfidf, self.bm25 = lex["tfidf"], lex["bm25"]
            n_entries = len(self._e_firm)
            if not (
                len(self._e_kind)
                == len(self._e_share)
                == len(self._e_alive)
                == len(self._e_text)
                == n_entries
                and self.tfidf.n_rows == n_entries
                and self.bm25.n_rows == n_entries
                and len(self._firms) == manifest.get("n_rows", len(self._firms))
            ):
                raise errors.IndexCorrupt("index files disagree in size")
            if manifest.get("dense"):
                from .dense import DenseChannel

                self.dense = DenseChannel.load(directory / "dense", config, self._e_text)
            return self
        except errors.RecommenderError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise errors.IndexCorrupt(f"cannot read index at {directory}: {exc}") from exc


@contextmanager
def _swap_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """An advisory lock (a file beside the index) held while the directory is swapped or read."""
    if not directory.parent.exists():
        yield
        return
    with open(directory.parent / f".{directory.name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["KIND_PRODUCT", "EngineConfig", "Recommender"]
