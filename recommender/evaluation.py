"""Metrics of ranked lists against graded relevance: nDCG, recall, and the lists as the engine
serves them (relevance floor, low-confidence fallback) — for training and the benches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import LOW_CONFIDENCE_K
from .features import FIDX
from .understanding import LOW_CONFIDENCE


@dataclass
class QueryFeatures:
    gap_id: str
    group: str  # the item's normalised key
    regime: str
    ids: list[str]
    X: np.ndarray
    y: np.ndarray  # graded relevance of each candidate
    qrels: dict[str, int]  # all relevant firms of this regime (for recall / ideal DCG)
    src: np.ndarray  # channels that nominated each candidate (config.CHANNEL_BITS)
    style: str = "catalog"  # catalog (the item's name) or a free-text style (modifier, sentence …)


def ndcg_at(ranked: Sequence[str], qrels: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** qrels.get(f, 0) - 1) / math.log2(i + 2) for i, f in enumerate(ranked[:k]))
    ideal = sorted(qrels.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], qrels: dict[str, int], k: int = 50) -> float:
    rel = {f for f, g in qrels.items() if g > 0}
    return len(rel.intersection(ranked[:k])) / len(rel) if rel else 0.0


def ranked_ids(qf: QueryFeatures, scores: np.ndarray) -> list[str]:
    order = np.lexsort((np.arange(len(scores)), -scores))
    return [qf.ids[i] for i in order]


def evaluate(qfs: Sequence[QueryFeatures], score_fn: Any) -> dict[str, dict[str, float]]:
    """{regime: {"ndcg@10", "recall@50", "n"}} for a scoring function X -> scores."""
    acc: dict[str, list[tuple[float, float]]] = {}
    for qf in qfs:
        r = ranked_ids(qf, score_fn(qf)) if len(qf.ids) else []
        acc.setdefault(qf.regime, []).append((ndcg_at(r, qf.qrels), recall_at(r, qf.qrels)))
    return {
        reg: {
            "ndcg@10": float(np.mean([a for a, _ in v])),
            "recall@50": float(np.mean([b for _, b in v])),
            "n": len(v),
        }
        for reg, v in acc.items()
    }


def served_list(qf: QueryFeatures, pred: np.ndarray, floor: float, k: int) -> tuple[list[str], bool]:
    """The list the engine serves from raw ranker predictions: grade / 2 clipped to 0..1, the
    relevance floor, and for a low-confidence reading that the floor would empty, its best few
    (see ``MatchRanking.rank``). Returns the ids and whether the list was flagged low-confidence."""
    if not len(qf.ids):
        return [], False
    finite = np.isfinite(pred)
    score = np.where(finite, np.clip(pred / 2.0, 0.0, 1.0), -1.0)
    order = np.lexsort((np.arange(len(score)), -score))
    order = order[finite[order]]
    kept = order[score[order] >= floor] if floor > 0 else order
    if not len(kept) and floor > 0 and float(qf.X[0, FIDX["q_conf"]]) < LOW_CONFIDENCE:
        best = order[: min(k, LOW_CONFIDENCE_K)]
        return [qf.ids[i] for i in best if score[i] > 0], True
    return [qf.ids[i] for i in kept[:k]], False


def evaluate_served(
    qfs: Sequence[QueryFeatures], preds: Sequence[np.ndarray], floor: float, *, by: str = "regime"
) -> dict[str, dict[str, float]]:
    """nDCG@10, Recall@50 and the share of empty lists of the lists as served (floor applied),
    grouped by ``regime`` or ``style``."""
    acc: dict[str, list[tuple[float, float, bool]]] = {}
    for qf, pred in zip(qfs, preds, strict=True):
        top10, _ = served_list(qf, pred, floor, 10)
        top50, _ = served_list(qf, pred, floor, 50)
        key = qf.regime if by == "regime" else qf.style
        acc.setdefault(key, []).append((ndcg_at(top10, qf.qrels), recall_at(top50, qf.qrels), not top10))
    return {
        key: {
            "ndcg@10": float(np.mean([a for a, _, _ in v])),
            "recall@50": float(np.mean([b for _, b, _ in v])),
            "empty": float(np.mean([e for _, _, e in v])),
            "n": len(v),
        }
        for key, v in acc.items()
    }
