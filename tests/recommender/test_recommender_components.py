"""Unit behaviour of the engine's parts: lexical index, graph, vector index, encoder, ranker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.corpus import Relation, RelationKind
from recommender.encoders import fit_static_encoder, load_encoder
from recommender.features import FEATURE_NAMES, FIDX, N_FEATURES
from recommender.graph import ProductGraph
from recommender.lexical import SparseLexicalIndex
from recommender.ranker import FusionRanker, TreeRanker, load_ranker, prefilter
from recommender.segmenter import WordSegmenter
from recommender.sortedkeys import SortedKeys
from recommender.text import char_ngrams, part_ngrams
from recommender.textcolumn import TextColumn
from recommender.vector_index import FaissIndex, make_index

TEXTS = [
    "分子泵",
    "涡轮分子泵",
    "真空泵",
    "离心泵",
    "纸包装容器",
    "电容器",
    "中科真空 通用设备 分子泵 真空计",
]
GROUPS = np.array([0, 0, 0, 0, 0, 0, 1])


def test_char_ngrams_never_span_parts_and_keep_latin_runs() -> None:
    assert char_ngrams("IGBT 模块") == ["i", "g", "b", "t", "ig", "gb", "bt", "igbt", "模", "块", "模块"]
    assert "t模" not in char_ngrams("IGBT 模块")


def test_word_segmenter_uses_the_user_dictionary() -> None:
    seg = WordSegmenter(["涡轮分子泵"])
    toks = seg("涡轮分子泵 MLCC")
    assert "涡轮分子泵" in toks and "分子" in toks and "mlcc" in toks


def test_tfidf_scores_are_cosines_with_exact_match_first() -> None:
    idx = SparseLexicalIndex(part_ngrams, "tfidf")
    idx.fit(TEXTS, GROUPS)
    rows, vals = idx.score("分子泵")
    best = dict(zip(rows.tolist(), vals.tolist(), strict=True))
    assert best[0] == pytest.approx(1.0, abs=1e-5)
    assert best[0] > best[1] > best[2] > 0  # 涡轮分子泵 shares more than 真空泵
    assert 4 not in best and 5 not in best  # nothing in common
    rows, _ = idx.score("分子泵", top=2)
    assert len(rows) == 2


def test_bm25_add_grows_vocabulary_and_rows() -> None:
    seg = WordSegmenter(["分子泵"])
    idx = SparseLexicalIndex(seg.part, "bm25")
    idx.fit(TEXTS, GROUPS)
    assert idx.score("石墨电极")[0].size == 0
    idx.add(["石墨电极"], np.array([0]))
    rows, vals = idx.score("石墨电极")
    assert rows.tolist() == [len(TEXTS)] and vals[0] > 0
    assert idx.self_score("石墨电极") >= vals[0]
    arrays, meta = idx.state()
    again = SparseLexicalIndex.from_state(seg.part, arrays, meta)
    r2, v2 = again.score("分子泵")
    r1, v1 = idx.score("分子泵")
    assert dict(zip(r1.tolist(), v1.tolist(), strict=True)) == pytest.approx(
        dict(zip(r2.tolist(), v2.tolist(), strict=True))
    )


def test_a_stream_of_small_adds_keeps_few_deltas_and_the_same_scores() -> None:
    names = ["涡轮分子泵", "离子源", "光电倍增管", "高纯石英", "精密轴承", "射频线圈"]
    streamed = SparseLexicalIndex(part_ngrams, "tfidf")
    once = SparseLexicalIndex(part_ngrams, "tfidf")
    streamed.fit(names, np.zeros(len(names), dtype=np.int64))
    once.fit(names, np.zeros(len(names), dtype=np.int64))
    added = [f"{n}{i}号" for i in range(30) for n in names[:2]]
    for start in range(0, len(added), 2):  # 30 ingests of two entries each
        streamed.add(added[start : start + 2], np.zeros(2, dtype=np.int64))
    for start in range(0, len(added), 2):
        once.add(added[start : start + 2], np.zeros(2, dtype=np.int64))
        once._merge_deltas()  # reference: everything in the base
    assert len(streamed.deltas) <= 8 and streamed.n_rows == len(names) + len(added)
    for query in ("分子泵17号", "离子源", "石英"):
        rows_s, vals_s = streamed.score(query)
        rows_o, vals_o = once.score(query)
        assert dict(zip(rows_s.tolist(), vals_s.tolist(), strict=True)) == pytest.approx(
            dict(zip(rows_o.tolist(), vals_o.tolist(), strict=True))
        )
    rows, _ = streamed.score("分子泵17号", top=1)
    assert rows.tolist() == [len(names) + 2 * 17]


def test_graph_expansion_paths() -> None:
    g = ProductGraph(
        [
            Relation("真空泵", RelationKind.SUBCLASS, "分子泵"),
            Relation("分子泵", RelationKind.SUBCLASS, "涡轮分子泵"),
            Relation("泵", RelationKind.SUBCLASS, "真空泵"),
            Relation("光刻机", RelationKind.UPSTREAM_MATERIAL, "真空泵"),
        ]
    )
    exp = {e.key: e for e in g.expand("真空泵")}
    assert exp["分子泵"].via == "subclass" and exp["分子泵"].depth == 1
    assert exp["涡轮分子泵"].depth == 2 and exp["涡轮分子泵"].path == ("真空泵", "分子泵", "涡轮分子泵")
    assert exp["泵"].via == "parent"
    assert g.is_material_of("真空泵", "光刻机")
    again = ProductGraph.from_state(g.to_state())
    assert {e.key for e in again.expand("真空泵")} == set(exp)


def test_flat_and_ivf_indexes_agree_and_support_removal(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(4000, dtype=np.int64) * 3
    flat = make_index(x, ids, ann_threshold=10_000)
    ivf = FaissIndex.ivf(x, 32)
    ivf.add(x, ids)
    assert flat.kind == "flat" and ivf.kind == "ivf"
    ivf.search_effort = ivf.index.nlist  # type: ignore[attr-defined]  # exhaustive: must equal exact search
    seq = np.arange(4000, dtype=np.int64)
    hnsw = make_index(x, seq, ann_threshold=1_000)
    assert hnsw.kind == "hnsw"
    hits = 0
    for q in x[:50]:
        a, _ = flat.search(q, 10)
        b, _ = ivf.search(q, 10)
        assert set(a.tolist()) == set(b.tolist())
        c, _ = hnsw.search(q, 10)
        hits += len(set((a // 3).tolist()) & set(c.tolist()))
    assert hits / 500 >= 0.95
    with pytest.raises(ValueError):
        hnsw.add(x[:2], np.array([0, 1]))  # hnsw ids are positions
    hnsw.save(tmp_path / "h.faiss")
    assert FaissIndex.load(tmp_path / "h.faiss").kind == "hnsw"
    flat.remove(ids[:1])
    got, _ = flat.search(x[0], 5)
    assert 0 not in got.tolist()
    flat.save(tmp_path / "f.faiss")
    assert FaissIndex.load(tmp_path / "f.faiss").ntotal == 3999


def test_a_mapped_index_answers_as_saved_and_takes_adds_and_removals(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    seq = np.arange(3000, dtype=np.int64)
    for kind, index in (
        ("hnsw", make_index(x, seq, ann_threshold=1_000)),
        ("flat", make_index(x, seq, 10_000)),
    ):
        index.save(tmp_path / f"{kind}.faiss")
        mapped = FaissIndex.load(tmp_path / f"{kind}.faiss")
        assert mapped.mapped and mapped.kind == kind and mapped.search_effort == index.search_effort
        for q in x[:20]:
            assert mapped.search(q, 10)[0].tolist() == index.search(q, 10)[0].tolist()
        mapped.add(x[:2], np.array([3000, 3001]))  # a write to a mapped FAISS vector would abort
        # an hnsw graph takes adds into its delta segment, still mapped; a flat index is copied
        assert mapped.mapped == (kind == "hnsw") and mapped.ntotal == 3002
        assert mapped.search_effort == index.search_effort
        assert 3000 in mapped.search(x[0], 3)[0].tolist()
        if kind == "flat":
            mapped.remove(np.array([0]))
            assert 0 not in mapped.search(x[0], 5)[0].tolist()


def test_static_encoder_is_a_sentence_transformers_model(tmp_path: Path) -> None:
    graph = ProductGraph([Relation("真空泵", RelationKind.SUBCLASS, "分子泵")])
    enc = fit_static_encoder(TEXTS[:6], [TEXTS[:3], TEXTS[3:6]], graph, dim=16)
    v = enc.encode_passages(["分子泵", "涡轮分子泵", "电容器"])
    assert v.shape == (3, 16)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])
    enc.save(tmp_path / "enc")
    again = load_encoder(str(tmp_path / "enc"), None, None)
    assert np.allclose(again.encode_passages(["分子泵"]), v[:1], atol=1e-6)
    assert not np.any(enc.encode_queries(["§§"]))  # unknown tokens: zero vector, not noise


def test_tree_ranker_matches_sklearn_and_roundtrips(tmp_path: Path) -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    from recommender.training import to_tree_ranker

    rng = np.random.default_rng(0)
    X = rng.random((600, N_FEATURES)).astype(np.float32)
    X[:, FIDX["exact"]] = rng.random(600) > 0.7
    y = 2 * X[:, FIDX["exact"]] + X[:, FIDX["tfidf_cap"]]
    model = HistGradientBoostingRegressor(max_iter=40, max_depth=3, random_state=0).fit(X, y)
    ranker = to_tree_ranker(model, prior_weight=0.0)
    assert np.allclose(ranker.predict(X), model.predict(X), atol=1e-5)
    assert np.allclose(ranker.predict_trees(X), ranker._predict_walk(X), atol=1e-6)
    ranker.save(tmp_path / "r.npz")
    again = TreeRanker.load(tmp_path / "r.npz")
    assert np.allclose(again.predict(X), ranker.predict(X))
    blended = to_tree_ranker(model, prior_weight=0.3)
    expected = (model.predict(X) + 0.3 * FusionRanker().predict(X)) / 1.3
    assert np.allclose(blended.predict(X), expected, atol=1e-5)


def test_missing_ranker_falls_back_to_fusion(tmp_path: Path) -> None:
    assert isinstance(load_ranker(tmp_path / "none.npz"), FusionRanker)
    (tmp_path / "bad.npz").write_bytes(b"x")
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    assert isinstance(load_ranker(tmp_path / "bad.npz"), FusionRanker)


def test_shipped_ranker_uses_the_current_features() -> None:
    ranker = load_ranker(None)
    assert isinstance(ranker, TreeRanker), "recommender/artifacts/ranker.npz missing or stale"
    assert ranker.provenance["cv"]["metrics"]["full"]["ndcg@10"] >= 0.93  # type: ignore[index]
    x = np.zeros((2, N_FEATURES), dtype=np.float32)
    x[0, FIDX["exact"]] = 1.0
    x[0, FIDX["exact_share"]] = 0.6
    x[0, FIDX["tfidf_cap"]] = x[0, FIDX["tfidf_cap_w"]] = 1.0
    x[:, FIDX["item_known"]] = x[:, FIDX["graph_q"]] = 1.0
    x[1, FIDX["tfidf_cap"]] = 0.3
    s = ranker.predict(x)
    assert s[0] > s[1]
    assert len(FEATURE_NAMES) == N_FEATURES


def test_prefilter_keeps_the_fusion_best() -> None:
    X = np.zeros((10, N_FEATURES), dtype=np.float32)
    X[:, FIDX["tfidf_cap"]] = np.arange(10) / 10
    assert prefilter(X, 3).tolist() == [7, 8, 9]
    assert prefilter(X, 20).tolist() == list(range(10))


def test_place_reads_like_an_address() -> None:
    from recommender.explain import place

    assert place("广东省", "深圳市") == "广东省深圳市"
    assert place("上海市", "上海市") == place("上海市", "上海") == place("上海市") == "上海市"
    assert place(None, "汉堡", "德国") == "德国" and place(None, None) == ""
    assert place("广东省", "广东省深圳市") == "广东省深圳市"


def test_a_saved_segmenter_loads_mapped_and_segments_as_the_one_saved(tmp_path: Path) -> None:
    words = ["涡轮分子泵", "分子泵", "科学级CMOS相机", "电子级硫酸", "光电倍增管", "高纯石英砂"]
    built = WordSegmenter(words)
    built.save(tmp_path)
    loaded = WordSegmenter.load(tmp_path)
    assert sorted(loaded.user_words) == sorted(w.lower() for w in words)
    texts = ["涡轮分子泵的离子源", "科学级cmos相机", "电子级硫酸和高纯石英砂", "用于光电倍增管", "分子泵组"]
    assert [loaded(t) for t in texts] == [built(t) for t in texts]
    # words added after the load change the segmentation exactly as they change the built one's
    for seg in (built, loaded):
        seg.add_words(["离子源组件", "分子泵"])
    fresh = ["离子源组件的分子泵", "离子源组件"]
    assert [loaded(t) for t in fresh] == [built(t) for t in fresh]
    assert loaded.user_words.count("分子泵") == 1
    again = tmp_path / "again"
    again.mkdir()
    loaded.save(again)
    twice = WordSegmenter.load(again)
    assert [twice(t) for t in texts + fresh] == [built(t) for t in texts + fresh]


def test_text_column_reads_packed_and_appended_texts_and_maps_from_disk(tmp_path: Path) -> None:
    texts = ["涡轮分子泵", "", "IGBT 模块", "高纯石英砂 用于光伏"]
    column = TextColumn.of(texts)
    column.extend(["离子源", "光电倍增管(PMT)"])
    expected = [*texts, "离子源", "光电倍增管(PMT)"]
    assert list(column) == expected and len(column) == 6 and column[-1] == "光电倍增管(PMT)"
    assert column[2:5] == expected[2:5] and column.n_packed == 4
    column.save(tmp_path)
    mapped = TextColumn.load(tmp_path)
    assert list(mapped) == expected and mapped.n_packed == 6 and mapped[4] == "离子源"
    with pytest.raises(IndexError):
        mapped[6]
    mapped.extend(["减速器"])  # appended to a loaded column, then saved again
    again = tmp_path / "again"
    again.mkdir()
    mapped.save(again)
    assert list(TextColumn.load(again)) == [*expected, "减速器"]


def test_sorted_keys_find_every_key_by_length_group_and_map_from_disk(tmp_path: Path) -> None:
    words = ["泵", "分子泵", "涡轮分子泵", "pmt", "igbt", "硫酸", "电子级硫酸", "a", "zz"]
    keys, order = SortedKeys.of([*words, "硫酸"])
    assert len(keys) == len(words) and sorted(order) == sorted(words)
    assert [keys.find(w) for w in order] == list(range(len(order))) and list(keys) == order
    assert keys.find("分子") == -1 and keys.find("") == -1 and keys.find("涡轮分子泵组") == -1
    keys.save(tmp_path, "t")
    mapped = SortedKeys.load(tmp_path, "t")
    assert [mapped.find(w) for w in order] == list(range(len(order))) and mapped.find("b") == -1


@pytest.mark.parametrize("ann_threshold", [10_000, 1_000])  # flat, hnsw
def test_search_many_answers_each_query_as_search_does(ann_threshold: int) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = make_index(x, np.arange(3000, dtype=np.int64), ann_threshold)
    queries = x[:40] + rng.standard_normal((40, 16)).astype(np.float32) * 0.2
    answers = index.search_many(queries, 25)
    assert len(answers) == 40
    for q, (ids, scores) in zip(queries, answers, strict=True):
        one_ids, one_scores = index.search(q, 25)
        assert ids.tolist() == one_ids.tolist() and scores.tolist() == one_scores.tolist()
    assert index.search_many(queries[:0], 5) == []
