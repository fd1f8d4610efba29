"""The shipped tree ranker scores the same by its leaf lookup table as by walking its trees, at and
around every split threshold, for float32 features (what the engine builds) and float64."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.features import N_FEATURES
from recommender.ranker import TreeRanker, load_ranker


@pytest.fixture(scope="module")
def ranker() -> TreeRanker:
    r = load_ranker(None)
    assert isinstance(r, TreeRanker) and r._lookup is not None
    return r


def _features(ranker: TreeRanker) -> np.ndarray:
    """Random rows, rows of 2-digit values (ties with round thresholds), and every finite threshold
    of the model with its float32 neighbours in every column."""
    rng = np.random.default_rng(0)
    thresholds = np.unique(ranker.threshold[ranker.feature >= 0]).astype(np.float32)
    near = np.concatenate(
        [np.nextafter(thresholds, np.float32(-1)), thresholds, np.nextafter(thresholds, np.float32(2))]
    )
    return np.concatenate(
        [
            rng.random((500, N_FEATURES), dtype=np.float32),
            np.round(rng.random((500, N_FEATURES)), 2).astype(np.float32),
            np.repeat(near[:, None], N_FEATURES, axis=1),
            rng.random((300, N_FEATURES), dtype=np.float32) * (rng.random((300, N_FEATURES)) > 0.6),
        ]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lookup_scores_equal_the_tree_walk(ranker: TreeRanker, dtype: type) -> None:
    X = _features(ranker).astype(dtype)
    lookup = ranker.predict_trees(X)
    assert np.array_equal(lookup, ranker._predict_perfect(X))
    assert np.array_equal(lookup, ranker._predict_walk(X))
    assert len(np.unique(lookup)) > 50  # the rows reach many different leaves


def test_lookup_handles_no_rows(ranker: TreeRanker) -> None:
    assert ranker.predict(np.zeros((0, N_FEATURES), dtype=np.float32)).shape == (0,)
