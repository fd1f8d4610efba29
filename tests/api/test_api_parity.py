"""What the benchmarks measure is what the API serves, on the real chainkg data.

The benches and the ranker training read chainkg through :func:`chainmatch.corpus_files.corpus_from_files`
(the real importer into a throw-away database, read back by the index's loader). Here the same files
are imported into a served registry and the dev gaps are asked over HTTP: the ranked firms and their
scores must be those of an engine built from the benchmark's corpus, and good by the dev qrels.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from chainmatch.corpus_files import corpus_from_files
from chainmatch.db import init_db, make_engine, session_scope
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.keys import create_key
from chainmatch.matching import firm_filter
from models.apikey import Role
from recommender.corpus import MatchQuery, Scope
from recommender.engine import EngineConfig, Recommender
from recommender.training import ndcg_at
from tests.conftest import LiveServer, chainkg_path, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.chainkg]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    settings = make_settings(tmp_path_factory.mktemp("parity") / "var")
    db = make_engine(settings)
    init_db(db)
    for name, ingest in (("firms.jsonl", ingest_firms), ("product_relations.jsonl", ingest_relations)):
        records, _ = parse_records(chainkg_path(name).read_bytes(), name=name)
        assert ingest(db, records).written
    with session_scope(db) as session:
        key = create_key(session, Role.ADMIN)[1]
    db.dispose()
    with LiveServer(settings) as live:
        yield live, key


def test_http_results_equal_the_benchmarked_engine(served: tuple[LiveServer, str]) -> None:
    live, key = served
    import json

    with open(chainkg_path("gaps_dev.jsonl"), encoding="utf-8") as fh:
        gaps = [json.loads(line) for line in fh]
    gaps = random.Random(7).sample(gaps, 30)
    firms, relations = corpus_from_files(chainkg_path("firms.jsonl"), chainkg_path("product_relations.jsonl"))
    bench_engine = Recommender.build(firms, relations, EngineConfig())

    ndcgs = []
    with live.client(key) as client:
        for gap in gaps:
            response = client.post(
                "/v1/match",
                json={
                    "text": gap["item"],
                    "for_product": gap["leader_product"],
                    "leader_firm_id": gap["leader_id"],
                },
            )
            assert response.status_code == 200, response.text
            served_results = [(r["firm_id"], r["score"]) for r in response.json()["results"]]
            expected = bench_engine.match(
                MatchQuery(
                    text=gap["item"],
                    for_product=gap["leader_product"],
                    leader_firm_id=gap["leader_id"],
                    scope=Scope.ALL,
                    filters=firm_filter(None, exclude=[gap["leader_id"]]),
                    k=10,
                )
            )
            assert [firm for firm, _ in served_results] == [m.firm.id for m in expected], gap["id"]
            assert [score for _, score in served_results] == pytest.approx(
                [round(float(m.score), 6) for m in expected], abs=1e-5
            )
            assert gap["leader_id"] not in {firm for firm, _ in served_results}
            ndcgs.append(ndcg_at([firm for firm, _ in served_results], gap["qrels"]))
    # The shipped ranker saw these gaps in training: this is a sanity floor, not a quality figure
    # (bench/quality.py reports the cross-validated ones).
    assert sum(ndcgs) / len(ndcgs) >= 0.9
