"""Rankers turning the feature matrix into one score per candidate firm.

* :class:`TreeRanker` — a gradient-boosted tree ensemble trained by
  :func:`recommender.training.train_ranker` (scikit-learn), exported to plain arrays (npz + a JSON
  provenance file) and evaluated here with numpy: no pickle, no scikit-learn at query time.
* :class:`FusionRanker` — the documented fallback when no trained model is present: a fixed
  linear fusion of the channel similarities and the exact / hierarchy features.

Both output a relevance estimate on the qrels' grade scale (0 = unrelated, 1 = makes a related
or narrower product, 2 = makes the item as a main product); the engine reports it divided by 2
and clipped to [0, 1].
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from .features import FEATURE_NAMES, FIDX, N_FEATURES


class Ranker(Protocol):
    name: str

    def predict(self, X: np.ndarray) -> np.ndarray: ...


# Fallback fusion weights (grade scale). Chosen by reasoning about the task, then checked once
# on the dev gaps as a whole (bench/quality.py prints its figures); never fitted per item.
FUSION_WEIGHTS: dict[str, float] = {
    "tfidf_cap_w": 0.55,
    "tfidf_cap": 0.25,
    "bm25_cap": 0.20,
    "tfidf_prof": 0.10,
    "bm25_prof": 0.10,
    "dense_cap_w": 0.25,
    "dense_prof": 0.05,
    "exact": 0.80,
    "exact_share": 0.60,
    "sub1": 0.55,
    "sub_share": 0.10,
    "sub2": 0.20,
    "kind": 0.45,
    "kind_share": 0.10,
    "parent": 0.05,
    "ctx": 0.02,
}


RERANK_POOL = 200  # candidates the trained model scores, the fusion's best (see prefilter)


def prefilter(X: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` candidates the fusion scores best (all when there are fewer).

    The trained model is applied to these only: it bounds query latency at large scale, and the
    fusion's top 200 hold every relevant firm of the dev gaps (bench/quality.py applies the same cut).
    """
    if len(X) <= n:
        return np.arange(len(X))
    prior = FusionRanker().predict(X)
    return np.sort(np.argpartition(-prior, n)[:n])


class FusionRanker:
    name = "fusion"

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        w = FUSION_WEIGHTS if weights is None else weights
        self.weights = dict(w)
        self.vector = np.zeros(N_FEATURES, dtype=np.float32)
        for k, v in w.items():
            self.vector[FIDX[k]] = v

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X @ self.vector, dtype=np.float32)


class TreeNodes:
    """The flat node arrays of an ensemble, gathered tree by tree: each tree's child ids are offset
    by the nodes before it, and a leaf has feature -1 and children 0 (what :class:`TreeRanker` walks)."""

    def __init__(self) -> None:
        self.feature: list[np.ndarray] = []
        self.threshold: list[np.ndarray] = []
        self.left: list[np.ndarray] = []
        self.right: list[np.ndarray] = []
        self.value: list[np.ndarray] = []
        self.roots: list[int] = []
        self.offset = 0

    def add(
        self,
        feature: np.ndarray,
        threshold: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        value: np.ndarray,
        is_leaf: np.ndarray,
    ) -> None:
        self.roots.append(self.offset)
        self.feature.append(np.where(is_leaf, -1, feature))
        self.threshold.append(threshold)
        self.left.append(np.where(is_leaf, 0, left.astype(np.int64) + self.offset))
        self.right.append(np.where(is_leaf, 0, right.astype(np.int64) + self.offset))
        self.value.append(value)
        self.offset += len(threshold)

    def ranker(
        self,
        init: float,
        learning_rate: float,
        max_depth: int,
        provenance: dict[str, object] | None,
        prior_weight: float = 0.0,
    ) -> TreeRanker:
        return TreeRanker(
            np.concatenate(self.feature),
            np.concatenate(self.threshold),
            np.concatenate(self.left),
            np.concatenate(self.right),
            np.concatenate(self.value),
            np.asarray(self.roots),
            init,
            learning_rate,
            max_depth,
            FEATURE_NAMES,
            provenance,
            prior_weight,
        )


