"""Checks on the real chainkg data (skipped when ../shared/datasets/chainkg is absent)."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from recommender.corpus import FirmDoc, MatchQuery, Region, Relation, RelationKind
from recommender.engine import EngineConfig, Recommender
from recommender.products import clean_products, is_capability
from recommender.ranker import DEFAULT_RANKER_PATH
from recommender.training import ndcg_at, recall_at

DATA = Path(
    os.environ.get("CHAINMATCH_CHAINKG_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared/datasets/chainkg"
)

pytestmark = [
    pytest.mark.chainkg,
    pytest.mark.skipif(not (DATA / "firms.jsonl").exists(), reason="chainkg dataset absent"),
]


def _raw_firms() -> list[dict]:
    with open(DATA / "firms.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _firms() -> list[FirmDoc]:
    out = []
    for d in _raw_firms():
        products, _ = clean_products(d["products"])
        out.append(
            FirmDoc(
                id=d["id"],
                name=d["name"],
                province=d.get("province"),
                city=d.get("city"),
                industry=tuple(d["industry"]),
                products=tuple(products),
                tags=tuple(d["tags"]),
            )
        )
    return out


def test_clean_products_on_real_messy_records() -> None:
    n_warn = 0
    for d in _raw_firms():
        products, warnings = clean_products(d["products"])
        n_warn += len(warnings)
        assert all(p.share is None or 0.0 <= p.share <= 1.0 for p in products)
        names = [p.name for p in products]
        assert len(names) == len(set(names))
        assert not any("抵销" in n or n == "平衡项目" for n in names)
    assert n_warn > 731  # at least one per negative share


@pytest.fixture(scope="module")
def engine() -> Recommender:
    with open(DATA / "product_relations.jsonl", encoding="utf-8") as fh:
        relations = [
            Relation(d["product"], RelationKind(d["relation"]), d["target"]) for d in map(json.loads, fh)
        ]
    return Recommender.build(_firms(), relations, EngineConfig())


def test_dev_gaps_sample(engine: Recommender) -> None:
    with open(DATA / "gaps_dev.jsonl", encoding="utf-8") as fh:
        gaps = [json.loads(line) for line in fh]
    sample = random.Random(0).sample(gaps, 80)
    nd, rc = [], []
    for g in sample:
        res = engine.match(
            MatchQuery(text=g["item"], for_product=g["leader_product"], leader_firm_id=g["leader_id"], k=50)
        )
        ranked = [m.firm.id for m in res]
        assert g["leader_id"] not in ranked
        nd.append(ndcg_at(ranked, g["qrels"]))
        rc.append(recall_at(ranked, g["qrels"]))
    assert sum(nd) / len(nd) >= 0.93
    assert sum(rc) / len(rc) >= 0.98


def test_two_lists_on_real_data(engine: Recommender) -> None:
    out, loc = engine.recommend(MatchQuery(text="电容器", region=Region("广东省"), k=10))
    assert len(out) == 10 and len(loc) >= 3
    assert all(m.firm.province == "广东省" for m in loc)
    assert all(m.firm.province != "广东省" for m in out)
    assert out[0].matched_products and out[0].matched_products[0].via == "exact"
    assert all(is_capability(mp.name) for m in out + loc for mp in m.matched_products)


def test_shipped_ranker_provenance_matches_the_data() -> None:
    meta = json.loads(DEFAULT_RANKER_PATH.with_suffix(".json").read_text(encoding="utf-8"))
    data = meta["provenance"]["data"]
    for name in ("firms.jsonl", "product_relations.jsonl", "gaps_dev.jsonl"):
        digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        assert data[name] == digest, f"artifact trained on another {name}: retrain"
    assert "GroupKFold" in meta["provenance"]["cv"]["scheme"]
