"""Training and cross-validation of the ranker on graded supply-gap queries.

Every gap is featurised under four *regimes*, so that one model learns to rank whatever the
product graph knows about the item:

* ``full`` — the gap as given, engine built with the relations;
* ``hidden`` — firms that list the item verbatim are removed from the corpus view (and from
  the qrels): only makers of narrower products remain relevant;
* ``nograph`` — engine built WITHOUT the relations (the static encoder does not see them
  either): an item the product graph does not know; only firms listing the item verbatim
  still give the exact-match feature;
* ``hidden_nograph`` — both;
* ``free`` / ``free_nograph`` — the same gaps written as people write them (a qualifier, the end
  use, a risk-list sentence, an alias, a spec with numbers: ``gaps_dev_freetext.jsonl``), asked as
  that text, with and without the relations. They share their item's group in cross-validation.

Cross-validation is :class:`~sklearn.model_selection.GroupKFold` grouped by the item's
normalised key: no item is in both a training and a test fold. Nothing is tuned per item.
The model is a scikit-learn ``HistGradientBoostingRegressor`` on the graded labels, exported to
plain arrays (:class:`~recommender.ranker.TreeRanker`), with provenance next to it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import CHANNEL_BITS
from .corpus import FirmDoc, FirmFilter, MatchQuery, Relation
from .evaluation import (
    QueryFeatures,
    evaluate,
    evaluate_served,
    ndcg_at,
    ranked_ids,
    recall_at,
    served_list,
)
from .features import FEATURE_NAMES, FIDX
from .ranker import RERANK_POOL, FusionRanker, TreeNodes, TreeRanker, prefilter
from .text import normalize_key

log = logging.getLogger(__name__)

REGIMES = ("full", "nograph", "hidden", "hidden_nograph", "free", "free_nograph")
DEFAULT_PARAMS: dict[str, Any] = {
    "max_iter": 300,
    "learning_rate": 0.08,
    "max_depth": 3,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "random_state": 0,
}
NEGATIVES_TOP = 150  # hardest negatives kept per query (by the fusion score)
NEGATIVES_RANDOM = 50
# The shipped score is (trees + PRIOR_WEIGHT * fusion) / (1 + PRIOR_WEIGHT): the smooth fusion
# breaks the trees' ties among weak candidates (+0.01 Recall@50 in CV without the graph).
PRIOR_WEIGHT = 0.3


CHANNEL_FEATURES: dict[str, tuple[str, ...]] = {
    "tfidf": ("tfidf_cap", "tfidf_cap_w", "tfidf_prof", "share_best"),
    "bm25": ("bm25_cap", "bm25_cap_w", "bm25_prof"),
    "dense": ("dense_cap", "dense_cap_w", "dense_prof"),
    # the name-head matches (kind) nominate candidates with the graph's bit, so they go with it
    "graph": (
        "exact",
        "exact_share",
        "sub1",
        "sub_share",
        "sub2",
        "parent",
        "ctx",
        "item_known",
        "graph_q",
        "kind",
        "kind_share",
    ),
}


def collect_features(
    rec: Any, gaps: Iterable[dict[str, Any]], *, hidden: bool, regime: str
) -> list[QueryFeatures]:
    """Featurise each gap with the engine ``rec``; ``hidden`` removes the firms that list the
    item verbatim from the corpus view and from the qrels (gaps left without qrels are skipped).

    A gap with a ``text`` (the free-text rewrites) is asked as that text — the engine reads it as
    it would a user's, without the leader product — and is still grouped by its item; lines
    marked ``junk`` are skipped."""
    out: list[QueryFeatures] = []
    for g in gaps:
        if g.get("junk"):
            continue
        item = g["item"]
        qrels_all = {str(k): int(v) for k, v in g["qrels"].items()}
        verbatim = set(rec.product_makers(item)) if hidden else set()
        qrels = {k: v for k, v in qrels_all.items() if k not in verbatim}
        if not qrels:
            continue
        free = bool(g.get("text"))
        q = MatchQuery(
            text=g["text"] if free else item,
            # A free-text rewrite is asked without the leader product: in chainkg every gap item is
            # an upstream material of it, so when a text is misread the true item's makers all
            # share the "context" feature, and a ranker trained so learns that making another
            # material of the leader product means making the item (it does not).
            for_product=None if free else g.get("leader_product"),
            leader_firm_id=g.get("leader_id"),
            filters=FirmFilter(exclude_firm_ids=frozenset(verbatim)),
            k=50,
        )
        ids, X, src = rec.query_features(q)
        y = np.fromiter((qrels.get(i, 0) for i in ids), dtype=np.float32, count=len(ids))
        style = g.get("style", "catalog")
        out.append(QueryFeatures(g["id"], normalize_key(item), regime, ids, X, y, qrels, src, style))
    return out


def collect_regimes(
    rec: Any,
    rec_nograph: Any | None,
    gaps: Sequence[dict[str, Any]],
    freetext: Sequence[dict[str, Any]] = (),
) -> list[QueryFeatures]:
    """The four regimes: ``rec`` for full / hidden, ``rec_nograph`` (built without relations)
    for nograph / hidden_nograph; with ``freetext`` (the gaps rewritten as people write them)
    also ``free`` and ``free_nograph``."""
    qfs = collect_features(rec, gaps, hidden=False, regime="full")
    qfs += collect_features(rec, gaps, hidden=True, regime="hidden")
    if rec_nograph is not None:
        qfs += collect_features(rec_nograph, gaps, hidden=False, regime="nograph")
        qfs += collect_features(rec_nograph, gaps, hidden=True, regime="hidden_nograph")
    if freetext:
        qfs += collect_features(rec, freetext, hidden=False, regime="free")
        if rec_nograph is not None:
            qfs += collect_features(rec_nograph, freetext, hidden=False, regime="free_nograph")
    return qfs


def without_channel(
    qfs: Sequence[QueryFeatures], channel: str
) -> tuple[list[QueryFeatures], tuple[str, ...]]:
    """The queries as the engine would see them without ``channel``: its candidates dropped,
    its features removed. Returns the queries and the remaining feature names."""
    bit = CHANNEL_BITS[channel]
    dropped = [FIDX[f] for f in CHANNEL_FEATURES[channel]]
    out = []
    for qf in qfs:
        keep = (qf.src & ~bit) != 0
        X = qf.X[keep].copy()
        X[:, dropped] = 0.0
        out.append(
            replace(
                qf,
                ids=[i for i, k in zip(qf.ids, keep, strict=True) if k],
                X=X,
                y=qf.y[keep],
                src=qf.src[keep] & ~bit,
            )
        )
    feats = tuple(f for f in FEATURE_NAMES if f not in CHANNEL_FEATURES[channel])
    return out, feats


# ------------------------------------------------------------------------------- training
def _training_rows(
    qfs: Sequence[QueryFeatures], features: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """All positives + the hardest and some random negatives of each query."""
    rng = np.random.default_rng(seed)
    fusion = FusionRanker()
    Xs, ys = [], []
    for qf in qfs:
        if not len(qf.ids):
            continue
        pos = np.flatnonzero(qf.y > 0)
        neg = np.flatnonzero(qf.y == 0)
        if len(neg) > NEGATIVES_TOP + NEGATIVES_RANDOM:
            s = fusion.predict(qf.X[neg])
            hard = neg[np.argsort(-s)[:NEGATIVES_TOP]]
            rest = np.setdiff1d(neg, hard)
            neg = np.concatenate([hard, rng.choice(rest, NEGATIVES_RANDOM, replace=False)])
        idx = np.concatenate([pos, neg])
        Xs.append(qf.X[idx][:, features])
        ys.append(qf.y[idx])
    return np.concatenate(Xs), np.concatenate(ys)


def fit_model(
    qfs: Sequence[QueryFeatures], params: dict[str, Any] | None = None, features: Sequence[str] | None = None
) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    cols = _feature_columns(features)
    X, y = _training_rows(qfs, cols)
    model = HistGradientBoostingRegressor(**{**DEFAULT_PARAMS, **(params or {})})
    model.fit(X, y)
    return model


def _feature_columns(features: Sequence[str] | None) -> np.ndarray:
    names = FEATURE_NAMES if features is None else tuple(features)
    return np.asarray([FIDX[n] for n in names], dtype=np.int64)


def to_tree_ranker(
    model: Any,
    features: Sequence[str] | None = None,
    provenance: dict[str, Any] | None = None,
    prior_weight: float | None = None,
) -> TreeRanker:
    """Export a fitted ``HistGradientBoostingRegressor`` to a :class:`TreeRanker`.

    A model trained on a feature subset is mapped back onto the full feature vector.
    """
    cols = _feature_columns(features)
    tree_nodes = TreeNodes()
    max_depth = 0
    for stage in model._predictors:
        nodes = stage[0].nodes
        tree_nodes.add(
            cols[nodes["feature_idx"]],
            nodes["num_threshold"],
            nodes["left"],
            nodes["right"],
            nodes["value"],
            nodes["is_leaf"].astype(bool),
        )
        max_depth = max(max_depth, int(nodes["depth"].max()))
    return tree_nodes.ranker(
        float(np.ravel(model._baseline_prediction)[0]),
        1.0,  # HistGradientBoosting leaf values already include the learning rate
        max_depth,
        provenance,
        PRIOR_WEIGHT if prior_weight is None else prior_weight,
    )


def cross_validate(
    qfs: Sequence[QueryFeatures],
    n_splits: int = 5,
    params: dict[str, Any] | None = None,
    features: Sequence[str] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[int, np.ndarray]]:
    """GroupKFold by item; returns per-regime metrics of out-of-fold predictions and them."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray([qf.group for qf in qfs])
    oof: dict[int, np.ndarray] = {}
    for train_idx, test_idx in GroupKFold(n_splits=n_splits).split(np.zeros(len(qfs)), groups=groups):
        train = [qfs[i] for i in train_idx]
        model = fit_model(train, params, features)
        ranker = to_tree_ranker(model, features)
        for i in test_idx:
            X = qfs[i].X
            pred = np.full(len(X), -np.inf, dtype=np.float32)
            keep = prefilter(X, RERANK_POOL)  # as the engine does
            pred[keep] = ranker.predict(X[keep])
            oof[int(i)] = pred
    index = {id(qf): i for i, qf in enumerate(qfs)}
    metrics = evaluate(qfs, lambda qf: oof[index[id(qf)]])
    return metrics, oof


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def train_ranker(
    firms: Iterable[FirmDoc],
    relations: Iterable[Relation],
    gaps: Iterable[dict[str, Any]],
    out_dir: Path,
    *,
    config: Any = None,
    params: dict[str, Any] | None = None,
    n_splits: int = 5,
    data_files: Sequence[Path] = (),
    rec: Any = None,
    rec_nograph: Any = None,
    freetext: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Build the engine, cross-validate (GroupKFold by item), fit on all gaps (and their
    free-text rewrites, ``freetext``, grouped with their item), write
    ``out_dir/ranker.npz`` + ``ranker.json`` (provenance, params, CV figures); returns the report.

    ``data_files``: the input files whose sha256 goes into the provenance. ``rec`` /
    ``rec_nograph``: engines already built over the same firms with / without the relations
    (skip the builds).
    """
    from .engine import EngineConfig, Recommender

    t0 = time.time()
    gaps = list(gaps)
    cfg = config or EngineConfig()
    firms = list(firms)
    if rec is None:
        rec = Recommender.build(firms, relations, replace(cfg, use_ranker=False))
    if rec_nograph is None:
        rec_nograph = Recommender.build(firms, [], replace(cfg, use_ranker=False))
    qfs = collect_regimes(rec, rec_nograph, gaps, freetext)
    metrics, oof = cross_validate(qfs, n_splits, params)
    served = evaluate_served(qfs, [oof[i] for i in range(len(qfs))], cfg.min_score)
    fusion_metrics = evaluate(qfs, lambda qf: FusionRanker().predict(qf.X))
    model = fit_model(qfs, params)
    import sklearn

    report: dict[str, Any] = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": "sklearn.ensemble.HistGradientBoostingRegressor (pointwise, graded labels)",
        "sklearn": sklearn.__version__,
        "params": {**DEFAULT_PARAMS, **(params or {})},
        "negatives": {"top_by_fusion": NEGATIVES_TOP, "random": NEGATIVES_RANDOM},
        "rerank_pool": RERANK_POOL,
        "prior_weight": PRIOR_WEIGHT,
        "regimes": list(REGIMES),
        "cv": {
            "scheme": f"GroupKFold(n_splits={n_splits}) grouped by item",
            "metrics": metrics,
            "served_with_floor": {"floor": cfg.min_score, "metrics": served},
        },
        "fusion_metrics": fusion_metrics,
        "n_gaps": len(gaps),
        "n_freetext": sum(1 for g in freetext if not g.get("junk")),
        "n_items": len({normalize_key(g["item"]) for g in gaps}),
        "n_queries": len(qfs),
        "engine": {
            "channels": list(cfg.channels),
            "encoder": cfg.encoder,
            "n_firms": rec.n_firms,
            "n_entries": rec.n_entries,
        },
        "data": {p.name: _sha256(p) for p in data_files},
        "seconds": None,
    }
    ranker = to_tree_ranker(model, provenance=report)
    out_dir.mkdir(parents=True, exist_ok=True)
    report["seconds"] = round(time.time() - t0, 1)
    ranker.provenance = report
    ranker.save(out_dir / "ranker.npz")
    log.info("trained ranker: CV %s", metrics)
    return report


__all__ = [
    "QueryFeatures",
    "collect_features",
    "collect_regimes",
    "cross_validate",
    "evaluate",
    "evaluate_served",
    "fit_model",
    "ndcg_at",
    "ranked_ids",
    "recall_at",
    "served_list",
    "to_tree_ranker",
    "train_ranker",
    "without_channel",
]
