"""The HNSW index's delta segment: adds after the graph is built are searched exactly beside it."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from recommender import vector_index
from recommender.vector_index import FaissIndex, make_index

N_GRAPH, N_DELTA, DIM = 3000, 400, 16


def unit_vectors(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture()
def graph_and_delta() -> tuple[FaissIndex, np.ndarray, np.ndarray]:
    base, extra = unit_vectors(N_GRAPH, 0), unit_vectors(N_DELTA, 1)
    index = make_index(base, np.arange(N_GRAPH, dtype=np.int64), ann_threshold=1_000)
    assert index.kind == "hnsw" and index.n_delta == 0
    index.add(extra[:150], np.arange(N_GRAPH, N_GRAPH + 150, dtype=np.int64))
    index.add(extra[150:], np.arange(N_GRAPH + 150, N_GRAPH + N_DELTA, dtype=np.int64))
    return index, base, extra


def test_adds_go_to_the_delta_and_a_search_merges_it_exactly(
    graph_and_delta: tuple[FaissIndex, np.ndarray, np.ndarray],
) -> None:
    index, base, extra = graph_and_delta
    assert index.n_delta == N_DELTA and int(index.index.ntotal) == N_GRAPH
    assert index.ntotal == N_GRAPH + N_DELTA
    graph_only = make_index(base, np.arange(N_GRAPH, dtype=np.int64), ann_threshold=1_000)
    queries = np.concatenate([extra[:20], base[:20], unit_vectors(20, 2)])
    for q in queries:
        ids, sims = index.search(q, 25)
        assert len(ids) == 25 and np.all(np.diff(sims) <= 0)
        # the graph's part is what the graph alone answers; the delta's part is exact: every delta
        # vector at least as similar as the 25th hit is among the hits, with its exact similarity
        g_ids, g_sims = graph_only.search(q, 25)
        kept = set(ids.tolist())
        assert [i for i in ids.tolist() if i < N_GRAPH] == [i for i in g_ids.tolist() if i in kept]
        assert set(g_ids[g_sims > sims[-1] + 1e-6].tolist()) <= kept
        exact = extra @ q
        must = {N_GRAPH + i for i in np.flatnonzero(exact > sims[-1] + 1e-6).tolist()}
        assert must <= set(ids.tolist())
        for i, s in zip(ids.tolist(), sims.tolist(), strict=True):
            if i >= N_GRAPH:
                assert s == pytest.approx(float(exact[i - N_GRAPH]), abs=1e-5)
    for j in range(20):  # a delta vector finds itself first
        assert int(index.search(extra[j], 5)[0][0]) == N_GRAPH + j
    with pytest.raises(ValueError):
        index.add(extra[:1], np.array([N_GRAPH]))  # ids continue from ntotal, delta included


def test_search_many_answers_each_row_as_search_does_with_a_delta(
    graph_and_delta: tuple[FaissIndex, np.ndarray, np.ndarray],
) -> None:
    index, _base, extra = graph_and_delta
    queries = np.concatenate([extra[:15], unit_vectors(15, 3)])
    for q, (ids, sims) in zip(queries, index.search_many(queries, 30), strict=True):
        one_ids, one_sims = index.search(q, 30)
        assert ids.tolist() == one_ids.tolist() and sims.tolist() == one_sims.tolist()


def test_save_folds_the_delta_into_the_graph(
    graph_and_delta: tuple[FaissIndex, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    index, _base, extra = graph_and_delta
    index.save(tmp_path / "h.faiss")
    assert index.n_delta == 0 and int(index.index.ntotal) == N_GRAPH + N_DELTA
    loaded = FaissIndex.load(tmp_path / "h.faiss")
    assert isinstance(faiss.read_index(str(tmp_path / "h.faiss")), faiss.IndexHNSWSQ)  # the plain format
    # and every vector, graph's and delta's, in id order beside it for the exact scores
    saved = np.load(tmp_path / "h.vectors.npy")
    assert saved.dtype == np.float32 and np.array_equal(saved, np.concatenate([_base, extra]))
    assert loaded.kind == "hnsw" and loaded.ntotal == N_GRAPH + N_DELTA and loaded.n_delta == 0
    found = sum(int(loaded.search(extra[j], 3)[0][0]) == N_GRAPH + j for j in range(50))
    assert found >= 48  # now through the graph (approximate)


def test_a_mapped_graph_takes_adds_without_being_copied(tmp_path: Path) -> None:
    base, extra = unit_vectors(N_GRAPH, 0), unit_vectors(N_DELTA, 1)
    make_index(base, np.arange(N_GRAPH, dtype=np.int64), ann_threshold=1_000).save(tmp_path / "h.faiss")
    mapped = FaissIndex.load(tmp_path / "h.faiss")
    graph = mapped.index
    mapped.add(extra, np.arange(N_GRAPH, N_GRAPH + N_DELTA, dtype=np.int64))
    assert mapped.mapped and mapped.index is graph and mapped.n_delta == N_DELTA
    assert int(mapped.search(extra[7], 1)[0][0]) == N_GRAPH + 7
    mapped.fold()  # the write: now a copy in memory, the delta inside the graph
    assert not mapped.mapped and mapped.n_delta == 0 and mapped.ntotal == N_GRAPH + N_DELTA


def test_a_delta_past_its_bound_is_folded_on_add(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "DELTA_MAX", 100)
    base, extra = unit_vectors(N_GRAPH, 0), unit_vectors(N_DELTA, 1)
    index = make_index(base, np.arange(N_GRAPH, dtype=np.int64), ann_threshold=1_000)
    index.add(extra[:100], np.arange(N_GRAPH, N_GRAPH + 100, dtype=np.int64))
    assert index.n_delta == 100
    index.add(extra[100:101], np.array([N_GRAPH + 100]))
    assert index.n_delta == 0 and int(index.index.ntotal) == N_GRAPH + 101


def test_a_loaded_dense_channel_reuses_the_text_ids_of_texts_it_holds(tmp_path: Path) -> None:
    from recommender.corpus import FirmDoc, Product
    from recommender.engine import EngineConfig, Recommender

    def firm(fid: str, name: str, *products: str) -> FirmDoc:
        return FirmDoc(
            id=fid, name=name, province="江苏省", products=tuple(Product(p, 0.5) for p in products)
        )

    firms = [firm("A1", "中科真空", "分子泵", "真空计"), firm("A2", "北仪真空", "分子泵", "真空阀门")]
    built = Recommender.build(firms, [], EngineConfig(channels=("tfidf", "bm25", "dense", "graph")))
    built.save(tmp_path / "idx")
    loaded = Recommender.load(tmp_path / "idx", EngineConfig())
    for engine in (built, loaded):
        engine.upsert_firms([firm("N1", "新进企业", "真空阀门", "离心泵"), firm("A1", "中科真空", "真空计")])
    assert loaded.dense.text_ids == built.dense.text_ids
    # one new vector each for 离心泵 and the two new profiles; 真空阀门 and 真空计 are held already
    assert loaded.dense.n_texts == built.dense.n_texts == len(set(built.table.text)) == 8
    assert loaded.dense.index.ntotal == 8


def test_a_dense_channel_answers_a_text_again_from_memory_until_its_index_changes() -> None:
    """A sharded query asks a shard for its evidence, then its list: the second round finds the
    first round's hits, and an upsert (new texts, new vectors) makes the channel search again."""
    from recommender.corpus import FirmDoc, Product
    from recommender.engine import EngineConfig, Recommender

    def firm(fid: str, *products: str) -> FirmDoc:
        return FirmDoc(
            id=fid, name=f"企业{fid}", province="江苏省", products=tuple(Product(p, 0.5) for p in products)
        )

    engine = Recommender.build(
        [firm("A1", "分子泵", "真空计"), firm("A2", "真空阀门")],
        [],
        EngineConfig(channels=("tfidf", "dense")),
    )
    dense = engine.dense
    assert dense is not None
    first = dense.nearest(["真空阀门"], 10)[0]
    assert dense.nearest(["真空阀门"], 10)[0][0] is first[0]  # from memory
    assert dense.nearest_texts("真空阀门") == dense.nearest_texts("真空阀门")
    engine.upsert_firms([firm("N1", "真空阀门组件")])
    after = dense.nearest(["真空阀门"], 10)[0]
    assert after[0] is not first[0] and dense.text_ids["真空阀门组件"] in after[0].tolist()
