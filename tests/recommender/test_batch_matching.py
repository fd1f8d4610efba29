"""``Recommender.match_many`` answers every query as ``match`` answers it alone (same firms, order,
scores and explanations), on the sample cluster, with the dense channel exact and as an HNSW graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainmatch.corpus_files import corpus_from_files
from recommender import errors
from recommender.corpus import FirmFilter, MatchQuery, Region, Scope
from recommender.engine import EngineConfig, Recommender
from recommender.merge import QueryEvidence, merge_evidence

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
GD = Region("广东省")


@pytest.fixture(scope="module", params=["flat", "hnsw"])
def rec(request: pytest.FixtureRequest) -> Recommender:
    firms, relations = corpus_from_files(SAMPLE / "firms.jsonl", SAMPLE / "relations.jsonl")
    config = EngineConfig() if request.param == "flat" else EngineConfig(ann_threshold=0)
    engine = Recommender.build(firms, relations, config)
    assert engine.dense.index.kind == request.param
    return engine


def _queries(rec: Recommender) -> list[MatchQuery]:
    leader = next(f for f in rec.firms() if f.province == "广东省" and f.products)
    both = [
        MatchQuery(text=text, for_product=for_product, region=GD, scope=scope, k=k)
        for text, for_product, k in [
            ("分子泵", None, 10),
            ("离子源", "质谱仪", 5),
            ("用于质谱仪的离子源", None, 10),  # the same item as the line above, another reading
            ("高真空获得设备用的分子泵，抽速300L/s以上", None, 10),
            ("PMT", None, 10),
            ("光电倍增管", None, 3),
            ("完全不存在的东西xyz", None, 10),  # read with low confidence
        ]
        for scope in (Scope.OUTSIDE, Scope.INSIDE)
    ]
    return [
        *both,
        *both[:4],  # asked again: the same answers
        MatchQuery(text="分子泵", scope=Scope.ALL, k=20),
        MatchQuery(text="分子泵", region=Region("广东省", "深圳市"), scope=Scope.INSIDE),
        MatchQuery(text="离子源", description="用于质谱仪，真空度高", scope=Scope.ALL),
        MatchQuery(text="分子泵", scope=Scope.OUTSIDE),  # no region: its error in its slot
        MatchQuery(text="分子泵", leader_firm_id=leader.id, region=GD, scope=Scope.ALL, min_score=0.0),
        MatchQuery(
            text="分子泵",
            region=GD,
            scope=Scope.ALL,
            filters=FirmFilter(
                provinces_exclude=frozenset({"江苏省"}), exclude_firm_ids=frozenset({leader.id})
            ),
        ),
        MatchQuery(text="分子泵", scope=Scope.ALL, filters=FirmFilter(scales=frozenset({"small", "medium"}))),
        MatchQuery(text="   ", scope=Scope.ALL),  # empty text: invalid
        MatchQuery(text="离子源", scope=Scope.ALL, k=0),  # invalid k
    ]


def _alone(rec: Recommender, query: MatchQuery) -> list | type[errors.RecommenderError]:
    try:
        return rec.match(query)
    except errors.RecommenderError as exc:
        return type(exc)


def test_match_many_equals_match_one_at_a_time(rec: Recommender) -> None:
    queries = _queries(rec)
    expected = [_alone(rec, q) for q in queries]
    got = rec.match_many(queries)
    assert len(got) == len(queries)
    for query, want, answer in zip(queries, expected, got, strict=True):
        if isinstance(want, type):
            assert isinstance(answer, want), query
        else:
            assert answer == want, query
    assert sum(isinstance(a, errors.RecommenderError) for a in got) == 3
    assert sum(bool(a) for a in got if isinstance(a, list)) >= 15  # not a batch of empty lists
    # Answers are the caller's: changing one does not change another query's equal answer.
    first, again = got[0], got[14]  # 分子泵 outside 广东省, asked twice
    assert isinstance(first, list) and isinstance(again, list) and first == again and first
    first[0].score = -1.0
    first[0].reasons.append("changed")
    assert again[0].score != -1.0 and "changed" not in again[0].reasons


def test_match_many_with_a_shards_evidence_equals_match_with_it(rec: Recommender) -> None:
    """As one shard of a sharded corpus answers a batch: each query with its evidence (the channel
    floors of the corpus's cut-offs, whether any eligible firm lists the item). Evidence as merged
    from this engine's own, and made up to bite: floors that drop most entries, item_listed flipped."""
    queries = [q for q in _queries(rec) if q.text.strip() and q.k > 0 and (q.region or q.scope is Scope.ALL)]
    evidence: list[QueryEvidence | None] = []
    for n, q in enumerate(queries):
        own = merge_evidence([rec.evidence(q)])
        strict = QueryEvidence(
            {q.scope: not own.item_listed[q.scope]}, {"tfidf": 0.3, "bm25": 0.5, "dense": 0.6}
        )
        evidence.append((own, strict, None)[n % 3])
    got = rec.match_many(queries, evidence)
    want = [rec.match(q, evidence=e) for q, e in zip(queries, evidence, strict=True)]
    assert got == want
    assert sum(map(len, want)) > 50
    assert want != [rec.match(q) for q in queries]  # the strict evidence changed answers


def test_match_many_of_nothing(rec: Recommender) -> None:
    assert rec.match_many([]) == []


def test_searches_shared_across_a_batch_answer_as_alone(rec: Recommender) -> None:
    """One item for several leader products (its graph matches searched once, each leader's context
    added to a copy), items whose graph expansions list the same products (the firms listing a key
    found once), an item the encoder maps to a zero vector (no dense hits), every query asked both
    ways in one batch, with and without a region."""
    zero = "qqzzxxvv"
    assert not rec.dense.encoder.encode_queries(
        [rec._channel_query(MatchQuery(text=zero), rec.understand(zero)).item]
    ).any()
    texts = [
        ("分子泵", "质谱仪"),
        ("分子泵", "电感耦合等离子体质谱仪"),
        ("分子泵", None),
        ("光电倍增管", "质谱仪"),
        ("光电倍增管", "原子吸收光谱仪"),
        ("真空泵", "质谱仪"),
        ("泵", None),
        (zero, "质谱仪"),
        (zero, None),
    ]
    queries = [
        MatchQuery(text=text, for_product=for_product, region=region, scope=scope, k=8, min_score=0.0)
        for text, for_product in texts
        for region, scope in ((GD, Scope.OUTSIDE), (GD, Scope.INSIDE), (None, Scope.ALL))
    ]
    got = rec.match_many(queries)
    for query, answer in zip(queries, got, strict=True):
        assert answer == rec.match(query), query
    contexts = [a for a, q in zip(got, queries, strict=True) if q.for_product and q.scope is Scope.ALL]
    assert any(r for a in contexts for m in a for r in m.reasons if "另一种上游材料" in r)
    assert sum(bool(a) for a in got) >= 18
