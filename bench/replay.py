"""Replay benchmark of the per-deployment ranker refresh (chainmatch/refresh.py) on chainkg.

Run:  python bench/replay.py [--gaps 554] [--seeds 3] [--json bench/out/replay.json]

Simulated bureaus with consistent preferences record outcomes on the top candidates the offline
ranker gives them for chainkg's dev gaps; the refresh is fitted on those outcomes (with the offline
ranker as its prior and the offline-benchmark guard, exactly as ``chainmatch ranker refresh``) and
measured on held-out weak links against the bureau's preferences.

- Bureaus: ``江苏省, 专精特新 in neighbouring provinces`` signs a maker only if it is 专精特新 and
  within 700 km of Nanjing (上海, 浙江, 安徽, 山东 …), declines the rest; ``广东省, large listed
  makers`` signs a maker only if it is large and the item is a main product (≥ 20% of revenue).
- chainkg firms are all listed and carry no scale or 专精特新 tag, so the board stands in for them
  (stated, deterministic): STAR Market / ChiNext / BSE codes (688…, 300…, 301…, 8…, 4…) → tag
  专精特新, scale medium; main-board codes → scale large.
- Queries: each dev gap as an investment-target query of the bureau's region (scope outside, the
  leader excluded, 50 candidates, no floor). Gaps are split by item: 60% the bureau works on
  (outcomes), 40% held out (measured). Held-out gaps without any preferred relevant firm among
  the candidates are left out of the preference metric.
- Outcomes: the bureau walks its gaps in random order and records an outcome for each of the
  offline top-10 (signed: preferred and relevant; declined otherwise) until it has N.
- Metrics: nDCG@10 on held-out gaps with preference grades (the chainkg grade if the firm is
  preferred, else 0), offline vs refreshed; and the offline benchmark itself (chainkg grades, every
  dev gap of the bureau's queries), on which the weight is chosen so it never falls below offline.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import load_firms, load_gaps, load_relations
from chainmatch.refresh import BenchQuery, RefreshError, choose_weight, features, mean_ndcg, new_model
from chainmatch.requirements import distance_km
from recommender.corpus import FirmDoc, MatchQuery, Region, Scope
from recommender.engine import EngineConfig, Recommender

STEPS = (0, 50, 200, 1000)
SPECIALISED_PREFIXES = ("688", "300", "301", "8", "4")


def with_board(firm: FirmDoc) -> FirmDoc:
    """chainkg's listed firms with the board standing in for scale and 专精特新 (see the docstring)."""
    if firm.id.startswith(SPECIALISED_PREFIXES):
        return replace(firm, tags=(*firm.tags, "专精特新"), scale="medium")
    return replace(firm, scale="large")


@dataclass
class Bureau:
    name: str
    region: Region
    prefers: Callable[[FirmDoc, int], bool]  # (firm, chainkg grade) → would sign


def near_specialised(firm: FirmDoc, grade: int) -> bool:
    far = distance_km(firm.province, "江苏省")
    return grade > 0 and "专精特新" in firm.tags and far is not None and 0 < far <= 700


def large_main_maker(firm: FirmDoc, grade: int) -> bool:
    return grade >= 2 and firm.scale == "large"


BUREAUS = (
    Bureau("江苏省, 专精特新 in neighbouring provinces", Region("江苏省"), near_specialised),
    Bureau("广东省, large listed makers", Region("广东省"), large_main_maker),
)


@dataclass
class Query:
    gap_id: str
    item: str
    firm_ids: list[str]
    firms: list[FirmDoc]
    scores: np.ndarray
    X: np.ndarray
    qrels: dict[str, int]  # chainkg grades of the candidates' side (outside the region)
    pref: dict[str, int]  # grades under the bureau's preference


def build_queries(rec: Recommender, gaps: list[dict[str, Any]], bureau: Bureau) -> list[Query]:
    out = []
    for g in gaps:
        query = MatchQuery(
            text=g["item"],
            for_product=g.get("leader_product"),
            leader_firm_id=g["leader_id"],
            region=bureau.region,
            scope=Scope.OUTSIDE,
            k=50,
            min_score=0.0,
        )
        matches = rec.match(query)
        if not matches:
            continue
        firms = [m.firm for m in matches]
        qrels = {}
        for fid, grade in g["qrels"].items():
            doc = rec.get_firm(fid)
            if doc is not None and not bureau.region.contains(doc):
                qrels[fid] = int(grade)
        pref = {
            f: gr for f, gr in qrels.items() if (d := rec.get_firm(f)) is not None and bureau.prefers(d, gr)
        }
        out.append(
            Query(
                gap_id=g["id"],
                item=g["item"],
                firm_ids=[f.id for f in firms],
                firms=firms,
                scores=np.array([m.score for m in matches], dtype=np.float64),
                X=np.array([features(m, bureau.region, False) for m in matches], dtype=np.float64),
                qrels=qrels,
                pref=pref,
            )
        )
    return out


