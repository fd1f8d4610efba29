"""Free-text weak links end to end in the engine, on the sample cluster (data/sample): what a new
user typed in issue 9 now returns the makers first, each answer read into the product it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainmatch.corpus_files import corpus_from_files
from recommender.aliases import Alias
from recommender.corpus import FirmMatch, MatchQuery, Region, Scope
from recommender.engine import EngineConfig, Recommender

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def rec() -> Recommender:
    firms, relations = corpus_from_files(SAMPLE / "firms.jsonl", SAMPLE / "relations.jsonl")
    return Recommender.build(firms, relations, EngineConfig())


def _makers(rec: Recommender, product_key_part: str) -> set[str]:
    return {f.id for f in rec.firms() if any(product_key_part.lower() in p.name.lower() for p in f.products)}


def _top(rec: Recommender, text: str, k: int = 5) -> list[FirmMatch]:
    return rec.match(MatchQuery(text=text, region=Region("广东省"), scope=Scope.ALL, k=k))


@pytest.mark.parametrize(
    ("text", "product", "maker_part"),
    [
        ("高精度光栅尺", "光栅尺", "光栅尺"),
        ("用于质谱仪的离子源", "离子源", "离子源"),
        ("高真空获得设备用的分子泵，抽速300L/s以上", "分子泵", "分子泵"),
        ("PMT", "光电倍增管", "光电倍增管"),
        ("photomultiplier tube", "光电倍增管", "光电倍增管"),
        ("我司基因测序仪所需的sCMOS相机主要依赖进口，寻求国内替代", None, "CMOS相机"),
    ],
)
def test_free_text_returns_the_makers_first(
    rec: Recommender, text: str, product: str | None, maker_part: str
) -> None:
    u = rec.understand(text)
    if product is not None:
        assert u.product == product
    assert not u.low_confidence
    top = _top(rec, text)
    makers = _makers(rec, maker_part)
    assert top, f"{text}: empty list although {len(makers)} firms make it"
    n = min(3, len(makers))
    assert all(m.firm.id in makers for m in top[:n]), [(m.firm.name, m.score) for m in top]
    assert not any(m.low_confidence for m in top)


def test_free_text_ranks_like_its_catalog_name(rec: Recommender) -> None:
    # the same makers lead; lower down the end use (质谱仪) may reorder related firms
    free, catalog = _top(rec, "用于质谱仪的离子源"), _top(rec, "离子源")
    assert [m.firm.id for m in free[:2]] == [m.firm.id for m in catalog[:2]]


def test_a_narrower_kind_at_any_depth_is_still_listed_and_explained(rec: Recommender) -> None:
    # 微流控芯片 → 聚合物微流控芯片 → 注塑微流控芯片: two subclass steps in the curated graph; the
    # name says it is a 微流控芯片, so its maker is listed (above the floor), after the makers of the
    # item itself, with the reason
    deep = [f.id for f in rec.firms() if any(p.name == "注塑微流控芯片" for p in f.products)]
    assert deep
    res = {m.firm.id: m for m in rec.match(MatchQuery(text="微流控芯片", k=50))}
    for fid in deep:
        assert fid in res and res[fid].score >= 0.15, {fid: res.get(fid)}
        assert any("注塑微流控芯片" in r and "微流控芯片 的一种" in r for r in res[fid].reasons)
    exact = [m for m in res.values() if any(p.via == "exact" for p in m.matched_products)]
    assert exact and min(m.score for m in exact) > max(res[fid].score for fid in deep)


def test_unknown_text_gives_flagged_candidates_not_an_empty_list(rec: Recommender) -> None:
    res = _top(rec, "某某型特种真空密封件")
    u = rec.understand("某某型特种真空密封件")
    assert u.low_confidence
    assert res and all(m.low_confidence for m in res)


def test_a_confident_reading_of_what_nobody_makes_stays_empty(rec: Recommender) -> None:
    # an empty list keeps its meaning: the text names a known product and nobody local makes it
    res = rec.match(
        MatchQuery(text="用于质谱仪的离子源", region=Region("西藏自治区"), scope=Scope.INSIDE, k=5)
    )
    assert res == []


def test_user_aliases_are_searched_at_once(rec: Recommender) -> None:
    assert not _makers(rec, "XYZ-9")
    rec.set_user_aliases([Alias("XYZ-9", "涡轮分子泵", "user")])
    try:
        top = _top(rec, "XYZ-9")
        assert top and all(m.firm.id in _makers(rec, "分子泵") for m in top)
    finally:
        rec.set_user_aliases([])
