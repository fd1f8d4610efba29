"""From channel scores to a ranked, explained list: candidate pooling, features, the ranker, the
relevance floor, the SME bonus, the order and each match's explanation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CHANNEL_BITS, LOW_CONFIDENCE_K, EngineConfig
from .corpus import FirmDoc, FirmMatch, MatchQuery
from .entries import KIND_NAMES
from .entry_table import EntryTable
from .explain import explain
from .features import FIDX, ChannelArrays, GraphMatches, feature_matrix
from .filters import FirmFilters
from .ranker import FusionRanker, Ranker, prefilter
from .understanding import VIA_HEAD, VIA_NONE, Understanding


@dataclass
class QueryScores:
    tfidf: ChannelArrays
    bm25: ChannelArrays
    dense: ChannelArrays
    graph: GraphMatches
    item: str  # the product searched for (the understood product, else the text)
    understanding: Understanding


class MatchRanking:
    def __init__(self, table: EntryTable, filters: FirmFilters, config: EngineConfig, ranker: Ranker) -> None:
        self.table = table
        self.filters = filters
        self.config = config
        self.ranker = ranker

    def candidates(
        self, s: QueryScores, mask: np.ndarray, *, with_sources: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Union of each channel's top ``candidate_pool`` firms and every graph match.

        With ``with_sources`` also a bit mask per candidate of the channels that nominated it
        (``CHANNEL_BITS``), used by the ablation benches.
        """
        pool = self.config.candidate_pool
        picked: list[np.ndarray] = []
        bits: list[int] = []
        for name, ch in (("tfidf", s.tfidf), ("bm25", s.bm25), ("dense", s.dense)):
            for field in ("cap_w", "prof"):
                top = best_rows(getattr(ch, field), ch.nonzero_rows(field), mask, pool)
                if top is not None:
                    picked.append(top)
                    bits.append(CHANNEL_BITS[name])
        g = s.graph.nominated()
        g = g[mask[g]]
        if len(g):
            picked.append(g)
            bits.append(CHANNEL_BITS["graph"])
        if not picked:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64) if with_sources else None
        chosen = np.zeros(len(mask), dtype=bool)  # sorted distinct rows: a scatter, not np.unique's sort
        for p in picked:
            chosen[p] = True
        rows = np.flatnonzero(chosen)
        if not with_sources:
            return rows, None
        src = np.zeros(len(rows), dtype=np.int64)
        for p, b in zip(picked, bits, strict=True):
            src[np.searchsorted(rows, p)] |= b
        return rows, src

    def features(self, rows: np.ndarray, s: QueryScores, item_listed: bool | None = None) -> np.ndarray:
        u = s.understanding
        return feature_matrix(
            rows,
            s.tfidf,
            s.bm25,
            s.dense,
            s.graph,
            self.table.n_caps(),
            q_conf=u.confidence,
            q_guess=u.via in (VIA_HEAD, VIA_NONE),
            item_listed=item_listed,
        )

    def rank(
        self,
        s: QueryScores,
        mask: np.ndarray,
        k: int,
        query: MatchQuery,
        *,
        boost_smes: bool,
        item_listed: bool | None = None,
        firms: dict[int, FirmDoc] | None = None,
    ) -> list[FirmMatch]:
        """``firms``: firm rows already decoded (a batch's answers share them), added to."""
        rows, _ = self.candidates(s, mask)
        if not len(rows):
            return []
        X = self.features(rows, s, item_listed)
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
            final += self.config.sme_boost * self.filters.attrs().boost[rows]
        # Ties go to the earlier row (insertion order); see recommender.merge.
        order = np.lexsort((rows, -final))[:k]
        out: list[FirmMatch] = []
        for i in order.tolist():
            row = int(rows[i])
            firm = None if firms is None else firms.get(row)
            if firm is None:
                firm = self.table.firms[row]
                assert firm is not None
                if firms is not None:
                    firms[row] = firm
            match = self.explain(firm, row, s, X[i], float(score[i]), query)
            match.low_confidence = guessed or s.understanding.low_confidence
            match.relevance, match.rank_score, match.guessed = float(score[i]), float(final[i]), guessed
            out.append(match)
        return out

    def explain(
        self, firm: FirmDoc, row: int, s: QueryScores, x: np.ndarray, score: float, query: MatchQuery
    ) -> FirmMatch:
        t = self.table
        similar: list[tuple[str, float | None, float, str]] = []
        for ch, sim in ((s.tfidf, float(s.tfidf.cap[row])), (s.dense, float(s.dense.cap[row]))):
            e = int(ch.best_entry[row])
            if e >= 0 and sim >= 0.35:
                share = float(t.share[e])
                kind = KIND_NAMES[int(t.kind[e])]
                similar.append((t.text[e], None if np.isnan(share) else share, sim, kind))
        matched, reasons = explain(
            firm, s.item, s.graph.matches_of(row), similar, query.region, query.for_product
        )
        return FirmMatch(
            firm=firm,
            score=round(score, 6),
            matched_products=matched,
            channel_scores=channel_scores(x, score),
            reasons=reasons,
        )


def best_rows(arr: np.ndarray, nonzero: np.ndarray, mask: np.ndarray, pool: int) -> np.ndarray | None:
    """The rows of ``mask`` among the ``pool`` best of ``arr`` that score above 0 (None: no row
    scores), as ``np.argpartition`` picks them over the whole masked array. Read off the nonzero
    rows when that pick is unambiguous (no tie across the cut, no negative score): the same rows."""
    rows = nonzero[mask[nonzero]]
    if not len(rows):
        return None
    if len(rows) <= pool:
        return rows  # every nonzero row, ascending, as np.flatnonzero gives them
    values = arr[rows]
    if values.min() > 0:
        cut = -np.partition(-values, (pool - 1, pool))[pool - 1 : pool + 1]
        if cut[0] > cut[1]:  # no tie across the cut: the pool best are unambiguous
            return rows[values >= cut[0]]
    m = np.where(mask, arr, 0.0)
    idx = np.argpartition(-m, pool)[:pool]
    return idx[m[idx] > 0]


def channel_scores(x: np.ndarray, score: float) -> dict[str, float]:
    """The per-channel figures a match shows, from its feature row and its ranker score."""
    graph = (
        1.0 if x[FIDX["exact"]] else 0.75 if x[FIDX["sub1"]] else 0.5 if x[FIDX["sub2"]]
        else 0.25 if x[FIDX["parent"]] else 0.0
    )  # fmt: skip
    return {
        "tfidf": round(float(x[FIDX["tfidf_cap"]]), 4),
        "bm25": round(float(x[FIDX["bm25_cap"]]), 4),
        "dense": round(float(x[FIDX["dense_cap"]]), 4),
        "profile_tfidf": round(float(x[FIDX["tfidf_prof"]]), 4),
        "graph": float(graph),
        "ranker": round(score, 4),
    }