def bench_query(q: Query, grades: dict[str, int]) -> BenchQuery:
    return BenchQuery(q.firm_ids, q.scores, q.X, grades)


def replay(queries: list[Query], bureau: Bureau, seed: int, held_items: set[str]) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    work = [q for q in queries if q.item not in held_items]
    held = [q for q in queries if q.item in held_items and q.pref]
    rng.shuffle(work)
    X_all, y_all = [], []
    for q in work:
        for i in np.argsort(-q.scores, kind="stable")[:10]:
            firm, grade = q.firms[i], q.qrels.get(q.firm_ids[i], 0)
            X_all.append(q.X[i])
            y_all.append(1 if bureau.prefers(firm, grade) else 0)
    offline_bench = [bench_query(q, q.qrels) for q in queries if q.qrels]
    held_pref = [bench_query(q, q.pref) for q in held]
    held_plain = [bench_query(q, q.qrels) for q in held if q.qrels]
    base_pref = mean_ndcg(held_pref, lambda b: b.scores)
    base_bench = mean_ndcg(offline_bench, lambda b: b.scores)
    base_plain = mean_ndcg(held_plain, lambda b: b.scores)
    rows = []
    for n in STEPS:
        row: dict[str, Any] = {
            "outcomes": n,
            "offline_pref": base_pref,
            "refreshed_pref": base_pref,
            "weight": 0.0,
            "positives": 0,
            "offline_bench": base_bench,
            "refreshed_bench": base_bench,
            "held_plain_offline": base_plain,
            "held_plain_refreshed": base_plain,
        }
        if n == 0:
            rows.append(row)
            continue
        X, y = np.array(X_all[:n]), np.array(y_all[:n])
        try:
            model = new_model(X, y, "replay")
        except RefreshError:
            row.update(positives=int(y.sum()), note="one class only: nothing to learn, the offline ranker")
            rows.append(row)
            continue
        figures = choose_weight(model, offline_bench)

        def refreshed(b: BenchQuery, model: Any = model) -> np.ndarray:
            return b.scores + np.array([model.delta(x) for x in b.X])

        row.update(
            refreshed_pref=mean_ndcg(held_pref, refreshed),
            weight=model.weight,
            positives=int(y.sum()),
            offline_bench=figures["offline_ndcg10"],
            refreshed_bench=figures["refreshed_ndcg10"],
            held_plain_refreshed=mean_ndcg(held_plain, refreshed),
        )
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gaps", type=int, default=554, help="use the first N dev gaps (all: 554)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "out" / "replay.json")
    args = ap.parse_args()

    t0 = time.time()
    firms = [with_board(f) for f in load_firms()]
    rec = Recommender.build(firms, load_relations(), EngineConfig())
    ranker = type(rec.ranker).__name__
    gaps = load_gaps()[: args.gaps]
    t_build = time.time() - t0
    items = sorted({g["item"] for g in gaps})
    random.Random(12).shuffle(items)
    held_items = set(items[: int(len(items) * 0.4)])
    result: dict[str, Any] = {"ranker": ranker, "gaps": len(gaps), "bureaus": {}}
    for bureau in BUREAUS:
        t1 = time.time()
        queries = build_queries(rec, gaps, bureau)
        runs = [replay(queries, bureau, seed, held_items) for seed in range(args.seeds)]
        mean = []
        for i, n in enumerate(STEPS):
            keys = [k for k in runs[0][i] if isinstance(runs[0][i][k], float | int) and k != "outcomes"]
            mean.append(
                {"outcomes": n, **{k: float(np.mean([r[i].get(k, np.nan) for r in runs])) for k in keys}}
            )
        held = sum(1 for q in queries if q.item in held_items and q.pref)
        result["bureaus"][bureau.name] = {"held_out_gaps": held, "queries": len(queries), "steps": mean}
        print(
            f"\n{bureau.name}: {len(queries)} queries, {held} held-out gaps with a preferred maker, "
            f"{time.time() - t1:.0f}s"
        )
        print(
            "| outcomes (signed) | held-out nDCG@10 vs preferences: offline | refreshed | weight "
            "| offline benchmark nDCG@10: offline | refreshed | held-out, chainkg grades: offline | refreshed |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for row in mean:
            print(
                f"| {row['outcomes']} ({row['positives']:.0f}) | {row['offline_pref']:.3f} | "
                f"{row['refreshed_pref']:.3f} | {row['weight']:.3f} | {row['offline_bench']:.3f} | "
                f"{row['refreshed_bench']:.3f} | {row['held_plain_offline']:.3f} | {row['held_plain_refreshed']:.3f} |"
            )
    print(f"\nengine: {ranker}; build {t_build:.0f}s, total {time.time() - t0:.0f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
