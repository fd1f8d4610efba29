"""Sharding's contract on the engine (issue 11): corpus statistics fitted once and applied to each
shard make every shard score its firms exactly as one engine over the whole corpus does, so that
the shards' answers, merged, are that engine's answer."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chainmatch.corpus_files import corpus_from_files
from recommender.corpus import FirmDoc, FirmFilter, FirmMatch, MatchQuery, Product, Region, Relation, Scope
from recommender.engine import CorpusStatistics, EngineConfig, Recommender, fit_statistics
from recommender.features import FIDX
from recommender.merge import merge_answers, merge_evidence

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
N_SHARDS = 3
CATALOG = ["涡轮分子泵", "离子源", "光电倍增管", "硫酸", "液氦", "光刻胶", "电源模块", "磁悬浮分子泵"]
FREE_TEXT = [
    "用于质谱仪的离子源，主要依赖日本进口",
    "PMT",
    "高精度光栅尺，精度±1μm",
    "我们需要一种半导体级的电子级硫酸",
    "锂电池隔膜 100%依赖日本进口",
]
Partition = Callable[[int, FirmDoc], int]
Corpus = tuple[list[FirmDoc], list[Relation]]
PARTITIONS: dict[str, Partition] = {
    "hash": lambda _i, f: zlib.crc32(f.id.encode()) % N_SHARDS,  # as the service shards by id
    "round_robin": lambda i, _f: i % N_SHARDS,
    "uneven": lambda i, _f: 0 if i < 300 else 1 + i % 2,
}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return corpus_from_files(SAMPLE / "firms.jsonl", SAMPLE / "relations.jsonl")


@pytest.fixture(scope="module")
def statistics(corpus: Corpus) -> CorpusStatistics:
    return fit_statistics(corpus[0], corpus[1], EngineConfig())


def shards_of(firms: list[FirmDoc], partition: Partition) -> list[list[FirmDoc]]:
    parts: list[list[FirmDoc]] = [[] for _ in range(N_SHARDS)]
    for i, f in enumerate(firms):
        parts[partition(i, f)].append(f)
    return parts


def merged(lists: list[list[FirmMatch]], k: int) -> list[tuple[str, float]]:
    return answer(merge_answers(lists, k))


def answer(ms: list[FirmMatch]) -> list[tuple[str, float]]:
    return [(m.firm.id, m.score) for m in ms]


def queries(corpus: Corpus) -> list[MatchQuery]:
    leader = corpus[0][0].id
    out = []
    for text in CATALOG + FREE_TEXT:
        out.append(MatchQuery(text=text, scope=Scope.ALL, k=10, min_score=0.0))
        out.append(MatchQuery(text=text, region=Region("广东省"), k=10, leader_firm_id=leader))
    out.append(MatchQuery(text="分子泵", k=10, filters=FirmFilter(provinces_include=frozenset({"安徽省"}))))
    return out


def sharded_match(shards: list[Recommender], q: MatchQuery) -> list[tuple[str, float]]:
    evidence = merge_evidence(s.evidence(q) for s in shards)
    return merged([s.match(q, evidence=evidence) for s in shards], q.k)


def sharded_recommend(shards: list[Recommender], q: MatchQuery) -> tuple[list, list]:
    evidence = merge_evidence(s.evidence(q, (Scope.OUTSIDE, Scope.INSIDE)) for s in shards)
    answers = [s.recommend(q, evidence=evidence) for s in shards]
    return merged([a[0] for a in answers], q.k), merged([a[1] for a in answers], q.k)


def test_statistics_applied_to_the_whole_corpus_change_nothing(
    corpus: Corpus, statistics: CorpusStatistics
) -> None:
    plain = Recommender.build(corpus[0], corpus[1], EngineConfig())
    applied = Recommender.build(corpus[0], corpus[1], EngineConfig(), statistics=statistics)
    assert applied.frozen and not plain.frozen
    for q in queries(corpus):
        if q.region is None:
            assert answer(applied.match(q)) == answer(plain.match(q)), q.text
        else:
            a, b = applied.recommend(q), plain.recommend(q)
            assert (answer(a[0]), answer(a[1])) == (answer(b[0]), answer(b[1])), q.text


@pytest.mark.parametrize("partition", PARTITIONS)
def test_merged_shard_answers_equal_the_unsharded_answer(
    corpus: Corpus, statistics: CorpusStatistics, partition: str
) -> None:
    whole = Recommender.build(corpus[0], corpus[1], EngineConfig(), statistics=statistics)
    shards = [
        Recommender.build(part, [], EngineConfig(), statistics=statistics)
        for part in shards_of(corpus[0], PARTITIONS[partition])
    ]
    assert sum(s.n_firms for s in shards) == whole.n_firms
    for q in queries(corpus):
        if q.region is None:
            assert sharded_match(shards, q) == answer(whole.match(q)), q.text
        else:
            outside, inside = whole.recommend(q)
            assert sharded_recommend(shards, q) == (answer(outside), answer(inside)), q.text


def test_every_shard_featurises_its_firms_as_the_whole_engine(
    corpus: Corpus, statistics: CorpusStatistics
) -> None:
    """With cut-offs that do not bind (every firm a candidate), each shard's feature row of a firm
    equals the whole engine's; ``graph_q``, list-level, is what the shards' evidence merges to."""
    cfg = EngineConfig(candidate_pool=100_000, rerank_pool=100_000)
    whole = Recommender.build(corpus[0], corpus[1], cfg, statistics=statistics)
    shards = [
        Recommender.build(p, [], cfg, statistics=statistics) for p in shards_of(corpus[0], PARTITIONS["hash"])
    ]
    local = [i for i in range(len(FIDX)) if i != FIDX["graph_q"]]
    for q in queries(corpus):
        ids, X, _src = whole.query_features(q)
        rows = {fid: X[i] for i, fid in enumerate(ids)}
        seen = 0
        for s in shards:
            s_ids, s_X, _ = s.query_features(q)
            for i, fid in enumerate(s_ids):
                np.testing.assert_array_equal(s_X[i, local], rows[fid][local], err_msg=f"{q.text} {fid}")
            seen += len(s_ids)
        assert seen == len(ids), q.text
        if len(ids):
            listed = merge_evidence(s.evidence(q) for s in shards).item_listed[q.scope]
            assert bool(X[0, FIDX["graph_q"]]) == listed, q.text


def test_upserts_and_removals_keep_shards_equal_to_the_whole(
    corpus: Corpus, statistics: CorpusStatistics
) -> None:
    """Statistics stay frozen through updates, in the whole engine and in every shard alike. (One
    engine puts a re-indexed firm last among equal scores, the merge by id: compared by id.)"""
    firms = corpus[0]
    whole = Recommender.build(corpus[0], corpus[1], EngineConfig(), statistics=statistics)
    owner = {f.id: PARTITIONS["hash"](i, f) for i, f in enumerate(firms)}
    shards = [
        Recommender.build(p, [], EngineConfig(), statistics=statistics)
        for p in shards_of(firms, PARTITIONS["hash"])
    ]
    changed = [replace(f, products=(*f.products, Product("离子源", 0.3))) for f in firms[10:40:3]]
    new = [replace(firms[0], id="ZZ-0001", name="新离子源厂", products=(Product("四极杆离子源", 0.9),))]
    removed = [f.id for f in firms[50:60]]
    whole.upsert_firms([*changed, *new])
    whole.remove_firms(removed)
    owner["ZZ-0001"] = 1
    for i, s in enumerate(shards):
        s.upsert_firms([f for f in (*changed, *new) if owner[f.id] == i])
        s.remove_firms([fid for fid in removed if owner[fid] == i])
    for q in queries(corpus):
        if q.region is None:
            expected = sorted(whole.match(q), key=lambda m: (-m.rank_score, m.firm.id))
            assert sharded_match(shards, q) == answer(expected), q.text


def test_statistics_survive_pickle_and_a_save(
    corpus: Corpus, statistics: CorpusStatistics, tmp_path: Path
) -> None:
    again = pickle.loads(pickle.dumps(statistics))
    statistics.save(tmp_path / "stats")
    loaded = CorpusStatistics.load(tmp_path / "stats")
    part = shards_of(corpus[0], PARTITIONS["hash"])[0]
    reference = Recommender.build(part, [], EngineConfig(), statistics=statistics)
    q = MatchQuery(text="离子源", k=10, min_score=0.0)
    for s in (again, loaded):
        assert answer(Recommender.build(part, [], EngineConfig(), statistics=s).match(q)) == answer(
            reference.match(q)
        )
    reference.save(tmp_path / "shard")
    restarted = Recommender.load(tmp_path / "shard", EngineConfig())
    assert restarted.frozen and answer(restarted.match(q)) == answer(reference.match(q))