class TreeRanker:
    """Additive tree ensemble: ``init + lr * sum(tree(x))``, trees stored as flat node arrays."""

    name = "trained"

    def __init__(
        self,
        feature: np.ndarray,
        threshold: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        value: np.ndarray,
        roots: np.ndarray,
        init: float,
        learning_rate: float,
        max_depth: int,
        feature_names: tuple[str, ...],
        provenance: dict[str, object] | None = None,
        prior_weight: float = 0.0,
    ) -> None:
        if tuple(feature_names) != FEATURE_NAMES:
            raise ValueError("ranker was trained on other features; retrain it")
        self.feature = feature.astype(np.int64)
        self.threshold = threshold.astype(np.float64)
        self.left = left.astype(np.int64)
        self.right = right.astype(np.int64)
        self.value = value.astype(np.float64)
        self.roots = roots.astype(np.int64)
        self.init = float(init)
        self.learning_rate = float(learning_rate)
        self.max_depth = int(max_depth)
        self.provenance = provenance or {}
        self.prior_weight = float(prior_weight)
        self._fusion = FusionRanker()
        self._perfect = self._to_perfect() if self.max_depth <= 8 else None
        self._lookup = self._to_lookup() if self._perfect is not None and self.max_depth <= 3 else None
        self._table_rows = np.arange(len(self.roots))[:, None] * 2 ** (2 ** max(self.max_depth, 1) - 1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(trees(X) + w · fusion(X)) / (1 + w)``: the fusion prior (w = ``prior_weight``)
        breaks the ties of the piecewise-constant trees among weaker candidates."""
        raw = self.predict_trees(X)
        if self.prior_weight:
            raw = (raw + self.prior_weight * self._fusion.predict(X)) / (1.0 + self.prior_weight)
        return raw.astype(np.float32)

    def _to_perfect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pad every tree to a perfect binary tree of depth ``max_depth`` (a leaf met early
        always goes left and its value fills its subtree's leaves): evaluation is then
        ``max_depth`` vectorised steps with no leaf bookkeeping."""
        D = max(self.max_depth, 1)
        n_trees = len(self.roots)
        F = np.zeros((n_trees, 2**D - 1), dtype=np.int64)
        TH = np.full((n_trees, 2**D - 1), np.inf)
        V = np.zeros((n_trees, 2**D))
        for t, root in enumerate(self.roots.tolist()):
            stack = [(root, 0, 0)]  # (node, level, position within level)
            while stack:
                node, level, pos = stack.pop()
                if self.feature[node] < 0:  # leaf
                    span = 2 ** (D - level)
                    V[t, pos * span : (pos + 1) * span] = self.value[node]
                    continue
                slot = 2**level - 1 + pos
                F[t, slot] = self.feature[node]
                TH[t, slot] = self.threshold[node]
                stack.append((int(self.left[node]), level + 1, 2 * pos))
                stack.append((int(self.right[node]), level + 1, 2 * pos + 1))
        return F, TH, V

    def _to_lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For trees of depth <= 3 (7 splits each): the distinct (feature, threshold) splits, the
        thresholds also as the largest float32 not above them (``x > t`` <=> ``x > down(t)`` for a
        float32 ``x``), each tree's splits as indices into them, and a table from the 7 split
        outcomes of a tree (bit j: split slot j goes right) to the value of the leaf they reach."""
        assert self._perfect is not None
        F, TH, V = self._perfect
        n_trees, n_slots = F.shape
        pairs, index = np.unique(np.stack([F.ravel(), TH.ravel()]), axis=1, return_inverse=True)
        features, thresholds = pairs[0].astype(np.int64), pairs[1]
        down = thresholds.astype(np.float32)
        down = np.where(down.astype(np.float64) > thresholds, np.nextafter(down, np.float32(-np.inf)), down)
        codes = np.arange(2**n_slots)
        leaf = np.zeros_like(codes)
        for level in range(max(self.max_depth, 1)):  # _predict_perfect's walk, on every code
            leaf = 2 * leaf + ((codes >> (leaf + 2**level - 1)) & 1)
        table = np.ascontiguousarray(V[:, leaf])  # (ravelled at every call: no copy)
        return features, thresholds, down, index.reshape(n_trees, n_slots), table

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        if self._lookup is not None and X.shape[0]:
            return self._predict_lookup(X)
        return self._predict_perfect(X)

    def _predict_lookup(self, X: np.ndarray) -> np.ndarray:
        """:meth:`_predict_perfect`'s values (the same leaves, summed in the same order): each
        distinct split compared once, a tree's outcomes packed in a byte, its leaf read off a table."""
        assert self._lookup is not None
        features, thresholds, down, slots, table = self._lookup
        if X.dtype == np.float32:
            went_right = np.ascontiguousarray(X.T)[features] > down[:, None]
        else:
            went_right = np.ascontiguousarray(X.T, dtype=np.float64)[features] > thresholds[:, None]
        bits = went_right.view(np.uint8)  # (bytes: a (trees, n) code costs 1/8 of an intp one)
        code = bits[slots[:, 0]]
        for j in range(1, slots.shape[1]):
            code |= bits[slots[:, j]] << j
        leaf_values = table.ravel()[code + self._table_rows]
        return (self.init + self.learning_rate * leaf_values.sum(axis=0)).astype(np.float32)

    def _predict_perfect(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        if self._perfect is not None and n:
            F, TH, V = self._perfect
            n_trees, n_slots = F.shape
            XT = np.ascontiguousarray(X.T, dtype=np.float64)
            # every split of every tree evaluated at once: (trees, slots, n) booleans
            B = (XT[F.ravel()] > TH.ravel()[:, None]).reshape(n_trees, n_slots, n)
            idx = np.zeros((n_trees, 1, n), dtype=np.int64)
            for level in range(max(self.max_depth, 1)):
                bit = np.take_along_axis(B, idx + (2**level - 1), axis=1)
                idx = 2 * idx + bit
            leaf_values = np.take_along_axis(V[:, :, None], idx, axis=1)[:, 0, :]
            return (self.init + self.learning_rate * leaf_values.sum(axis=0)).astype(np.float32)
        return self._predict_walk(X)

    def _predict_walk(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        Xd = X.astype(np.float64)
        node = np.repeat(self.roots[:, None], n, axis=1)  # (n_trees, n)
        cols = np.arange(n)[None, :]
        for _ in range(self.max_depth + 1):
            f = self.feature[node]
            leaf = f < 0
            if leaf.all():
                break
            x = Xd[cols, np.where(leaf, 0, f)]
            go_left = x <= self.threshold[node]
            nxt = np.where(go_left, self.left[node], self.right[node])
            node = np.where(leaf, node, nxt)
        out = self.init + self.learning_rate * self.value[node].sum(axis=0)
        return out.astype(np.float32)

    # ------------------------------------------------------------------ (de)serialisation
    @classmethod
    def from_sklearn(cls, model: object, provenance: dict[str, object] | None = None) -> TreeRanker:
        """From a fitted ``sklearn.ensemble.GradientBoostingRegressor`` (squared error)."""
        nodes = TreeNodes()
        for est in model.estimators_[:, 0]:  # type: ignore[attr-defined]
            t = est.tree_
            nodes.add(
                t.feature,
                t.threshold,
                t.children_left,
                t.children_right,
                t.value[:, 0, 0],
                t.children_left < 0,
            )
        return nodes.ranker(
            float(np.ravel(model.init_.constant_)[0]),  # type: ignore[attr-defined]
            float(model.learning_rate),  # type: ignore[attr-defined]
            int(model.max_depth),  # type: ignore[attr-defined]
            provenance,
        )

    def save(self, path: Path) -> None:
        """Writes ``path`` (.npz) and ``path`` with suffix ``.json`` (provenance, feature names)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            feature=self.feature.astype(np.int32),
            threshold=self.threshold,
            left=self.left.astype(np.int32),
            right=self.right.astype(np.int32),
            value=self.value,
            roots=self.roots.astype(np.int32),
        )
        meta = {
            "kind": "gradient_boosted_trees",
            "init": self.init,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "feature_names": list(FEATURE_NAMES),
            "prior_weight": self.prior_weight,
            "provenance": self.provenance,
        }
        path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TreeRanker:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(
            arrays["feature"],
            arrays["threshold"],
            arrays["left"],
            arrays["right"],
            arrays["value"],
            arrays["roots"],
            meta["init"],
            meta["learning_rate"],
            meta["max_depth"],
            tuple(meta["feature_names"]),
            meta.get("provenance"),
            float(meta.get("prior_weight", 0.0)),
        )


DEFAULT_RANKER_PATH = Path(__file__).resolve().parent / "artifacts" / "ranker.npz"


def load_ranker(path: Path | None) -> Ranker:
    """The trained model at ``path`` (or the shipped artifact); the fusion when none / stale."""
    import logging

    log = logging.getLogger(__name__)
    target = path if path is not None else DEFAULT_RANKER_PATH
    if target.exists() and target.with_suffix(".json").exists():
        try:
            return TreeRanker.load(target)
        except (ValueError, KeyError, OSError) as exc:
            log.warning("ranker at %s unusable (%s); using the fusion fallback", target, exc)
    elif path is not None:
        log.warning("ranker %s not found; using the fusion fallback", path)
    return FusionRanker()
