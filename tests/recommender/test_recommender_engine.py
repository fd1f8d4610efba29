"""Behaviour of the engine on a small hand-made corpus (no external data)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender import errors
from recommender.corpus import (
    FirmDoc,
    FirmFilter,
    MatchQuery,
    Product,
    Region,
    Relation,
    RelationKind,
    Scope,
)
from recommender.engine import FORMAT_VERSION, EngineConfig, Recommender


def firm(
    fid: str,
    name: str,
    products: list[tuple[str, float | None]],
    province: str | None = "江苏省",
    **kw: Any,
) -> FirmDoc:
    return FirmDoc(
        id=fid, name=name, province=province, products=tuple(Product(n, s) for n, s in products), **kw
    )


FIRMS = [
    firm("A1", "中科真空", [("分子泵", 0.62), ("真空计", 0.2)], "上海市", scale="medium"),
    firm("A2", "北仪真空", [("分子泵", 0.08), ("真空阀门", 0.7)], "北京市"),
    firm("A3", "苏州涡轮", [("涡轮分子泵", 0.55)], "江苏省", scale="small", tags=("专精特新",)),
    firm("A4", "沈阳泵业", [("离心泵", 0.9)], "辽宁省", industry=("机械设备", "通用设备")),
    firm("A5", "宁波包装", [("纸包装容器", 0.35), ("彩印", 0.3)], "浙江省"),
    firm("A6", "江南包装", [("包装容器", 0.8)], "江苏省", city="苏州市", scale="large"),
    firm(
        "A7",
        "南通纸业",
        [("纸包装容器", 0.6)],
        "江苏省",
        city="南通市",
        scale="small",
        tags=("专精特新小巨人",),
    ),
    firm("A8", "东京真空", [("分子泵", 0.5)], None, country="日本"),
    firm("A9", "华电容", [("电容器", 0.96), ("其他业务", 0.04)], "广东省"),
    firm("A10", "半导设备", [("半导体设备", 0.9)], "江苏省"),
    firm("A11", "苏州泵阀", [("真空泵", 0.4), ("阀门", 0.5)], "江苏省", scale="small"),
    firm(
        "A12",
        "杭州化工",
        [("硫酸", 0.3), ("其他", 0.1)],
        "浙江省",
        description="公司主要生产工业硫酸和发烟硫酸。产品用于化肥行业",
    ),
]
RELATIONS = [
    Relation("真空泵", RelationKind.SUBCLASS, "分子泵"),
    Relation("分子泵", RelationKind.SUBCLASS, "涡轮分子泵"),
    Relation("包装容器", RelationKind.SUBCLASS, "纸包装容器"),
    Relation("半导体设备", RelationKind.UPSTREAM_MATERIAL, "分子泵"),
    Relation("半导体设备", RelationKind.UPSTREAM_MATERIAL, "真空阀门"),
]


@pytest.fixture(scope="module")
def rec() -> Recommender:
    return Recommender.build(FIRMS, RELATIONS, EngineConfig())


@pytest.fixture(scope="module")
def rec_fusion() -> Recommender:
    return Recommender.build(
        FIRMS, RELATIONS, EngineConfig(use_ranker=False, channels=("tfidf", "bm25", "graph"))
    )


def ids(matches: list) -> list[str]:
    return [m.firm.id for m in matches]


@pytest.mark.parametrize("engine", ["rec", "rec_fusion"])
def test_exact_makers_rank_first_by_share_then_narrower(engine: str, request: pytest.FixtureRequest) -> None:
    r: Recommender = request.getfixturevalue(engine)
    res = ids(r.match(MatchQuery(text="分子泵", k=6)))
    # main-product makers (share >= 0.2) first, then the minor maker / the subclass maker
    assert set(res[:2]) == {"A1", "A8"}
    assert set(res[2:4]) == {"A2", "A3"}
    assert "A4" not in res[:4]  # 离心泵: a pump, not a molecular pump


def test_subclass_match_is_explained_with_the_relation_path(rec: Recommender) -> None:
    res = rec.match(MatchQuery(text="包装容器", k=5))
    assert res[0].firm.id == "A6"
    by_id = {m.firm.id: m for m in res}
    m = by_id["A7"]
    assert m.matched_products[0].via == "subclass"
    assert m.matched_products[0].share == pytest.approx(0.6)
    assert m.matched_products[0].path == "纸包装容器 是 包装容器 的一种"
    assert any(r.startswith("主营 纸包装容器（营收占比 60%），属于 包装容器 的一种") for r in m.reasons)
    assert set(m.channel_scores) >= {"tfidf", "bm25", "dense", "graph", "ranker"}


def test_leader_never_appears(rec: Recommender) -> None:
    res = rec.match(MatchQuery(text="分子泵", leader_firm_id="A1", k=20))
    assert "A1" not in ids(res)
    out, loc = rec.recommend(MatchQuery(text="分子泵", leader_firm_id="A3", region=Region("江苏省"), k=20))
    assert "A3" not in ids(out) + ids(loc)


def test_recommend_splits_by_region_and_foreign_firms_are_outside(rec: Recommender) -> None:
    out, loc = rec.recommend(MatchQuery(text="分子泵", region=Region("江苏省"), k=10))
    assert all(m.firm.province == "江苏省" for m in loc)
    assert all(not Region("江苏省").contains(m.firm) for m in out)
    assert "A8" in ids(out) and "A3" in ids(loc)
    assert any("区外企业" in r or "境外企业" in r for r in out[0].reasons)
    assert any("区内企业" in r for r in loc[0].reasons)


def test_city_region(rec: Recommender) -> None:
    out, loc = rec.recommend(MatchQuery(text="纸包装容器", region=Region("江苏省", "南通市"), k=10))
    assert ids(loc)[:1] == ["A7"]
    assert "A6" in ids(out)  # same province, other city: outside a city region


def test_scope_and_region_errors(rec: Recommender) -> None:
    with pytest.raises(errors.RegionRequired):
        rec.recommend(MatchQuery(text="分子泵"))
    with pytest.raises(errors.RegionRequired):
        rec.match(MatchQuery(text="分子泵", scope=Scope.INSIDE))
    with pytest.raises(errors.InvalidQuery):
        rec.match(MatchQuery(text="  "))
    with pytest.raises(errors.InvalidQuery):
        rec.match(MatchQuery(text="分子泵", k=0))
    inside = rec.match(MatchQuery(text="分子泵", scope=Scope.INSIDE, region=Region("江苏省"), k=10))
    assert inside and all(m.firm.province == "江苏省" for m in inside)


def test_filters(rec: Recommender) -> None:
    q = MatchQuery(text="分子泵", k=10)
    inc = rec.match(replace(q, filters=FirmFilter(provinces_include=frozenset({"北京市"}))))
    assert ids(inc) == ["A2"]
    exc = rec.match(replace(q, filters=FirmFilter(provinces_exclude=frozenset({"上海市", "北京市"}))))
    assert "A1" not in ids(exc) and "A2" not in ids(exc) and "A8" in ids(exc)
    tag = rec.match(replace(q, filters=FirmFilter(tags_any=frozenset({"专精特新"}))))
    assert ids(tag) == ["A3"]
    scale = rec.match(replace(q, filters=FirmFilter(scales=frozenset({"medium"}))))
    assert ids(scale) == ["A1"]
    excl = rec.match(replace(q, filters=FirmFilter(exclude_firm_ids=frozenset({"A1"}))))
    assert "A1" not in ids(excl)


def test_k_is_capped_by_max_k() -> None:
    r = Recommender.build(FIRMS, RELATIONS, EngineConfig(max_k=2, channels=("tfidf", "bm25", "graph")))
    assert len(r.match(MatchQuery(text="泵", k=50, min_score=0.0))) == 2


def test_sme_boost_breaks_ties_among_local_suppliers_but_not_against_clearly_better(rec: Recommender) -> None:
    # 包装容器 in 江苏: A6 (large) lists the item itself at 80%; A7 (小巨人) a subclass. A6 stays first.
    _, loc = rec.recommend(MatchQuery(text="包装容器", region=Region("江苏省"), k=5))
    assert ids(loc)[:2] == ["A6", "A7"]
    # two equally relevant firms: the SME goes first among local suppliers
    twins = [
        firm("T1", "液压厂", [("液压缸", 0.5)], "江苏省", scale="large"),
        firm("T2", "液压厂", [("液压缸", 0.5)], "江苏省", scale="small"),
    ]
    r = Recommender.build(twins + FIRMS, RELATIONS, EngineConfig(channels=("tfidf", "bm25", "graph")))
    _, loc = r.recommend(MatchQuery(text="液压缸", region=Region("江苏省"), k=3))
    assert ids(loc)[:2] == ["T2", "T1"]
    out = r.match(MatchQuery(text="液压缸", k=3))  # no boost outside the local list: id order on ties
    assert ids(out)[:2] == ["T1", "T2"]


def test_non_product_segments_are_not_capabilities(rec: Recommender) -> None:
    assert (
        "A9" not in ids(rec.match(MatchQuery(text="其他业务", k=10)))[:1]
        or not rec.match(MatchQuery(text="其他业务", k=10))[0].matched_products
    )


def test_description_sentences_are_indexed(rec: Recommender) -> None:
    res = rec.match(MatchQuery(text="发烟硫酸", k=3))
    assert res[0].firm.id == "A12"


def test_context_of_the_leader_product(rec: Recommender) -> None:
    res = rec.match(MatchQuery(text="分子泵", for_product="半导体设备", k=10))
    a2 = next(m for m in res if m.firm.id == "A2")
    assert any("上游材料" in r for r in a2.reasons)  # A2 also makes 真空阀门, another input of 半导体设备


def test_upsert_replaces_a_firms_entries_and_remove(rec_fusion: Recommender, tmp_path: Path) -> None:
    r = Recommender.build(FIRMS, RELATIONS, EngineConfig(channels=("tfidf", "bm25", "dense", "graph")))
    assert "A4" not in ids(r.match(MatchQuery(text="分子泵", k=3)))
    r.upsert_firms([firm("A4", "沈阳泵业", [("分子泵", 0.95)], "辽宁省")])
    assert set(ids(r.match(MatchQuery(text="分子泵", k=3)))) == {"A1", "A4", "A8"}
    assert r.get_firm("A4") is not None and r.get_firm("A4").products[0].name == "分子泵"  # type: ignore[union-attr]
    gone = r.match(MatchQuery(text="离心泵", k=5))  # the old product is no longer indexed
    assert all(mp.name != "离心泵" for m in gone for mp in m.matched_products)
    assert all(m.channel_scores["tfidf"] < 0.99 for m in gone)
    r.upsert_firms([firm("N1", "新进企业", [("离心泵", 0.7)], "湖南省")])
    assert r.n_firms == len(FIRMS) + 1
    assert ids(r.match(MatchQuery(text="离心泵", k=1))) == ["N1"]
    r.remove_firms(["N1", "A1", "unknown"])
    assert r.get_firm("N1") is None and r.n_firms == len(FIRMS) - 1
    assert "A1" not in ids(r.match(MatchQuery(text="分子泵", k=10)))
    r.save(tmp_path / "idx")
    r2 = Recommender.load(tmp_path / "idx", EngineConfig())
    q = MatchQuery(text="分子泵", k=10, region=Region("江苏省"))
    assert [ids(x) for x in r2.recommend(q)] == [ids(x) for x in r.recommend(q)]
    assert r2.n_firms == r.n_firms
    # the loaded index (firms, texts, postings, segmenter and FAISS memory-mapped) takes the same
    # upserts and removals as the one in memory, and saves them
    for engine in (r, r2):
        engine.upsert_firms([firm("A4", "沈阳泵业", [("离心泵", 0.6), ("分子泵组件", 0.3)], "辽宁省")])
        engine.remove_firms(["A8"])
    for text in ("分子泵", "离心泵", "分子泵组件"):
        assert r2.product_makers(text) == r.product_makers(text)
        q = MatchQuery(text=text, k=10, region=Region("江苏省"))
        assert [ids(x) for x in r2.recommend(q)] == [ids(x) for x in r.recommend(q)]
    assert r2.get_firm("A8") is None and r2.get_firm("A4") == r.get_firm("A4")
    r2.save(tmp_path / "idx")
    r3 = Recommender.load(tmp_path / "idx", EngineConfig())
    assert r3.product_makers("离心泵") == r.product_makers("离心泵") and r3.n_firms == r.n_firms
    assert [ids(x) for x in r3.recommend(q)] == [ids(x) for x in r.recommend(q)]


def test_concurrent_saves_of_one_index_all_succeed(rec: Recommender, tmp_path: Path) -> None:
    """Worker processes checkpoint the same index directory; each swap must find its way."""
    import threading

    target = tmp_path / "index"
    errors: list[BaseException] = []

    def save_repeatedly() -> None:
        try:
            for _ in range(4):
                rec.save(target)
                Recommender.load(target, EngineConfig())
        except BaseException as exc:  # noqa: BLE001  (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=save_repeatedly) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.lock", "index"]
    assert Recommender.load(target, EngineConfig()).n_firms == rec.n_firms


def test_save_load_roundtrip_and_manifest(rec: Recommender, tmp_path: Path) -> None:
    rec.manifest["corpus_tag"] = "test-v1"
    target = tmp_path / "index"
    rec.save(target)
    rec.save(target)  # replacing an existing index is atomic and leaves no temp dirs behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.lock", "index"]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert (
        manifest["format"] == FORMAT_VERSION
        and manifest["n_firms"] == len(FIRMS)
        and manifest["corpus_tag"] == "test-v1"
    )
    assert manifest["encoder"] == "static" and manifest["n_entries"] > len(FIRMS)
    loaded = Recommender.load(target, EngineConfig())
    for text in ("分子泵", "包装容器", "硫酸"):
        a = rec.match(MatchQuery(text=text, k=5))
        b = loaded.match(MatchQuery(text=text, k=5))
        assert ids(a) == ids(b)
        assert np.allclose([m.score for m in a], [m.score for m in b], atol=1e-5)
    assert loaded.manifest["corpus_tag"] == "test-v1"
    # the encoder is a sentence-transformers model directory
    assert (target / "dense" / "encoder" / "modules.json").exists()


def test_load_errors(tmp_path: Path, rec: Recommender) -> None:
    with pytest.raises(errors.IndexNotFound):
        Recommender.load(tmp_path / "missing", EngineConfig())
    rec.save(tmp_path / "idx")
    (tmp_path / "idx" / "entries.npz").write_bytes(b"garbage")
    with pytest.raises(errors.IndexCorrupt):
        Recommender.load(tmp_path / "idx", EngineConfig())
    rec.save(tmp_path / "idx2")
    (tmp_path / "idx2" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(errors.IndexCorrupt):
        Recommender.load(tmp_path / "idx2", EngineConfig())
    assert issubclass(errors.IndexCorrupt, errors.RecommenderError)


def test_traditional_and_full_width_queries_match(rec: Recommender) -> None:
    assert ids(rec.match(MatchQuery(text="電容器", k=1))) == ["A9"]
    assert ids(rec.match(MatchQuery(text=" 分子泵 ", k=2))) == ids(rec.match(MatchQuery(text="分子泵", k=2)))


def test_text_naming_a_known_product_is_searched_as_that_product(rec: Recommender) -> None:
    res = rec.match(MatchQuery(text="高真空分子泵组", k=3))
    assert rec.understand("高真空分子泵组").product == "分子泵"
    assert res and res[0].firm.id in {"A1", "A8"}
    assert res[0].matched_products[0].via == "exact" and not res[0].low_confidence


def test_unknown_item_falls_back_to_text_similarity(rec: Recommender) -> None:
    res = rec.match(MatchQuery(text="离心式泵组", k=3))
    assert rec.understand("离心式泵组").low_confidence
    assert res and res[0].firm.id == "A4"
    assert res[0].matched_products and res[0].matched_products[0].via == "similar"
    assert all(m.low_confidence for m in res)


def test_opt_in_sentence_transformers_encoder_by_path_with_prompts(rec: Recommender, tmp_path: Path) -> None:
    # any sentence-transformers model directory works as EngineConfig.encoder (here: the fitted one)
    assert rec.dense is not None
    rec.dense.encoder.save(tmp_path / "model")
    cfg = EngineConfig(encoder=str(tmp_path / "model"), query_prompt="查询：", passage_prompt="产品：")
    r = Recommender.build(FIRMS, RELATIONS, cfg)
    assert r.manifest["encoder"] == str(tmp_path / "model")
    assert r.dense is not None and r.dense.encoder.query_prompt == "查询："
    assert set(ids(r.match(MatchQuery(text="分子泵", k=2)))) == {"A1", "A8"}
    r.save(tmp_path / "idx")
    again = Recommender.load(tmp_path / "idx", cfg)
    assert ids(again.match(MatchQuery(text="包装容器", k=3))) == ids(
        r.match(MatchQuery(text="包装容器", k=3))
    )


def test_relevance_floor_leaves_out_padding_and_an_empty_list_is_an_answer(rec: Recommender) -> None:
    # No firm in 江苏省 makes capacitors: without a floor the local list is padded with packaging
    # and pump makers; with the default floor it is empty and the one real maker stays a target.
    out, loc = rec.recommend(MatchQuery(text="电容器", region=Region("江苏省"), k=5, min_score=0.0))
    assert len(loc) >= 3 and ids(out)[:1] == ["A9"]
    assert min(m.score for m in loc) < rec.config.min_score
    out, loc = rec.recommend(MatchQuery(text="电容器", region=Region("江苏省"), k=5))
    assert ids(out) == ["A9"] and loc == []
    # Real makers, narrower ones included, pass the floor.
    assert set(ids(rec.match(MatchQuery(text="分子泵", k=10)))) == {"A1", "A8", "A2", "A3"}
    with pytest.raises(errors.InvalidQuery):
        rec.match(MatchQuery(text="分子泵", min_score=1.5))
