"""The HNSW graph walked over 8-bit codes, its hits scored exactly against float32 vectors kept on disk."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from recommender.exact_vectors import ExactVectors, vectors_path
from recommender.vector_index import FaissIndex, make_index

N, DIM = 4000, 24


def unit_vectors(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return unit_vectors(N, 0)


def test_hits_carry_exact_similarities_and_recall_matches_a_float_graph(vectors: np.ndarray) -> None:
    seq = np.arange(N, dtype=np.int64)
    quantized = make_index(vectors, seq, ann_threshold=1_000)
    assert quantized.kind == "hnsw" and isinstance(quantized.index, faiss.IndexHNSWSQ)
    float_graph = FaissIndex.hnsw(DIM, quantized=False)
    float_graph.add(vectors, seq)
    exact = make_index(vectors, seq, ann_threshold=10_000)
    recall = {"sq": 0, "float": 0}
    for q in unit_vectors(60, 1):
        ids, sims = quantized.search(q, 50)
        assert len(ids) == 50
        np.testing.assert_allclose(sims, vectors[ids] @ q, rtol=0, atol=1e-6)  # not the codes' estimate
        assert np.all(np.diff(sims) <= 0)
        truth = set(exact.search(q, 10)[0].tolist())
        recall["sq"] += len(truth & set(ids[:10].tolist()))
        recall["float"] += len(truth & set(float_graph.search(q, 50)[0][:10].tolist()))
    assert recall["sq"] >= recall["float"] - 6  # within 1% of 600
    assert recall["sq"] / 600 >= 0.95


def test_a_saved_graph_keeps_its_vectors_on_disk_and_answers_as_built(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    built = make_index(vectors, np.arange(N, dtype=np.int64), ann_threshold=1_000)
    built.save(tmp_path / "g.faiss")
    assert np.array_equal(np.load(vectors_path(tmp_path / "g.faiss")), vectors)
    loaded = FaissIndex.load(tmp_path / "g.faiss")
    assert loaded.mapped and loaded.exact is not None and loaded.exact.n_file == N
    queries = unit_vectors(30, 2)
    for q, (ids, sims) in zip(queries, loaded.search_many(queries, 40), strict=True):
        b_ids, b_sims = built.search(q, 40)
        assert ids.tolist() == b_ids.tolist() and sims.tolist() == b_sims.tolist()
    # read through the page cache, never mapped into the process
    assert "g.vectors.npy" not in Path("/proc/self/maps").read_text()


def test_adds_after_a_load_are_scored_from_memory_and_saved_whole(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    make_index(vectors[:3000], np.arange(3000, dtype=np.int64), ann_threshold=1_000).save(
        tmp_path / "a.faiss"
    )
    loaded = FaissIndex.load(tmp_path / "a.faiss")
    loaded.add(vectors[3000:], np.arange(3000, N, dtype=np.int64))  # the delta segment
    loaded.fold()  # into the graph: their float32 rows now in the store's memory tail
    assert loaded.n_delta == 0 and loaded.exact is not None and loaded.exact.n_tail == N - 3000
    for j in (3000, 3500, 3999, 5):
        ids, sims = loaded.search(vectors[j], 5)
        assert int(ids[0]) == j and sims[0] == pytest.approx(1.0, abs=1e-5)
    loaded.save(tmp_path / "b.faiss")
    assert np.array_equal(np.load(tmp_path / "b.vectors.npy"), vectors)
    again = FaissIndex.load(tmp_path / "b.faiss")
    assert again.ntotal == N and again.exact is not None and again.exact.n_file == N


def test_rows_come_in_the_order_asked_from_file_and_memory(vectors: np.ndarray, tmp_path: Path) -> None:
    store = ExactVectors(DIM)
    store.append(vectors[:100])
    store.save(tmp_path / "v.npy")
    mixed = ExactVectors(DIM, path=tmp_path / "v.npy")
    mixed.append(vectors[100:130])
    mixed.append(vectors[130:150])
    ids = np.array([149, 0, 120, 99, 100, 3, 149, 57])
    assert np.array_equal(mixed.rows(ids), vectors[ids])
    assert len(mixed) == 150 and mixed.rows(np.zeros(0, dtype=np.int64)).shape == (0, DIM)


def test_a_graph_whose_vectors_are_missing_or_short_does_not_load(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    make_index(vectors, np.arange(N, dtype=np.int64), ann_threshold=1_000).save(tmp_path / "g.faiss")
    side = vectors_path(tmp_path / "g.faiss")
    raw = side.read_bytes()
    side.write_bytes(raw[:-4])
    with pytest.raises(ValueError, match="truncated"):
        FaissIndex.load(tmp_path / "g.faiss")
    side.unlink()
    with pytest.raises(FileNotFoundError):
        FaissIndex.load(tmp_path / "g.faiss")
    np.save(side, vectors[:10])
    with pytest.raises(ValueError, match="vectors in the graph"):
        FaissIndex.load(tmp_path / "g.faiss")


def test_a_float_graph_saved_before_still_loads_and_answers_as_saved(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    old = FaissIndex.hnsw(DIM, quantized=False)
    old.add(vectors, np.arange(N, dtype=np.int64))
    old.save(tmp_path / "old.faiss")
    assert not vectors_path(tmp_path / "old.faiss").exists()
    loaded = FaissIndex.load(tmp_path / "old.faiss")
    assert loaded.kind == "hnsw" and loaded.exact is None and isinstance(loaded.index, faiss.IndexHNSWFlat)
    for q in unit_vectors(10, 3):
        assert loaded.search(q, 10)[0].tolist() == old.search(q, 10)[0].tolist()
